#!/usr/bin/env bash
# Set up (see setup.sh --test), lint, type-check and run every test, including the slow ones that use
# the real embedding model, Milvus Lite, sentence-transformers and a real Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
# shellcheck disable=SC1091
. .venv/bin/activate
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
ruff check .
ruff format --check .
mypy
rc=0
pytest --run-slow -q -p no:cacheprovider "$@" || rc=$?
if [ "$rc" = 5 ]; then echo "no tests were collected" >&2; exit 1; fi
exit "$rc"
