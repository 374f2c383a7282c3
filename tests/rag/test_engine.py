"""Engine document management: uploads are searchable at once, deletes disappear, reads survive."""

from __future__ import annotations

import threading

import pytest

from index.errors import InputError, NotFoundError
from rag.engine import Engine


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
