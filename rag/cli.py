"""The ``rag`` command: index, search, ask, eval, serve.

Errors the user can act on (a missing path, a non-UTF-8 file, an empty question, an index built with
another model, a bad ``RAG_*`` value, a read-only or full disk) print one line to stderr and exit
non-zero; nothing else is caught. Warnings (a file skipped while indexing a directory) are one line
each, ``rag: warning: ...``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from index.errors import (
    ConfigError,
    IndexMismatchError,
    InputError,
    NotFoundError,
    RagError,
    StorageError,
    UpstreamError,
)
from rag.settings import Settings
from rag.types import Answer, Filters, Hit

EXIT_CODES: list[tuple[type[RagError], int]] = [
    (InputError, 2),
    (NotFoundError, 3),
    (IndexMismatchError, 4),
    (ConfigError, 5),
    (UpstreamError, 6),
    (StorageError, 7),
    (RagError, 1),
]
SETTINGS_EXIT = 2  # a bad RAG_* value is a usage error, like a bad option (argparse's code)


def _filters(args: argparse.Namespace) -> Filters | None:
    f = Filters(
        sources=tuple(args.source or ()),
        docs=tuple(args.doc or ()),
        date_from=args.date_from,
        date_to=args.date_to,
    )
    return None if f.empty else f


def _add_filter_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--source", action="append", help="only this outlet (repeatable)")
    p.add_argument("--doc", action="append", help="only this document id (repeatable)")
    p.add_argument("--date-from", help="only articles on or after YYYY-MM-DD")
    p.add_argument("--date-to", help="only articles on or before YYYY-MM-DD")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="rag", description="Cited answers over Chinese and English documents.")
    sub = p.add_subparsers(dest="command", required=True)

    pi = sub.add_parser("index", help="index files or directories (incremental)")
    pi.add_argument(
        "paths", nargs="*", type=Path, help="files or directories (default: the configured corpus)"
    )
    pi.add_argument("--rebuild", action="store_true", help="start a fresh index (re-uses cached embeddings)")
    pi.add_argument(
        "--merge",
        action="store_true",
        help="fold the index's segments (one per small update) into one; reuses every vector",
    )
    pi.add_argument("--json", action="store_true", help="print the summary as JSON")

    ps = sub.add_parser("search", help="show the passages retrieved for a question")
    ps.add_argument("question")
    ps.add_argument("--k", type=int, default=5)
    ps.add_argument("--mode", choices=("hybrid", "dense", "lexical"), default="hybrid")
    ps.add_argument("--json", action="store_true")
    _add_filter_args(ps)

    pa = sub.add_parser("ask", help="answer a question with citations")
    pa.add_argument("question")
    pa.add_argument("--json", action="store_true", help="print the full answer object")
    pa.add_argument(
        "--follow-up",
        action="store_true",
        help="continue the conversation of the last `rag ask`: the question is read against the earlier ones",
    )
    _add_filter_args(pa)

    pv = sub.add_parser("serve", help="run the HTTP service")
    pv.add_argument("--host", default="127.0.0.1")
    pv.add_argument("--port", type=int, default=8000)

    try:
        from eval.cli import add_parser as add_eval_parser
    except ImportError:  # pragma: no cover - the eval package ships with the project
        pass
    else:
        add_eval_parser(sub)
    return p


def _open_engine(settings: Settings) -> Any:
    from index.build import current_generation
    from rag.engine import Engine

    first_use = current_generation(settings.index_dir) is None and settings.corpus.exists()
    if first_use:
        # a minute or more of embedding: say what is happening, on a terminal or in a log
        print(f"no index yet: indexing {settings.corpus} (first use; later runs reuse it)", file=sys.stderr)
    t0 = time.perf_counter()
    engine = Engine.open(settings, progress=True if sys.stderr.isatty() else _log_progress())
    if first_use:
        print(f"indexed in {time.perf_counter() - t0:.1f} s -> {settings.index_dir}", file=sys.stderr)
    return engine


def _log_progress(steps: int = 10) -> Callable[[int, int], None]:
    """Progress as a few plain lines (every tenth of the work) where no terminal shows a bar."""
    shown = [0]

    def report(done: int, total: int) -> None:
        step = done * steps // max(total, 1)
        if step > shown[0]:
            shown[0] = step
            print(f"embedding: {done}/{total} chunks", file=sys.stderr, flush=True)

    return report


def cmd_index(args: argparse.Namespace, settings: Settings) -> int:
    from rag.engine import Engine, build_embedder

    paths = args.paths or [settings.corpus]
    t0 = time.perf_counter()
    engine = Engine(settings, build_embedder(settings))
    # without paths, the configured corpus: recorded as such, as when `ask` or `serve` index it
    via = "path" if args.paths else "corpus"
    with _skipped_files() as skipped:
        report = engine.index_paths(paths, progress=True, rebuild=args.rebuild, via=via, merge=args.merge)
    secs = time.perf_counter() - t0
    summary = {
        "files": report.files,
        "skipped": skipped,
        "articles": report.articles,
        "chunks": report.chunks,
        "embedded": report.embedded,
        "reused": report.reused,
        "added": report.added,
        "updated": report.updated,
        "seconds": round(secs, 2),
        "embed_seconds": round(report.embed_seconds, 2),
        "index": str(settings.index_dir),
        "generation": report.generation,
        "segments": report.segments,
    }
    if args.json:
        print(json.dumps(summary, ensure_ascii=False, indent=1))
    else:
        changed = len(report.added) + len(report.updated)
        print(
            f"indexed {report.files} files ({changed} new or changed"
            + (f", {len(skipped)} skipped" if skipped else "")
            + f"): {report.articles} articles, "
            f"{report.chunks} chunks"
            + (f" in {report.segments} segments" if report.segments > 1 else "")
            + f"; embedded {report.embedded}, reused {report.reused}; "
            f"{secs:.1f} s (embedding {report.embed_seconds:.1f} s) -> {settings.index_dir}"
        )
    return 0


@contextmanager
def _skipped_files() -> Iterator[list[str]]:
    """The files ``collect_sources`` skips meanwhile (each is also a warning line of its own)."""
    skipped: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            path = getattr(record, "skipped", None)
            if path:
                skipped.append(str(path))

    handler = Collect()
    logger = logging.getLogger("index.build")
    logger.addHandler(handler)
    try:
        yield skipped
    finally:
        logger.removeHandler(handler)


def _print_hits(hits: list[Hit]) -> None:
    for h in hits:
        c = h.chunk
        meta = " · ".join(x for x in (c.title, c.source or "", (c.date or "")[:10]) if x)
        print(f"{h.rank:>2}. [{h.score:.4f}] {meta}  ({c.doc}:{c.start}-{c.end})")
        snippet = " ".join(c.text.split())
        print(f"    {snippet[:240]}{'…' if len(snippet) > 240 else ''}")


CONVERSATION_TURNS = 20  # earlier questions kept for `rag ask --follow-up`


def _conversation_file(settings: Settings) -> Path:
    return settings.data_dir / f"conversation-{settings.index_name}.json"


def _conversation(settings: Settings) -> list[str]:
    """The questions of the current conversation (each `rag ask` without --follow-up starts one)."""
    path = _conversation_file(settings)
    try:
        turns = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as e:
        print(f"rag: the conversation in {path} is unreadable ({e}); answering without it", file=sys.stderr)
        return []
    return [t for t in turns if isinstance(t, str)] if isinstance(turns, list) else []


def _save_conversation(settings: Settings, turns: list[str]) -> None:
    path = _conversation_file(settings)
    tmp = path.with_suffix(".tmp")
    try:
        tmp.write_text(json.dumps(turns[-CONVERSATION_TURNS:], ensure_ascii=False), encoding="utf-8")
        tmp.replace(path)
    except OSError as e:  # the answer is given; only the next --follow-up loses its context
        print(f"rag: could not save the conversation to {path}: {e}", file=sys.stderr)
        tmp.unlink(missing_ok=True)


def _print_answer(ans: Answer) -> None:
    if ans.read_as:
        print(f"Read as: {ans.read_as}")
    print(ans.text)
    if ans.citations:
        print("\nSources:")
        for c in ans.citations:
            meta = " · ".join(x for x in (c.title, c.source or "", (c.date or "")[:10]) if x)
            page = f" p. {c.page}" if c.page else ""
            print(f"[{c.n}] {meta}  ({c.doc}{page}:{c.quote_start}-{c.quote_end})")
    t = ans.timings_ms
    if t:
        print(f"\n({t.get('total', 0):.0f} ms)", file=sys.stderr)


def load_settings() -> Settings:
    """``Settings()``, with a bad ``RAG_*`` value as one line naming the variable (a ConfigError)."""
    from pydantic import ValidationError
    from pydantic_settings import SettingsError

    try:
        return Settings()
    except ValidationError as e:
        parts = []
        for err in e.errors():
            var = "RAG_" + str(err["loc"][0]).upper() if err["loc"] else "RAG_*"
            msg = err["msg"][:1].lower() + err["msg"][1:]
            parts.append(f"{var}: {msg} (got {err.get('input')!r})")
        raise ConfigError("; ".join(parts)) from None
    except SettingsError as e:
        # a list or other structured value that is not JSON: pydantic-settings names only the field
        m = re.search(r'field "([^"]+)"', str(e))
        var = "RAG_" + (m.group(1).upper() if m else "*")
        value = next((v for k, v in os.environ.items() if k.upper() == var), None)
        raise ConfigError(
            f"{var}: input should be JSON, such as '[\"https://example.org\"]' for a list (got {value!r})"
        ) from None


class _WarningLines(logging.Handler):
    """Log records of the project's packages as ``rag: warning: ...`` lines on stderr (looked up
    when written, so a redirected stderr is honoured)."""

    def emit(self, record: logging.LogRecord) -> None:
        level = "warning" if record.levelno < logging.ERROR else "error"
        print(f"rag: {level}: {record.getMessage()}", file=sys.stderr)


def _show_warnings() -> None:
    for name in ("index", "rag", "api"):
        logger = logging.getLogger(name)
        if not any(isinstance(h, _WarningLines) for h in logger.handlers):
            handler = _WarningLines(logging.WARNING)
            logger.addHandler(handler)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _show_warnings()
    try:
        settings = load_settings()
    except ConfigError as e:
        print(f"rag: error: {e}", file=sys.stderr)
        return SETTINGS_EXIT
    try:
        from index.cache import use_cache_dir

        use_cache_dir(settings.cache_dir)  # jieba's and tiktoken's caches: before any text is read
        if args.command == "index":
            return cmd_index(args, settings)
        if args.command in ("search", "ask"):
            if not args.question.strip():
                raise InputError("the question is empty")
            engine = _open_engine(settings)
            if args.command == "search":
                hits = engine.search(args.question, k=args.k, filters=_filters(args), mode=args.mode)
                if args.json:
                    print(json.dumps([h.to_dict() for h in hits], ensure_ascii=False, indent=1))
                else:
                    _print_hits(hits)
                return 0
            history = _conversation(settings) if args.follow_up else []
            ans = engine.ask(args.question, filters=_filters(args), history=history)
            _save_conversation(settings, [*history, args.question.strip()])
            if args.json:
                print(json.dumps(ans.to_dict(include_hits=True), ensure_ascii=False, indent=1))
            else:
                _print_answer(ans)
            return 0
        if args.command == "serve":
            from api.app import serve

            serve(settings, args.host, args.port)
            return 0
        if args.command == "eval":
            from eval.cli import run as run_eval

            return int(run_eval(args, settings=settings))
    except RagError as e:
        print(f"rag: error: {e}", file=sys.stderr)
        for cls, code in EXIT_CODES:
            if isinstance(e, cls):
                return code
        return 1
    except KeyboardInterrupt:
        print("rag: interrupted", file=sys.stderr)
        return 130
    parser.error(f"unknown command {args.command}")
    return 2


if __name__ == "__main__":
    sys.exit(main())
