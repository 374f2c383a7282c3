"""Index persistence, incremental updates, manifest checks and crash safety."""

from __future__ import annotations

from pathlib import Path

import pytest

import index.build as build_mod
from index.build import ChunkParams, Source, build_index, collect_sources, current_generation, read_manifest
from index.catalog import Catalog
from index.errors import IndexMismatchError, InputError, NotFoundError
from index.lexicon import Lexicon
from index.snapshot import load_snapshot

DOC_A = "标题甲\n36氪· 2026-01-27 08:25\n要点 - 公司获得超过50亿元人民币的融资 [1] - 团队来自旷视 [2]\n"
DOC_B = (
    "# Quarterly note\n\nRevenue grew 24% to $59.9 billion.\n\nCapex guidance is $115-135 billion for 2026.\n"
)


@pytest.fixture(scope="module")
def lexicon(tmp_path_factory: pytest.TempPathFactory) -> Lexicon:
    return Lexicon.load(tmp_path_factory.mktemp("lexcache"))


def _build(index_dir: Path, emb, lexicon, **kw):  # type: ignore[no-untyped-def]
    return build_index(index_dir, emb, lexicon=lexicon, **kw)


def test_build_persists_and_loads(tmp_path: Path, fake_embedder, lexicon) -> None:
    rep = _build(tmp_path, fake_embedder, lexicon, upsert=[Source("a.txt", DOC_A), Source("b.md", DOC_B)])
    assert rep.added == ["a.txt", "b.md"] and rep.chunks >= 2 and rep.embedded == rep.chunks
    snap = load_snapshot(tmp_path, fake_embedder.model_id, fake_embedder.dim)
    assert set(snap.documents) == {"a.txt", "b.md"}
    assert len(snap.chunks) == rep.chunks == len(snap.store)
    for c in snap.chunks:
        assert snap.documents[c.doc].text[c.start : c.end] == c.text
    m = read_manifest(current_generation(tmp_path))  # type: ignore[arg-type]
    assert m["model_id"] == fake_embedder.model_id and m["dim"] == fake_embedder.dim
    docs = Catalog.of(current_generation(tmp_path), m)  # type: ignore[arg-type]
    assert docs["a.txt"]["sha256"] == Source("a.txt", DOC_A).sha256 and m["document_count"] == 2


def test_unchanged_corpus_embeds_nothing_and_keeps_generation(tmp_path: Path, fake_embedder, lexicon) -> None:
    srcs = [Source("a.txt", DOC_A), Source("b.md", DOC_B)]
    first = _build(tmp_path, fake_embedder, lexicon, upsert=srcs)
    calls = fake_embedder.calls
    again = _build(tmp_path, fake_embedder, lexicon, upsert=srcs)
    assert fake_embedder.calls == calls
    assert not again.changed and again.embedded == 0 and again.generation == first.generation


def test_adding_a_file_embeds_only_its_chunks(tmp_path: Path, fake_embedder, lexicon) -> None:
    _build(tmp_path, fake_embedder, lexicon, upsert=[Source("a.txt", DOC_A)])
    calls = fake_embedder.calls
    rep = _build(tmp_path, fake_embedder, lexicon, upsert=[Source("a.txt", DOC_A), Source("b.md", DOC_B)])
    snap = load_snapshot(tmp_path, fake_embedder.model_id, fake_embedder.dim)
    n_b = sum(1 for c in snap.chunks if c.doc == "b.md")
    assert rep.added == ["b.md"] and rep.embedded == n_b
    assert fake_embedder.calls - calls == n_b


def test_remove_and_unknown_remove(tmp_path: Path, fake_embedder, lexicon) -> None:
    _build(tmp_path, fake_embedder, lexicon, upsert=[Source("a.txt", DOC_A), Source("b.md", DOC_B)])
    _build(tmp_path, fake_embedder, lexicon, remove=["a.txt"])
    snap = load_snapshot(tmp_path, fake_embedder.model_id, fake_embedder.dim)
    assert set(snap.documents) == {"b.md"} and all(c.doc == "b.md" for c in snap.chunks)
    with pytest.raises(NotFoundError):
        _build(tmp_path, fake_embedder, lexicon, remove=["nope.txt"])


def test_other_model_is_refused(tmp_path: Path, fake_embedder, lexicon) -> None:
    _build(tmp_path, fake_embedder, lexicon, upsert=[Source("a.txt", DOC_A)])
    with pytest.raises(IndexMismatchError, match="model"):
        load_snapshot(tmp_path, "other/model", fake_embedder.dim)
    with pytest.raises(IndexMismatchError, match="chunking"):
        _build(
            tmp_path,
            fake_embedder,
            lexicon,
            upsert=[Source("b.md", DOC_B)],
            params=ChunkParams(max_tokens=99),
        )
    # --rebuild starts over with the new parameters
    rep = _build(
        tmp_path,
        fake_embedder,
        lexicon,
        upsert=[Source("b.md", DOC_B)],
        params=ChunkParams(max_tokens=99),
        rebuild=True,
    )
    assert rep.added == ["b.md"]


def test_crash_mid_build_leaves_previous_index_loadable(
    tmp_path: Path, fake_embedder, lexicon, monkeypatch
) -> None:
    _build(tmp_path, fake_embedder, lexicon, upsert=[Source("a.txt", DOC_A)])
    before = current_generation(tmp_path)

    def boom(*a, **k):  # type: ignore[no-untyped-def]
        raise RuntimeError("disk full")

    monkeypatch.setattr(build_mod, "save_lexical_parts", boom)
    with pytest.raises(RuntimeError):
        _build(tmp_path, fake_embedder, lexicon, upsert=[Source("b.md", DOC_B)])
    assert current_generation(tmp_path) == before
    snap = load_snapshot(tmp_path, fake_embedder.model_id, fake_embedder.dim)
    assert set(snap.documents) == {"a.txt"}
    assert not list(tmp_path.glob(".staging-*"))


def test_collect_sources_errors(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError):
        collect_sources([tmp_path / "missing"])
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(InputError, match="UTF-8"):
        collect_sources([bad])
    pdf = tmp_path / "x.xlsx"
    pdf.write_bytes(b"%PDF")
    with pytest.raises(InputError, match="unsupported"):
        collect_sources([pdf])
    d = tmp_path / "corpus"
    (d / "sub").mkdir(parents=True)
    (d / "sub" / "one.md").write_text("# One\n\nhello", encoding="utf-8")
    (d / "skip.xlsx").write_bytes(b"%PDF")
    assert [s.doc for s in collect_sources([d])] == ["sub/one.md"]


DAMAGED_PDF = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R\ntrailer\n%%EO"  # cut off mid-file


def test_a_directory_skips_files_without_text_and_says_why(tmp_path: Path, caplog) -> None:  # type: ignore[no-untyped-def]
    from tests.index.test_extract import scanned_pdf

    d = tmp_path / "corpus"
    d.mkdir()
    (d / "good.txt").write_text("# Good\n\nThe okapi survey counted 1,204 animals.\n", encoding="utf-8")
    (d / "damaged.pdf").write_bytes(DAMAGED_PDF)
    (d / "scan.pdf").write_bytes(scanned_pdf())
    (d / "latin1.txt").write_bytes("caf\xe9".encode("latin-1"))
    with caplog.at_level("WARNING", "index.build"):
        assert [s.doc for s in collect_sources([d])] == ["good.txt"]
    warned = {r.skipped: r.getMessage() for r in caplog.records}  # type: ignore[attr-defined]
    assert set(warned) == {str(d / n) for n in ("damaged.pdf", "scan.pdf", "latin1.txt")}
    assert warned[str(d / "damaged.pdf")].startswith(f"skipped {d / 'damaged.pdf'}: not a readable PDF")
    assert "no text layer" in warned[str(d / "scan.pdf")]
    assert "not valid UTF-8" in warned[str(d / "latin1.txt")]
    # the same file named on its own is still refused
    with pytest.raises(InputError, match="not a readable PDF"):
        collect_sources([d / "damaged.pdf"])
    with pytest.raises(InputError, match="no text layer"):
        collect_sources([d / "scan.pdf", d / "good.txt"])


@pytest.mark.parametrize(
    "name", ["../x.txt", "/etc/passwd.txt", "a/../../b.txt", ".hidden.txt", "x.xlsx", "", "a\\b.txt"]
)
def test_check_doc_id_rejects(name: str) -> None:
    with pytest.raises(InputError):
        build_mod.check_doc_id(name)


def test_a_passage_takes_its_documents_language(tmp_path: Path, fake_embedder, lexicon) -> None:
    # an English table inside a Chinese report is ranked among the report's passages, not as the
    # best passage of an English group of its own; a document in English stays English
    report = (
        "招商银行国际研究报告\n\n"
        + "我们认为中国软件行业的复苏仍在继续,云业务收入增长有望维持强劲,人工智能应用持续落地。" * 6
        + "\n\n- Kingdee (268 HK) Recovery in revenue growth\n- Alibaba (BABA US) Quick commerce\n\n"
        + "我们维持行业优于大市评级,建议关注估值合理且现金流稳健的龙头公司。" * 6
        + "\n"
    )
    _build(
        tmp_path,
        fake_embedder,
        lexicon,
        upsert=[Source("report.txt", report), Source("b.md", DOC_B)],
        params=ChunkParams(max_tokens=40, hard_max_tokens=80),
    )
    snap = load_snapshot(tmp_path, fake_embedder.model_id, fake_embedder.dim)
    table = [i for i, c in enumerate(snap.chunks) if c.doc == "report.txt" and "Kingdee" in c.text]
    assert table and "我们" not in snap.chunks[table[0]].text  # a chunk of its own, in English
    assert all(snap.chinese[i] for i, c in enumerate(snap.chunks) if c.doc == "report.txt")
    assert not any(snap.chinese[i] for i, c in enumerate(snap.chunks) if c.doc == "b.md")
    expected = snap.chinese.copy()
    # an index written when the flags were each chunk's own is read the same way
    import json

    import numpy as np

    from index.build import CHINESE_FLAGS, SEGMENT_FILE
    from index.normalize import detect_lang

    gen = current_generation(tmp_path)
    assert gen is not None
    assert np.load(gen / CHINESE_FLAGS)[table[0]]  # written so: loading reads no chunk text
    np.save(gen / CHINESE_FLAGS, np.array([detect_lang(c.text) == "zh" for c in snap.chunks]))
    for name in (SEGMENT_FILE, "manifest.json"):
        meta = json.loads((gen / name).read_text(encoding="utf-8"))
        meta.pop("languages")
        (gen / name).write_text(json.dumps(meta), encoding="utf-8")
    old = load_snapshot(tmp_path, fake_embedder.model_id, fake_embedder.dim)
    assert not np.load(gen / CHINESE_FLAGS)[table[0]] and list(old.chinese) == list(expected)
    # and so is one whose flags file is gone, however its manifest describes them: the flags are then
    # computed from the texts, each chunk's own
    for name in (SEGMENT_FILE, "manifest.json"):
        meta = json.loads((gen / name).read_text(encoding="utf-8"))
        (gen / name).write_text(json.dumps({**meta, "languages": "document"}), encoding="utf-8")
    (gen / CHINESE_FLAGS).unlink()
    gone = load_snapshot(tmp_path, fake_embedder.model_id, fake_embedder.dim)
    assert list(gone.chinese) == list(expected)
