"""Human-readable output of an evaluation: a markdown report, a bar chart, and the README's results table.

The README table is generated from the committed ``eval/results/*.json`` (never typed by hand), so the
numbers a reader sees are the numbers a run produced.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from index.errors import InputError

START, END = "<!-- results:start -->", "<!-- results:end -->"
_LABEL = {"lexical": "lexical only", "dense": "dense only", "hybrid": "full pipeline (hybrid)"}
_CHART_METRICS = ("recall@1", "recall@5", "mrr@10", "ndcg@10")


def fmt(v: Any, digits: int = 3) -> str:
    """A table cell: numbers rounded, undefined values (no such item in the gold file) as a dash."""
    if v is None:
        return "–"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return _cell(str(v))


def _cell(s: str, limit: int = 0) -> str:
    s = " ".join(s.split()).replace("|", "\\|")
    return s if not limit or len(s) <= limit else s[: limit - 1] + "…"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return lines


def _recall_keys(result: dict[str, Any]) -> list[str]:
    keys = [k for k in result["retrieval"] if k.startswith("recall@")]
    return sorted(keys, key=lambda k: int(k.split("@")[1]))


def render_markdown(result: dict[str, Any], title: str = "Evaluation", plot: str | None = None) -> str:
    """The full report: overall, baselines, by language, by type, latency, and the failed items."""
    meta = result.get("meta", {})
    rk = _recall_keys(result)
    rkeys = [*rk, "mrr@10", "ndcg@10"]
    out = [f"# {title}", ""]
    if meta:
        out += [f"- {k}: `{v}`" for k, v in meta.items()]
        out.append("")
    out += [f"{result['n']} questions, {result['n_answerable']} answerable.", ""]

    out += ["## Overall (full pipeline)", ""]
    overall = {**result["retrieval"], **result["answer"]}
    out += _table(["metric", "value"], [[k, fmt(v)] for k, v in overall.items()])

    out += ["", "## Retrievers on the same chunks", ""]
    rows = []
    for name, b in result["baselines"].items():
        rows.append(
            [_LABEL.get(name, name), *(fmt(b.get(k)) for k in rkeys)]
            + [fmt(b.get("search_p50"), 1), fmt(b.get("search_p95"), 1)]
        )
    out += _table(["retriever", *rkeys, "search p50 ms", "search p95 ms"], rows)
    if plot:
        out += ["", f"![retrievers compared]({plot})"]

    for group, label in (
        ("by_lang", "language"),
        ("by_pair", "question→evidence language"),
        ("by_type", "type"),
    ):
        if group not in result:
            continue
        out += ["", f"## By {label}", ""]
        header = [
            label,
            "n",
            "answerable",
            *rkeys,
            "fact recall",
            "citation precision",
            "abstention acc.",
            "false abst.",
        ]
        rows = [
            [
                _cell(name),
                fmt(g["n"]),
                fmt(g["n_answerable"]),
                *(fmt(g.get(k)) for k in rkeys),
                *(fmt(g.get(k)) for k in ("fact_recall", "citation_precision", "abstention_accuracy")),
                fmt(g.get("false_abstention_rate")),
            ]
            for name, g in result[group].items()
        ]
        out += _table(header, rows)

    lat = result["latency_ms"]
    out += ["", "## Latency (in-process, model loaded)", ""]
    floor = lat.get("embed_query_p50")
    rows = []
    for label, key in (
        ("search (full pipeline)", "search"),
        ("ask", "ask"),
        ("query embedding", "embed_query"),
    ):
        p50, p95 = lat.get(f"{key}_p50"), lat.get(f"{key}_p95")
        times = fmt(p50 / floor, 1) + "×" if p50 is not None and floor else "–"
        rows.append([label, fmt(p50, 1), fmt(p95, 1), times])
    out += _table(["operation", "p50 ms", "p95 ms", "p50 / embedding p50"], rows)

    failures = [r for r in result.get("items", []) if _problem(r)]
    out += ["", f"## Failures ({len(failures)} of {result['n']})", ""]
    if failures:
        modes = list(result["baselines"])
        rows = [
            [
                _cell(r["id"]),
                _cell(r["lang"]),
                _cell(r["type"]),
                _problem(r),
                " / ".join(fmt(r["rank"].get(m)) for m in modes),
                f"{sum(r['facts_found'])}/{len(r['facts_found'])}" if r["answerable"] else "–",
                f"{r['citations_relevant']}/{r['citations']}",
                _cell(r["question"], 70),
                _cell(r["answer"], 90),
            ]
            for r in failures
        ]
        header = [
            "id",
            "lang",
            "type",
            "problem",
            "rank " + "/".join(modes),
            "facts",
            "relevant cit.",
            "question",
            "answer",
        ]
        out += _table(header, rows)
    else:
        out.append("None.")
    return "\n".join(out) + "\n"


def _problem(r: dict[str, Any]) -> str:
    """Why an item counts as a failure ('' if it does not)."""
    if not r["answerable"]:
        return "" if r["abstained"] else "answered an unanswerable question"
    probs = []
    if r["rank"].get("hybrid") is None:
        probs.append("no relevant chunk in top 10")
    if r["abstained"]:
        probs.append("abstained")
    elif r["facts_found"] and not all(r["facts_found"]):
        probs.append("missing facts")
    if r["citations"] and r["citations_relevant"] < r["citations"]:
        probs.append("irrelevant citation")
    return "; ".join(probs)


def plot_baselines(result: dict[str, Any], path: str | Path, title: str = "") -> Path:
    """Grouped bar chart of the retrievers on the headline ranking metrics."""
    import matplotlib

    matplotlib.use("Agg")  # headless: never needs a display
    import matplotlib.pyplot as plt

    names = list(result["baselines"])
    metrics = [m for m in _CHART_METRICS if any(result["baselines"][n].get(m) is not None for n in names)]
    width = 0.8 / max(1, len(names))
    fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
    try:
        for i, name in enumerate(names):
            vals = [result["baselines"][name].get(m) or 0.0 for m in metrics]
            xs = [j + (i - (len(names) - 1) / 2) * width for j in range(len(metrics))]
            bars = ax.bar(xs, vals, width, label=_LABEL.get(name, name))
            ax.bar_label(bars, labels=[f"{v:.2f}" for v in vals], fontsize=7, padding=1)
        ax.set_xticks(range(len(metrics)), metrics)
        ax.set_ylim(0, 1.08)
        ax.set_ylabel("score")
        ax.set_title(title or f"Retrievers on the same chunks (n={result['n_answerable']} answerable)")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=len(names), fontsize=8, frameon=False)
        fig.tight_layout()
        out = Path(path)
        out.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(out)
    finally:
        plt.close(fig)
    return out


def results_table(results_dir: str | Path, link_from: str | Path | None = None) -> str:
    """A markdown table with one row per committed result (``*.json``) in ``results_dir``.

    ``link_from`` is the directory of the file the table goes into, so the links to the full reports
    are relative to it.
    """
    d = Path(results_dir)
    files = sorted(d.glob("*.json"))
    if not files:
        raise InputError(f"no results (*.json) in {d}")
    header = [
        "benchmark",
        "n (answerable)",
        "R@1",
        "R@5",
        "R@10",
        "MRR@10",
        "nDCG@10",
        "R@5 lexical / dense",
        "fact recall",
        "citation precision",
        "abstention acc.",
        "false abst.",
        "search p50 ms",
        "ask p50 ms",
        "embed p50 ms",
    ]
    rows = []
    for f in files:
        try:
            r = json.loads(f.read_text(encoding="utf-8"))
            ret, ans, lat, base = r["retrieval"], r["answer"], r["latency_ms"], r["baselines"]
        except (json.JSONDecodeError, KeyError, TypeError) as e:
            raise InputError(f"{f} is not an evaluation result: {e}") from None
        name = r.get("meta", {}).get("name") or f.stem
        report = f.with_suffix(".md")
        if report.exists():
            target = os.path.relpath(report, link_from) if link_from else report.name
            name = f"[{name}]({Path(target).as_posix()})"
        rows.append(
            [
                name,
                f"{r['n']} ({r['n_answerable']})",
                *(fmt(ret.get(k)) for k in ("recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10")),
                f"{fmt(base.get('lexical', {}).get('recall@5'))} / {fmt(base.get('dense', {}).get('recall@5'))}",
                *(fmt(ans.get(k)) for k in ("fact_recall", "citation_precision", "abstention_accuracy")),
                fmt(ans.get("false_abstention_rate")),
                *(fmt(lat.get(k), 1) for k in ("search_p50", "ask_p50", "embed_query_p50")),
            ]
        )
    return "\n".join(_table(header, rows)) + "\n" + _pairs_table(files)


def _pairs_table(files: Sequence[Path]) -> str:
    """Each benchmark by question language → evidence language (``by_pair``), where it has that."""
    rows = []
    for f in files:
        r = json.loads(f.read_text(encoding="utf-8"))
        name = r.get("meta", {}).get("name") or f.stem
        for pair, g in sorted(r.get("by_pair", {}).items()):
            rows.append(
                [
                    _cell(name),
                    pair,
                    f"{g['n']} ({g['n_answerable']})",
                    *(fmt(g.get(k)) for k in ("recall@5", "mrr@10", "fact_recall", "citation_precision")),
                    fmt(g.get("abstention_accuracy")),
                    fmt(g.get("false_abstention_rate")),
                ]
            )
    if not rows:
        return ""
    header = [
        "benchmark",
        "question → evidence",
        "n (answerable)",
        "R@5",
        "MRR@10",
        "fact recall",
        "citation precision",
        "abstention acc.",
        "false abst.",
    ]
    return "\nBy question language → evidence language:\n\n" + "\n".join(_table(header, rows)) + "\n"


def update_readme(readme_path: str | Path, results_dir: str | Path) -> None:
    """Replace the text between the results markers of a README with the generated table."""
    p = Path(readme_path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"README not found: {p}") from None
    i, j = text.find(START), text.find(END)
    if i < 0 or j < i:
        raise InputError(f"{p} has no '{START}' ... '{END}' section to fill")
    table = results_table(results_dir, link_from=p.resolve().parent)
    p.write_text(text[: i + len(START)] + "\n" + table + text[j:], encoding="utf-8")


def render_files(result_json: str | Path) -> list[Path]:
    """Write ``X.md`` and ``X.png`` beside ``X.json`` (re-render a committed result without re-running)."""
    src = Path(result_json)
    try:
        result = json.loads(src.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise InputError(f"cannot read result {src}: {e}") from None
    name = result.get("meta", {}).get("name") or src.stem
    png = plot_baselines(result, src.with_suffix(".png"), title=f"{name}: retrievers on the same chunks")
    md = src.with_suffix(".md")
    md.write_text(render_markdown(result, title=f"Evaluation: {name}", plot=png.name), encoding="utf-8")
    return [md, png]


_USAGE = """usage:
  python -m eval.report README.md [RESULTS_DIR]   regenerate the results table between the markers
                                                  (RESULTS_DIR defaults to eval/results)
  python -m eval.report --render RESULT.json ...  rewrite RESULT.md and RESULT.png from a result"""


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(_USAGE, file=sys.stderr if not args else sys.stdout)
        return 2 if not args else 0
    try:
        if args[0] == "--render":
            for f in args[1:]:
                for w in render_files(f):
                    print(f"wrote {w}")
            return 0
        if len(args) > 2:
            print(_USAGE, file=sys.stderr)
            return 2
        results = Path(args[1]) if len(args) > 1 else Path(__file__).resolve().parent / "results"
        update_readme(args[0], results)
    except InputError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"updated {args[0]} from {results}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
