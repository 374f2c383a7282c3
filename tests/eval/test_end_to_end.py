"""The whole harness on a real ``Engine`` over a tiny corpus made here (FakeEmbedder, no model)."""

import json
from pathlib import Path

import pytest

from eval import cli
from rag.settings import Settings

try:
    from rag.engine import Engine  # noqa: F401
except ImportError:  # pragma: no cover - until the engine lands
    pytest.skip("rag.engine.Engine is not available yet", allow_module_level=True)

DOCS = {
    "meta.txt": "Meta capital spending\n\nMeta expects 2026 capital expenditure of 115 to 135 billion US dollars, "
    "mostly for AI data centres and servers.\n\nThe company also plans to keep hiring engineers.\n",
    "alibaba.txt": "阿里巴巴季度业绩\n\n阿里云的季度收入同比增长百分之三十四,主要受人工智能相关产品需求推动。\n\n"
    "公司同时宣布继续回购股份。\n",
    "tsmc.txt": "台積電法說會\n\n台積電預計今年營收以美元計算將成長近百分之三十,先進製程需求強勁。\n",
    "weather.txt": "Weather in Hangzhou\n\nHangzhou had a rainy spring with mild temperatures and frequent fog.\n",
}
GOLD = [
    {
        "id": "e1",
        "question": "How much capital expenditure does Meta expect in 2026?",
        "lang": "en",
        "type": "numeric",
        "answerable": True,
        "answer": "115-135 billion",
        "facts": [["115"], ["135"]],
        "evidence": [
            {
                "doc": "meta.txt",
                "quote": "Meta expects 2026 capital expenditure of 115 to 135 billion US dollars",
            }
        ],
    },
    {
        "id": "e2",
        "question": "阿里云的季度收入增长了多少?",
        "lang": "zh-Hans",
        "type": "numeric",
        "answerable": True,
        "answer": "百分之三十四",
        "facts": [["百分之三十四", "34%"]],
        "evidence": [{"doc": "alibaba.txt", "quote": "阿里云的季度收入同比增长百分之三十四"}],
    },
    {
        "id": "e3",
        "question": "台積電預計今年營收成長多少?",
        "lang": "zh-Hant",
        "type": "numeric",
        "answerable": True,
        "answer": "近百分之三十",
        "facts": [["百分之三十"]],
        "evidence": [{"doc": "tsmc.txt", "quote": "台積電預計今年營收以美元計算將成長近百分之三十"}],
    },
    {
        "id": "e4",
        "question": "What was Meta's capital expenditure in 2031?",
        "lang": "en",
        "type": "near-miss",
        "answerable": False,
        "answer": "",
        "facts": [],
        "evidence": [],
    },
]
RETRIEVAL = ("recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10")


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """One corpus, gold file and data dir for the module: the product's caches (lexicon, embeddings)
    live in the data dir, and rebuilding them per test would only repeat the same slow setup."""
    root = tmp_path_factory.mktemp("e2e")
    corpus = root / "corpus"
    corpus.mkdir()
    for name, text in DOCS.items():
        (corpus / name).write_text(text, encoding="utf-8")
    gold = root / "gold.jsonl"
    gold.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in GOLD), encoding="utf-8")
    return corpus, gold, root / "data"


def snapshot_of(d: Path) -> dict[str, float]:
    return {str(p.relative_to(d)): p.stat().st_mtime_ns for p in d.rglob("*") if p.is_file()}


def is_number(v: object) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def test_harness_end_to_end_on_a_tiny_corpus(shared, tmp_path, fake_embedder, capsys):
    corpus, gold, data = shared
    out = tmp_path / "out"
    settings = Settings(data_dir=data, corpus=corpus)
    args = cli.main_parser().parse_args(
        [
            "--gold",
            str(gold),
            "--no-progress",
            "--json",
            str(out / "r.json"),
            "--report",
            str(out / "r.md"),
            "--plot",
            str(out / "r.png"),
        ]
    )
    assert cli.run(args, settings=settings, embedder=fake_embedder) == 0
    r = json.loads((out / "r.json").read_text(encoding="utf-8"))

    assert r["n"] == 4 and r["n_answerable"] == 3
    assert all(is_number(r["retrieval"][k]) and 0 <= r["retrieval"][k] <= 1 for k in RETRIEVAL)
    # four short documents: every chunk fits in the top 10, so the evidence is always retrieved
    assert r["retrieval"]["recall@10"] == 1.0
    assert set(r["by_lang"]) == {"en", "zh-Hans", "zh-Hant"}
    for g in r["by_lang"].values():
        assert all(is_number(g[k]) for k in RETRIEVAL)
    assert all(is_number(v) and 0 <= v <= 1 for v in r["answer"].values())
    for key in ("search_p50", "search_p95", "ask_p50", "ask_p95", "embed_query_p50"):
        assert is_number(r["latency_ms"][key]) and r["latency_ms"][key] > 0
    assert set(r["baselines"]) == {"lexical", "dense", "hybrid"}
    assert all(is_number(b["recall@5"]) and is_number(b["mrr@10"]) for b in r["baselines"].values())
    assert (out / "r.png").read_bytes()[:4] == b"\x89PNG"
    assert "## Retrievers on the same chunks" in (out / "r.md").read_text(encoding="utf-8")
    assert "wrote" in capsys.readouterr().out


def test_separate_corpus_index_is_built_once_and_reused(shared, fake_embedder, tmp_path):
    corpus, gold, _ = shared
    data = tmp_path / "data"  # its own: the first run below builds the index
    args = cli.main_parser().parse_args(["--gold", str(gold), "--corpus", str(corpus), "--no-progress"])
    base = Settings(data_dir=data, corpus=data / "no-such-default-corpus")
    start = fake_embedder.calls
    assert cli.run(args, settings=base, embedder=fake_embedder) == 0
    index_dir = data / "indexes" / cli.corpus_index_name(corpus)
    assert index_dir.is_dir()
    before = snapshot_of(index_dir)
    first = fake_embedder.calls - start  # every chunk, and the sentences the answers weigh
    calls = fake_embedder.calls
    assert cli.run(args, settings=base, embedder=fake_embedder) == 0
    again = fake_embedder.calls - calls
    calls = fake_embedder.calls
    assert cli.run(args, settings=base, embedder=fake_embedder) == 0
    # a re-run embeds the answers' sentences again, the same ones each time, and no chunk
    assert fake_embedder.calls - calls == again < first
    assert snapshot_of(index_dir) == before  # the index was reused as it was, not rebuilt


def test_a_quote_that_is_not_in_the_corpus_is_a_clear_error(shared, tmp_path, fake_embedder, capsys):
    corpus, _, data = shared
    gold = tmp_path / "bad.jsonl"
    bad = {**GOLD[0], "id": "bad", "evidence": [{"doc": "meta.txt", "quote": "Meta expects 2027 capital"}]}
    gold.write_text(json.dumps(bad) + "\n", encoding="utf-8")
    args = cli.main_parser().parse_args(["--gold", str(gold), "--corpus", str(corpus), "--no-progress"])
    assert cli.run(args, settings=Settings(data_dir=data), embedder=fake_embedder) == 2
    err = capsys.readouterr().err
    assert "item bad (line 1)" in err and "'Meta expects 2027 capital'" in err and "meta.txt" in err
