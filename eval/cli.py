"""``rag eval``: evaluate the engine against a gold file and write JSON, a markdown report and a chart.

``add_parser`` registers the subcommand on the product's argparse CLI; ``python -m eval`` runs the same
command on its own.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Any

from eval.gold import load_gold
from eval.harness import MODES, Evaluated, evaluate
from eval.report import fmt, plot_baselines, render_markdown
from index.embed import Embedder
from index.errors import InputError, NotFoundError, RagError
from rag.settings import Settings


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``eval`` on an ``argparse`` subparsers object; ``run`` is set as its handler."""
    p: argparse.ArgumentParser = subparsers.add_parser(
        "eval",
        help="measure retrieval, answers and latency against a gold question file",
        description="Evaluate against a gold file (JSON lines; format in eval/README.md). Without --corpus "
        "the default index is used; with --corpus a separate index of that directory is built or reused.",
    )
    configure(p)
    return p


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("--gold", required=True, type=Path, help="gold questions (JSON lines)")
    p.add_argument("--corpus", type=Path, help="evaluate against a separate index of this directory")
    p.add_argument("--index-dir", type=Path, help="where that index lives (default: under the data dir)")
    p.add_argument(
        "--k", type=_positive, default=10, help="retrieval depth (default 10; at least 10 is searched)"
    )
    p.add_argument("--json", type=Path, help="write the results as JSON here")
    p.add_argument("--report", type=Path, help="write a markdown report here")
    p.add_argument("--plot", type=Path, help="write a bar chart (PNG) of the retrievers here")
    p.add_argument("--name", help="benchmark name in reports (default: <gold dir>/<gold file stem>)")
    p.add_argument(
        "--skip-invalid",
        action="store_true",
        help="leave malformed gold lines out (listed on stderr) instead of refusing the file",
    )
    p.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
    p.set_defaults(func=run)


def _positive(s: str) -> int:
    try:
        v = int(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {s!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return v


def default_name(gold: Path) -> str:
    """``cmrc2018/gold`` rather than a bare ``gold``: gold files are often named alike."""
    p = gold.resolve()
    return f"{p.parent.name}/{p.stem}" if p.parent.name else p.stem


_DEFAULT_EMBEDDER: str = Settings.model_fields["embedder"].default


def corpus_index_name(corpus: Path, embedder: str = _DEFAULT_EMBEDDER) -> str:
    """A stable index name per corpus directory and embedder, so a re-run reuses the index it built
    before and comparing embedders never trips over an index built with another one (the default
    embedder's indexes keep the name they had before embedders were part of it)."""
    key = str(corpus.resolve()) if embedder == _DEFAULT_EMBEDDER else f"{corpus.resolve()}\n{embedder}"
    return "corpus-" + hashlib.sha1(key.encode("utf-8")).hexdigest()[:12]


def settings_for(base: Settings, corpus: Path | None, index_dir: Path | None) -> Settings:
    """The settings to open: the default index, or a separate one for ``corpus``, optionally at ``index_dir``."""
    s = base
    if corpus is not None:
        if not corpus.is_dir():
            raise NotFoundError(f"corpus directory not found: {corpus}")
        s = s.model_copy(
            update={"corpus": corpus.resolve(), "index_name": corpus_index_name(corpus, s.embedder)}
        )
    if index_dir is not None:
        s = _with_index_dir(s, index_dir.resolve())
    return s


def _with_index_dir(s: Settings, index_dir: Path) -> Settings:
    # Settings.index_dir is derived as data_dir/indexes/index_name. Use a settings field for an explicit
    # location when the product has one; otherwise pin the property, keeping data_dir (and with it the
    # shared embedding cache, so nothing already embedded is embedded again).
    if "index_dir_override" in type(s).model_fields:
        return s.model_copy(update={"index_dir_override": index_dir})
    return _PinnedSettings(**s.model_dump(), pinned_index_dir=index_dir)


class _PinnedSettings(Settings):
    """Settings whose index lives at an explicit directory (``--index-dir``)."""

    pinned_index_dir: Path

    @property
    def index_dir(self) -> Path:
        return self.pinned_index_dir


def run(args: argparse.Namespace, settings: Settings | None = None, embedder: Embedder | None = None) -> int:
    """Run the evaluation; returns the exit code (2 for bad input, 1 for other product errors)."""
    try:
        return _run(args, settings if settings is not None else Settings(), embedder)
    except (InputError, NotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except RagError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1


def _run(args: argparse.Namespace, base: Settings, embedder: Embedder | None) -> int:
    items = load_gold(args.gold, skip_invalid=args.skip_invalid)  # before the engine: fails fast
    # every question's time includes embedding it, as a user's new question's does: no query cache
    settings = settings_for(base, args.corpus, args.index_dir).model_copy(update={"query_cache": 0})

    from rag.engine import Engine  # heavy: loads the model and the index

    engine: Evaluated = Engine.open(settings, embedder=embedder, progress=args.progress)
    result = evaluate(engine, items, k=args.k, progress=args.progress)
    name = args.name or default_name(args.gold)
    result["meta"] = {
        "name": name,
        "gold": str(args.gold),
        "corpus": str(settings.corpus),
        "index_dir": str(settings.index_dir),
        "embedder": getattr(getattr(engine, "embedder", None), "model_id", "?"),
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        # latency depends on what else the machine was doing: keep the evidence with the numbers
        "cpus": os.cpu_count(),
        "load_avg_1m": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
    }

    written = []
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        written.append(args.json)
    if args.plot:
        written.append(plot_baselines(result, args.plot, title=f"{name}: retrievers on the same chunks"))
    if args.report:
        plot_ref = None
        if args.plot:
            plot_ref = Path(os.path.relpath(args.plot.resolve(), args.report.resolve().parent)).as_posix()
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.write_text(
            render_markdown(result, title=f"Evaluation: {name}", plot=plot_ref), encoding="utf-8"
        )
        written.append(args.report)

    print(summary(result))
    for w in written:
        print(f"wrote {w}")
    return 0


def summary(result: dict[str, Any]) -> str:
    """A short plain-text table for the terminal."""
    keys = [k for k in result["retrieval"]]
    head = f"{'':24}" + "".join(f"{k:>10}" for k in keys)
    lines = [f"{result['n']} questions ({result['n_answerable']} answerable)", head]
    for m in MODES:
        b = result["baselines"][m]
        label = "full pipeline (hybrid)" if m == "hybrid" else f"{m} only"
        lines.append(f"{label:24}" + "".join(f"{fmt(b.get(k)):>10}" for k in keys))
    a, lat = result["answer"], result["latency_ms"]
    lines.append(
        "fact recall {} | citation precision {} | abstention acc. {} | false abstention {}".format(
            *(
                fmt(a[k])
                for k in ("fact_recall", "citation_precision", "abstention_accuracy", "false_abstention_rate")
            )
        )
    )
    en = result.get("by_lang", {}).get("en", {})
    lines.append(
        f"lead line states a fact {fmt(a.get('lead_rate'))} (English questions {fmt(en.get('lead_rate'))})"
        f" | lead lines with a figure their quote lacks: {a.get('lead_unsupported', 0)}"
    )
    lines.append(
        "latency p50/p95 ms: search {}/{} | ask {}/{} | query embedding {}".format(
            *(fmt(lat[k], 1) for k in ("search_p50", "search_p95", "ask_p50", "ask_p95", "embed_query_p50"))
        )
    )
    return "\n".join(lines)


def main_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m eval", description="Evaluate the engine against a gold file.")
    configure(p)
    return p


def main(argv: list[str] | None = None) -> int:
    return run(main_parser().parse_args(argv))
