"""Fit the product's parameters on calibration data, never on a benchmark.

``python -m eval.fit fusion --gold G --corpus C`` searches the fusion weights (``rag.retrieve``) that
maximise MRR@10; ``python -m eval.fit abstention --gold G --corpus C`` fits the logistic abstention
model (``rag.answer.AnswerParams``) on answerable against unanswerable questions and picks the least
confidence to answer. Both print the values to write into the code, with what they score on the data
they were fitted on. The data is ``shared/train`` (disjoint from every benchmark); the fitted values
and the command are recorded beside the parameters they set.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from eval.cli import settings_for
from eval.gold import GoldItem, load_gold, locate_evidence
from eval.metrics import is_relevant
from rag.settings import Settings

GRID = {
    "aligned": (0.25, 0.5, 1.0),
    "dense": (1.0, 2.0, 4.0),
    "text": (0.05, 0.1, 0.2, 0.4, 0.8),
    "gloss": (0.0, 0.1, 0.2, 0.4),
}
# what only a corpus in two languages can fit (``eval.crosslingual --mixed``), the same-language
# weights held at their values
CROSS_GRID = {
    "aligned": (0.125, 0.25, 0.5, 1.0),
    "rebase": (0.0, 0.25, 0.5),
    "cross_text": (0.05, 0.1, 0.2, 0.4),
    "cross_gloss": (0.05, 0.1, 0.2, 0.4),
}


def _open(gold: Path, corpus: Path) -> tuple[Any, list[GoldItem]]:
    from rag.engine import Engine

    engine = Engine.open(settings_for(Settings(), corpus, None), progress=True)
    return engine, locate_evidence(load_gold(gold, skip_invalid=True), engine.document_text)


def fit_fusion(
    engine: Any, items: Sequence[GoldItem], cross: bool = False
) -> list[tuple[float, dict[str, float]]]:
    """MRR@10 of every weight combination of ``GRID``, best first. With ``cross``, of ``CROSS_GRID``,
    averaged over the (question language, evidence language) pairs so that each direction counts
    alike."""
    from rag.retrieve import FusionWeights, fuse, gather

    snap = engine.snapshot
    cases = []
    for it in items:
        if not it.answerable:
            continue
        q = engine.analyze(it.question, snap)
        sig = gather(snap, engine.embedder, q, candidates=engine.settings.candidates)
        rel = np.array(
            [
                is_relevant(snap.chunks[i].doc, snap.chunks[i].start, snap.chunks[i].end, it.evidence)
                for i in sig.ids
            ]
        )
        evidence_zh = bool(sig.chinese[rel].any()) if sig.chinese is not None and rel.any() else True
        cases.append((sig, rel, (sig.question_chinese, evidence_zh)))
    out = []
    grid = CROSS_GRID if cross else GRID
    for combo in itertools.product(*grid.values()):
        w = dataclasses.replace(FusionWeights(), **dict(zip(grid, combo, strict=True)))
        by_pair: dict[tuple[bool, bool], list[float]] = {}
        for sig, rel, pair in cases:
            fused, _ = fuse(sig, w)
            top = np.argsort(-fused, kind="stable")[:10]
            hit = np.flatnonzero(rel[top])
            by_pair.setdefault(pair if cross else (True, True), []).append(
                1.0 / (hit[0] + 1) if hit.size else 0.0
            )
        score = float(np.mean([np.mean(v) for v in by_pair.values()])) if by_pair else 0.0
        out.append((score, dataclasses.asdict(w)))
    out.sort(key=lambda x: -x[0])
    return out


def logistic(x: np.ndarray, y: np.ndarray, l2: float = 1.0, steps: int = 50) -> np.ndarray:
    """L2-regularised logistic regression by Newton's method; the last weight is the bias."""
    xb = np.hstack([x, np.ones((len(x), 1))])
    w = np.zeros(xb.shape[1])
    reg = np.full(xb.shape[1], l2)
    reg[-1] = 0.0
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-xb @ w))
        grad = xb.T @ (p - y) + reg * w
        hess = (xb * (p * (1 - p))[:, None]).T @ xb + np.diag(reg)
        w -= np.linalg.solve(hess, grad)
    return w


def fit_abstention(
    engine: Any,
    items: Sequence[GoldItem],
    max_false: float = 0.02,
    drop: Sequence[str] = (),
    cross: bool = False,
    hide_evidence: bool = False,
) -> dict[str, Any]:
    """Coefficients over ``evidence_features`` (answerable = 1) and the least confidence to answer:
    the highest threshold that abstains on at most ``max_false`` of the answerable questions that
    reach the model. ``cross``: only answers quoted in the other language than the question's (the
    ``cross_*`` parameters), else only same-language ones.

    ``hide_evidence``: every answerable question is asked once more with the documents holding its
    evidence filtered out, as an unanswerable one (when no other document states its answer). That is
    the near-miss a user meets: the rest of the article is there, the fact is not. The calibration
    set's own 171 near-miss questions are too few to fit the cross-language model on (209 answers)."""
    from index.normalize import detect_lang
    from rag.types import Filters

    engine.answer_params = dataclasses.replace(
        engine.answer_params,
        constrained_ratio=0.0,  # the model weighs it: every answer that meets the constraints is seen
        confidence_weights=(),
        confidence_bias=0.0,
        min_confidence=0.0,
        cross_confidence_weights=(),
        cross_confidence_bias=0.0,
        cross_min_confidence=0.0,
    )
    rows, labels = [], []
    docs = [d.doc for d in engine.documents()]
    texts = {d: engine.document_text(d).lower() for d in docs} if hide_evidence else {}
    for it in items:
        asks: list[tuple[Filters | None, bool]] = [(None, it.answerable)]
        held = {e.doc for e in it.evidence}
        if hide_evidence and it.answerable and held:
            rest = tuple(d for d in docs if d not in held)
            stated = any(f.lower() in texts[d] for alts in it.facts for f in alts if f for d in rest)
            if rest and not stated:
                asks.append((Filters(docs=rest), False))
        for filters, answerable in asks:
            a = engine.ask(it.question, filters)
            if a.features and a.citations:
                quoted_cross = detect_lang(a.citations[0].quote) != detect_lang(it.question)
                if quoted_cross == cross:
                    rows.append(a.features)
                    labels.append(1.0 if answerable else 0.0)
    names = sorted(n for n in rows[0] if n not in drop)
    x = np.array([[r[n] for n in names] for r in rows])
    y = np.array(labels)
    mu, sd = x.mean(0), x.std(0) + 1e-9
    w = logistic((x - mu) / sd, y)
    coef = w[:-1] / sd
    bias = float(w[-1] - (coef * mu).sum())
    p = 1.0 / (1.0 + np.exp(-(x @ coef + bias)))
    pos = np.sort(p[y == 1])
    threshold = float(pos[int(max_false * len(pos))]) if len(pos) else 0.5
    operating_points = [
        {
            "max_false": m,
            "min_confidence": round(float(pos[int(m * len(pos))]), 4),
            "abstention_accuracy": float((p[y == 0] < pos[int(m * len(pos))]).mean()),
        }
        for m in (0.01, 0.02, 0.03, 0.05, 0.08)
        if len(pos)
    ]
    return {
        "operating_points": operating_points,
        "weights": {n: round(float(c), 4) for n, c in zip(names, coef, strict=True)},
        "bias": round(bias, 4),
        "min_confidence": round(threshold, 4),
        "n": len(y),
        "n_unanswerable": int((y == 0).sum()),
        "train_abstention_accuracy": float((p[y == 0] < threshold).mean()) if (y == 0).any() else None,
        "train_false_abstention": float((p[y == 1] < threshold).mean()) if (y == 1).any() else None,
    }


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m eval.fit", description=__doc__.split("\n\n")[0])
    ap.add_argument("what", choices=("fusion", "abstention"))
    ap.add_argument("--gold", type=Path, required=True, help="calibration questions (never a benchmark)")
    ap.add_argument("--corpus", type=Path, required=True)
    ap.add_argument("--json", type=Path, help="also write the result here")
    ap.add_argument(
        "--cross",
        action="store_true",
        help="fit what applies across languages, on data built by eval.crosslingual: fusion, the weights "
        "that decide between languages (on a --mixed corpus), the rest held; abstention, the model for "
        "answers quoted in the other language",
    )
    ap.add_argument("--drop", nargs="*", default=(), help="abstention: leave these features out")
    ap.add_argument(
        "--hide-evidence",
        action="store_true",
        help="abstention: also ask each answerable question without the documents holding its evidence, "
        "as a near-miss one",
    )
    ap.add_argument(
        "--max-false",
        type=float,
        default=0.02,
        help="abstention: the share of answerable questions the threshold may refuse (default 0.02)",
    )
    args = ap.parse_args(argv)
    engine, items = _open(args.gold, args.corpus)
    result: Any
    if args.what == "fusion":
        ranked = fit_fusion(engine, items, cross=args.cross)
        for mrr, w in ranked[:10]:
            print(f"MRR@10 {mrr:.4f}  {w}")
        result = [{"mrr@10": m, "weights": w} for m, w in ranked]
    else:
        result = fit_abstention(
            engine,
            items,
            max_false=args.max_false,
            drop=args.drop,
            cross=args.cross,
            hide_evidence=args.hide_evidence,
        )
        print(json.dumps(result, indent=1))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
