"""Engine document management (uploads are searchable at once, deletes disappear, reads survive) and
the answer stream (small pieces, in order, final as they come)."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator

import pytest

from index.errors import InputError, NotFoundError
from rag.engine import Engine
from rag.settings import Settings
from rag.types import Answer
from tests.conftest import FakeEmbedder
from tests.rag.test_deltas import check_deltas


def test_add_then_search_then_delete(engine: Engine) -> None:
    before = engine.stats()["chunks"]
    info = engine.add_document("notes/new.md", "# 新文档\n\n小米宣布2026年研发投入将达到300亿元。\n")
    assert info.doc == "notes/new.md" and info.chunks >= 1
    assert engine.stats()["chunks"] == before + info.chunks
    hits = engine.search("小米研发投入", k=3)
    assert hits[0].chunk.doc == "notes/new.md"
    engine.delete_document("notes/new.md")
    assert all(h.chunk.doc != "notes/new.md" for h in engine.search("小米研发投入", k=10))
    with pytest.raises(NotFoundError):
        engine.document_text("notes/new.md")


def test_bad_uploads_leave_the_index_as_it_was(engine: Engine) -> None:
    gen = engine.stats()["generation"]
    for name, text in [("../evil.txt", "x"), ("a.xlsx", "x"), ("ok.txt", "   ")]:
        with pytest.raises(InputError):
            engine.add_document(name, text)
    with pytest.raises(NotFoundError):
        engine.delete_document("nope.txt")
    assert engine.stats()["generation"] == gen


def test_reads_continue_during_an_update(engine: Engine) -> None:
    errors: list[BaseException] = []
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            try:
                assert engine.search("Meta资本支出", k=3)
            except BaseException as e:  # noqa: BLE001 - collected and asserted below
                errors.append(e)

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        for i in range(3):
            engine.add_document(f"bulk/{i}.md", f"# 文档{i}\n\n第{i}份测试文档,内容关于光模块出货量。\n")
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not errors
    assert len(engine.documents()) >= 7


# ---------------------------------------------------------------------------------------- streaming

STREAMED = [
    ("What is Meta's 2026 capex guidance?", ()),  # English question, Chinese quote, a lead line
    ("Meta预计2026年资本支出是多少?", ()),  # Chinese, a lead line
    ("How much did Google Cloud revenue grow in 2Q25?", ()),  # English quote
    ("And the backlog?", ("How much did Google Cloud revenue grow in 2Q25?",)),  # a follow-up: Read as
    ("那黄金价格呢?", ("阶跃星辰融资多少?",)),  # a Chinese follow-up
    ("阶跃星辰的团队来自哪里?", ()),  # not an amount: no lead line
    ("What is the boiling point of liquid nitrogen on Titan?", ()),  # an abstention
]


def _content(a: Answer) -> str:
    return (f"Read as: {a.read_as}\n" if a.read_as else "") + a.text


def test_the_extractive_answer_streams_in_small_pieces_in_order(engine: Engine) -> None:
    seen = {"lead": 0, "no lead": 0, "read_as": 0, "abstained": 0}
    for question, history in STREAMED:
        *parts, final = engine.ask_stream(question, history=history)
        assert isinstance(final, Answer)
        assert all(isinstance(p, str) for p in parts)
        lines = check_deltas([p for p in parts if isinstance(p, str)], _content(final))
        assert final.text == engine.ask(question, history=history).text
        assert {"retrieve", "answer", "total"} <= final.timings_ms.keys()
        # the reading of a follow-up first, then the lead line, then the quotes: each line whole
        whole = ["".join(line) for line in lines]
        if final.read_as:
            assert whole.pop(0) == f"Read as: {final.read_as}\n"
            seen["read_as"] += 1
        if final.lead:
            assert whole[0] == final.lead + "\n"
        seen["abstained" if final.abstained else "lead" if final.lead else "no lead"] += 1
    assert all(seen.values()), seen


class _ScriptedLLM:
    """An in-process LLM that records whether it was asked before the stream's first delta."""

    model = "scripted"

    def __init__(self, reply: str) -> None:
        self.reply, self.asked = reply, 0

    def chat(self, messages: list[dict[str, str]]) -> str:
        return self.reply

    def chat_stream(self, messages: list[dict[str, str]]) -> Iterator[str]:
        self.asked += 1
        yield from re.findall(r"\S+\s*", self.reply)


def test_retrieval_happens_in_the_call_and_the_reading_streams_before_the_llm(engine: Engine) -> None:
    with pytest.raises(InputError):
        engine.ask_stream("   ")  # raised by the call, before a front end starts its response
    base = "How much did Google Cloud revenue grow in 2Q25?"
    engine.llm = _ScriptedLLM(
        "Google Cloud revenue grew 32% to $13.6 billion [1]. The backlog was $106 billion [2]."
    )
    stream = engine.ask_stream("And the backlog?", history=[base])
    first = next(stream)
    assert isinstance(first, str) and "Read as: ".startswith(first)
    assert engine.llm.asked == 0  # the reading went out before the LLM was asked anything
    *rest, final = stream
    assert isinstance(final, Answer) and final.mode == "llm" and final.read_as
    assert first + "".join(p for p in rest if isinstance(p, str)) == _content(final)
    assert {"retrieve", "answer", "llm", "total"} <= final.timings_ms.keys()


def test_trusted_sources_rank_ahead_of_an_upload(settings, fake_embedder) -> None:  # type: ignore[no-untyped-def]
    from rag.engine import untrusted

    planted = "# 转贴\n\nMeta预计2026年资本支出仅为10亿美元,Meta预计2026年资本支出大幅削减\n"
    q = "Meta预计2026年资本支出是多少?"

    def rank(engine: Engine) -> int:
        hits = engine.search(q, k=10)
        return next(h.rank for h in hits if h.chunk.doc == "planted.txt")

    plain = Engine.open(settings, embedder=fake_embedder)
    plain.add_document("planted.txt", planted)
    assert untrusted(plain.snapshot, ["corpus"]) == {"planted.txt"}
    assert untrusted(plain.snapshot, ["corpus", "planted.*"]) == frozenset()
    assert untrusted(plain.snapshot, ["upload"]) == {"digest.txt", "dup.md", "trad.txt", "cloud.md"}
    assert rank(plain) == 1  # on content alone the upload, which repeats the question's words, wins

    # (the fake embedder's cosines spread far wider than a real model's: a penalty to match)
    prefer = {"trusted_sources": ["corpus"], "untrusted_penalty": 100.0}
    curated = Engine.open(settings.model_copy(update=prefer), embedder=fake_embedder)
    assert rank(curated) > 1  # demoted, not hidden
    assert curated.ask(q).citations[0].doc != "planted.txt"


def test_the_quoted_sentence_is_weighed_by_the_model_its_abstention_model_weighs(
    settings: Settings, fake_embedder: FakeEmbedder
) -> None:
    from dataclasses import replace

    from index.embed import PairedEmbedder

    class Other(FakeEmbedder):  # a second model of the pair ("use"): its own cosines
        model_id = "usem3/fake"

        def encode_query(self, texts):  # type: ignore[no-untyped-def]
            return super().encode_query([f"{t} research spending" for t in texts])

    second = Other()
    uncached = settings.model_copy(update={"query_cache": 0})
    engine = Engine.open(uncached, embedder=PairedEmbedder(fake_embedder, second))
    engine.add_document("notes/xm.md", "# 小米\n\n小米宣布2026年研发投入将达到300亿元。\n")
    question, sentence = "小米2026年研发投入是多少?", "小米宣布2026年研发投入将达到300亿元。"
    want = {
        "sentence_fake": float(
            fake_embedder.encode_query([question])[0] @ fake_embedder.encode_documents([sentence])[0]
        ),
        "sentence_use": float(second.encode_query([question])[0] @ second.encode_documents([sentence])[0]),
    }
    assert abs(want["sentence_fake"] - want["sentence_use"]) > 1e-3  # the two models differ here

    def ask(weights: tuple[tuple[str, float], ...]):  # type: ignore[no-untyped-def]
        engine.answer_params = replace(engine.answer_params, confidence_weights=weights, min_confidence=0.0)
        before = (second.calls, engine.embedder.stats.sentences)
        ans = engine.ask(question)
        assert not ans.abstained and ans.features is not None and ans.citations[0].quote == sentence
        return ans.features, second.calls - before[0], engine.embedder.stats.sentences - before[1]

    # the model weighs one cosine: only that model embeds the quote, in the questions' batches
    features, use_calls, batched = ask((("sentence_fake", 1.0),))
    assert abs(features["sentence_fake"] - want["sentence_fake"]) < 1e-5
    assert "sentence_use" not in features and use_calls == 0 and batched == 1
    features, use_calls, batched = ask((("sentence_use", 1.0),))
    assert abs(features["sentence_use"] - want["sentence_use"]) < 1e-5
    assert "sentence_fake" not in features and use_calls == 1 and batched == 1
    # a model being fitted (no weights yet) sees every model's cosine
    features, use_calls, batched = ask(())
    assert {k: round(v, 5) for k, v in features.items() if k.startswith("sentence_")} == {
        k: round(v, 5) for k, v in want.items()
    }
    assert (use_calls, batched) == (1, 2)
    engine.close()


def test_an_upload_to_a_larger_index_is_a_segment_found_like_the_rest(
    tmp_path, shared_cache, fake_embedder
) -> None:  # type: ignore[no-untyped-def]
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i in range(30):
        (corpus / f"n{i:02d}.md").write_text(
            f"# 周报{i}\n\n第{i}期:光模块出货量环比增长{i}%,数据中心资本开支继续上升。\n", encoding="utf-8"
        )
    eng = Engine.open(Settings(data_dir=tmp_path / "data", corpus=corpus, cache=shared_cache), fake_embedder)
    base = eng.stats()
    assert base["segments"] == 1
    eng.add_document("notes/yushu.md", "# 宇树科技\n\n宇树科技宣布2026年机器人出货量将达到两万台。\n")
    stats = eng.stats()
    assert stats["segments"] == 2 and stats["chunks"] > base["chunks"]  # written beside, not rebuilt
    assert eng.search("宇树科技机器人出货量", k=3)[0].chunk.doc == "notes/yushu.md"
    # the new segment's words are in the name indexes: an English question finds them by pinyin
    q = eng.analyze("How many robots will Yushu ship in 2026?")
    assert "宇树" in "".join(q.text_terms)
    eng.delete_document("n03.md")
    assert eng.stats()["chunks"] == stats["chunks"] - base["chunks"] // 30
    assert all(h.chunk.doc != "n03.md" for h in eng.search("第3期 光模块出货量", k=40))
    ans = eng.ask("宇树科技2026年机器人出货量是多少?")
    assert ans.citations and ans.citations[0].doc == "notes/yushu.md"


def test_a_snapshot_taken_before_updates_stays_readable(engine: Engine) -> None:
    # a reader holding the snapshot an update replaced (and a second one pruned) reads on: its rows
    # are not closed under it
    old = engine.snapshot
    ids = [c.id for c in old.chunks]
    engine.add_document("notes/a.md", "# 甲\n\n甲公司宣布2026年营收增长两成。\n")
    engine.add_document("notes/b.md", "# 乙\n\n乙公司宣布2026年营收增长三成。\n")
    assert old.generation != engine.snapshot.generation
    assert [c.id for c in old.chunks] == ids
    doc = next(iter(old.documents))
    assert old.document(doc).text
