"""``python -m eval --gold FILE ...``: the same command as ``rag eval``."""

from eval.cli import main

raise SystemExit(main())
