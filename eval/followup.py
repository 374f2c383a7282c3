"""``python -m eval.followup``: how well follow-up questions are answered in a conversation.

Each line of the gold file is a two-turn conversation written from the seeds (``eval/gold/followup.jsonl``):
``{"id", "lang", "turns": [first, second], "read_as", "evidence": [{"doc", "quote"}]}``, the evidence
answering the *second* turn. The second turn is retrieved as the service reads it against the first
(``Engine.read``) and, for comparison, on its own words; a turn counts as found when a passage among
the top ``k`` overlaps its evidence (the same relevance rule as ``rag eval``). The answer to the read
question is scored for citations too.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from eval.cli import settings_for
from eval.gold import Evidence, find_all
from eval.metrics import is_relevant, mean
from index.errors import InputError, RagError
from rag.engine import Engine
from rag.settings import Settings


def load_conversations(path: Path) -> list[dict[str, Any]]:
    """The conversations of a gold file; one ``InputError`` names every malformed line."""
    out, problems = [], []
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            c = json.loads(line)
            turns, ev = c["turns"], c["evidence"]
            if len(turns) < 2 or not all(isinstance(t, str) and t.strip() for t in turns) or not ev:
                raise ValueError("needs two or more turns and evidence")
            c["evidence"] = [Evidence(e["doc"], e["quote"]) for e in ev]
            out.append(c)
        except (ValueError, KeyError, TypeError) as e:
            problems.append(f"line {i}: {e}")
    if problems:
        raise InputError(f"{path}: " + "; ".join(problems))
    return out


def evaluate(engine: Engine, conversations: list[dict[str, Any]], k: int = 5) -> dict[str, Any]:
    records = []
    for c in conversations:
        evidence = [
            Evidence(e.doc, e.quote, find_all(engine.document_text(e.doc), e.quote)) for e in c["evidence"]
        ]
        if not all(e.spans for e in evidence):
            raise InputError(f"{c['id']}: an evidence quote does not occur in its document")
        *history, question = c["turns"]
        read_as = engine.read(question, history)

        def found(q: str, evidence: list[Evidence] = evidence) -> bool:
            hits = engine.search(q, k=k)
            return any(is_relevant(h.chunk.doc, h.chunk.start, h.chunk.end, evidence) for h in hits)

        answer = engine.ask(question, history=history)
        cited = [is_relevant(x.doc, x.start, x.end, evidence) for x in answer.citations]
        records.append(
            {
                "id": c["id"],
                "lang": c.get("lang"),
                "turns": c["turns"],
                "read_as": read_as,
                "reference": c.get("read_as"),
                "found": found(read_as),
                "found_alone": found(question),
                "abstained": answer.abstained,
                "citations": len(cited),
                "citations_relevant": sum(cited),
                "answer": answer.text,
            }
        )

    def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
        n_cit = sum(r["citations"] for r in rows)
        return {
            "n": len(rows),
            f"recall@{k}": mean([float(r["found"]) for r in rows]),
            f"recall@{k}_alone": mean([float(r["found_alone"]) for r in rows]),
            "read_changed": mean([float(r["read_as"] != r["turns"][-1]) for r in rows]),
            "abstained": mean([float(r["abstained"]) for r in rows]),
            "citation_precision": sum(r["citations_relevant"] for r in rows) / n_cit if n_cit else None,
        }

    langs = sorted({r["lang"] for r in records if r["lang"]})
    return {
        **summary(records),
        "k": k,
        "by_lang": {lang: summary([r for r in records if r["lang"] == lang]) for lang in langs},
        "items": records,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m eval.followup", description=__doc__.split("\n")[0])
    p.add_argument("--gold", type=Path, default=Path("eval/gold/followup.jsonl"))
    p.add_argument("--corpus", type=Path, help="a separate index of this directory (default: the seeds)")
    p.add_argument("--k", type=int, default=5)
    p.add_argument("--json", type=Path, help="write the results here")
    args = p.parse_args(argv)
    try:
        settings = settings_for(Settings(query_cache=0), args.corpus, None)
        engine = Engine.open(settings, progress=True)
        result = evaluate(engine, load_conversations(args.gold), args.k)
    except RagError as e:
        print(f"eval.followup: error: {e}", file=sys.stderr)
        return 2
    key = f"recall@{args.k}"
    print(
        f"{result['n']} conversations: second turn {key} {result[key]:.3f} as read "
        f"({result[key + '_alone']:.3f} on its own words); read anew {result['read_changed']:.3f}; "
        f"citation precision {result['citation_precision'] or 0:.3f}; abstained {result['abstained']:.3f}"
    )
    for lang, s in result["by_lang"].items():
        print(f"  {lang}: n={s['n']} {key} {s[key]:.3f} (alone {s[key + '_alone']:.3f})")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
