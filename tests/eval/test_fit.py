"""Fitting the fusion weights and the abstention model (``eval.fit``) on small data."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from eval.fit import CROSS_GRID, GRID, fit_abstention, fit_fusion, logistic
from eval.gold import Evidence, GoldItem, locate_evidence
from rag.engine import Engine
from rag.retrieve import FusionWeights
from rag.settings import Settings
from tests.conftest import FakeEmbedder
from tests.rag.conftest import write_corpus


def test_logistic_regression_separates_and_has_a_bias() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 2))
    y = (x[:, 0] - 0.5 * x[:, 1] + 0.3 > 0).astype(float)
    w = logistic(x, y, l2=0.1)
    assert w[0] > 0 > w[1] and w[2] > 0
    p = 1 / (1 + np.exp(-(x @ w[:2] + w[2])))
    assert ((p > 0.5) == (y == 1)).mean() > 0.95


def _engine(tmp_path: Path, shared_cache: Path) -> Engine:
    corpus = write_corpus(tmp_path / "corpus")
    return Engine.open(
        Settings(data_dir=tmp_path / "data", corpus=corpus, cache=shared_cache), embedder=FakeEmbedder()
    )


def _items(engine: Engine) -> list[GoldItem]:
    items = [
        GoldItem(
            "a1",
            "Meta预计2026年资本支出是多少?",
            "zh-Hans",
            "numeric",
            True,
            "",
            (("1150亿",),),
            (Evidence("digest.txt", "1150亿美元至1350亿美元"),),
        ),
        GoldItem(
            "a2",
            "阶跃星辰融资多少?",
            "zh-Hans",
            "numeric",
            True,
            "",
            (("50亿元",),),
            (Evidence("digest.txt", "超过50亿元人民币"),),
        ),
        GoldItem("u1", "阶跃星辰的员工有多少人?", "zh-Hans", "near-miss", False),
    ]
    return locate_evidence(items, engine.document_text)


def test_fusion_fit_scores_every_combination_of_the_grid(tmp_path: Path, shared_cache: Path) -> None:
    engine = _engine(tmp_path, shared_cache)
    ranked = fit_fusion(engine, _items(engine))
    assert len(ranked) == int(np.prod([len(v) for v in GRID.values()]))
    assert ranked[0][0] == max(m for m, _ in ranked) and 0 < ranked[0][0] <= 1
    assert set(GRID) <= set(ranked[0][1])  # the weights written out whole, the grid's among them
    crossed = fit_fusion(engine, _items(engine), cross=True)
    assert len(crossed) == int(np.prod([len(v) for v in CROSS_GRID.values()]))
    assert all(w["dense"] == FusionWeights().dense for _, w in crossed)  # the rest held


def test_abstention_fit_reports_weights_threshold_and_operating_points(
    tmp_path: Path, shared_cache: Path
) -> None:
    engine = _engine(tmp_path, shared_cache)
    out = fit_abstention(engine, _items(engine), max_false=0.0)
    assert set(out["weights"]) <= {
        "coverage",
        "coverage_top",
        "rank_best",
        "constraint_ratio",
        "passage_coverage",
        "missing_max",
        "sentence_dense",  # the fake embedder's one part
    }  # no aligned model
    assert 0.0 <= out["min_confidence"] <= 1.0
    assert out["train_false_abstention"] == 0.0  # the threshold refuses no answerable question
    assert [p["max_false"] for p in out["operating_points"]] == [0.01, 0.02, 0.03, 0.05, 0.08]


def test_hidden_evidence_asks_each_answerable_question_again_without_its_documents(
    tmp_path: Path, shared_cache: Path
) -> None:
    engine = _engine(tmp_path, shared_cache)
    items = _items(engine)
    asked: list[tuple[str, object]] = []
    ask = engine.ask

    def recording(question: str, filters=None):  # type: ignore[no-untyped-def]
        asked.append((question, filters))
        return ask(question, filters)

    engine.ask = recording  # type: ignore[method-assign]
    plain = fit_abstention(engine, items, max_false=0.0)
    assert all(f is None for _, f in asked)
    asked.clear()
    out = fit_abstention(engine, items, max_false=0.0, hide_evidence=True)
    hidden = {q: f for q, f in asked if f is not None}
    # 50亿元 is stated only in the digest: asked again without it, as a near-miss question
    assert set(hidden) == {"阶跃星辰融资多少?"}
    assert "digest.txt" not in hidden["阶跃星辰融资多少?"].docs  # type: ignore[attr-defined]
    assert "dup.md" in hidden["阶跃星辰融资多少?"].docs  # type: ignore[attr-defined]
    # the Meta figure is restated in dup.md: without the digest it is still answerable, so not asked
    assert out["n"] >= plain["n"]
