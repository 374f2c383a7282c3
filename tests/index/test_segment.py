"""Segmented generations: a small update writes only its own segment; reads see one index."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import index.build as build_mod
from index.build import Source, build_index, current_generation, read_manifest
from index.lexical import build_lexical
from index.lexicon import Lexicon
from index.segment import SegmentedLexical, SegmentedStore, manifest_segments
from index.snapshot import load_snapshot
from index.store import FaissStore


@pytest.fixture(scope="module")
def lexicon(tmp_path_factory: pytest.TempPathFactory) -> Lexicon:
    return Lexicon.load(tmp_path_factory.mktemp("lexcache"))


def _doc(i: int, word: str = "") -> Source:
    text = (
        f"# Note {i}\n\nCompany number {i} reported revenue of {i}.5 billion dollars in quarter {i % 4 + 1}. "
        f"Its factory {word or 'output'} rose by {i * 3} percent.\n\nThe board met {i} times.\n"
    )
    return Source(f"note{i:02d}.md", text)


BASE = [_doc(i) for i in range(12)]


def _build(index_dir: Path, emb, lexicon, **kw):  # type: ignore[no-untyped-def]
    return build_index(index_dir, emb, lexicon=lexicon, **kw)


def _snap(index_dir: Path, emb, reuse=None):  # type: ignore[no-untyped-def]
    return load_snapshot(index_dir, emb.model_id, emb.dim, reuse=reuse)


def _segments(index_dir: Path) -> list:  # type: ignore[type-arg]
    gen = current_generation(index_dir)
    assert gen is not None
    return manifest_segments(read_manifest(gen), gen.name)


def test_small_update_writes_only_its_segment(tmp_path: Path, fake_embedder, lexicon) -> None:
    first = _build(tmp_path, fake_embedder, lexicon, upsert=BASE)
    new = _doc(50, "zeppelin")
    rep = _build(tmp_path, fake_embedder, lexicon, upsert=[*BASE, new], max_delta_share=0.5)
    assert rep.added == [new.doc] and rep.segments == 2
    assert [s.name for s in _segments(tmp_path)] == [first.generation, rep.generation]
    gen = current_generation(tmp_path)
    assert gen is not None
    own = _snap_rows(gen)
    assert own == {new.doc}  # the new generation holds the new document's chunks only
    snap = _snap(tmp_path, fake_embedder)
    assert set(snap.documents) == {s.doc for s in [*BASE, new]}
    assert snap.live_size == rep.chunks and len(snap.store) == rep.chunks
    for c in snap.chunks:
        assert snap.documents[c.doc].text[c.start : c.end] == c.text
    # the new document is found by both retrievers
    ids = [i for i, c in enumerate(snap.chunks) if c.doc == new.doc]
    q = fake_embedder.encode_documents([snap.chunks[ids[0]].embed_text])
    _, hits = snap.store.search(q, 3)
    assert int(hits[0][0]) == ids[0]
    sc = snap.lexical.scores("text", {"zeppelin": 1.0})
    assert set(np.flatnonzero(sc)) == set(ids)


def _snap_rows(gen: Path) -> set[str]:
    import sqlite3

    db = sqlite3.connect(str(gen / "chunks.sqlite"))
    try:
        return {r[0] for r in db.execute("SELECT DISTINCT doc FROM chunks")}
    finally:
        db.close()


def test_replaced_and_removed_documents_are_never_returned(tmp_path: Path, fake_embedder, lexicon) -> None:
    _build(tmp_path, fake_embedder, lexicon, upsert=BASE)
    changed = Source(BASE[3].doc, BASE[3].text.replace("board met", "board convened"))
    rep = _build(tmp_path, fake_embedder, lexicon, upsert=[changed], max_delta_share=0.5)
    assert rep.updated == [changed.doc] and rep.segments == 2
    rep = _build(tmp_path, fake_embedder, lexicon, remove=[BASE[5].doc], max_delta_share=0.5)
    assert rep.removed == [BASE[5].doc]
    segs = _segments(tmp_path)
    assert segs[0].removed == {BASE[3].doc, BASE[5].doc} and segs[0].dead > 0
    snap = _snap(tmp_path, fake_embedder)
    assert BASE[5].doc not in snap.documents and snap.documents[changed.doc].text == changed.text
    assert snap.live is not None
    dead = {i for i, live in enumerate(snap.live) if not live}
    assert dead and all(snap.chunks[i].doc in {BASE[3].doc, BASE[5].doc} for i in dead)
    # a search for everything returns every live chunk and no dead one
    q = fake_embedder.encode_query(["board"])
    _, hits = snap.store.search(q, snap.size)
    found = {int(i) for i in hits[0] if i >= 0}
    assert found == set(range(snap.size)) - dead
    # a dead chunk's own vector does not bring it back
    _, hits = snap.store.search(fake_embedder.encode_documents([snap.chunks[min(dead)].embed_text]), 5)
    assert not dead & {int(i) for i in hits[0]}
    sc = snap.lexical.scores("text", {"board": 1.0, "met": 1.0})
    assert not any(sc[i] for i in dead) and sc.max() > 0
    assert snap.lexical.scores("text", {"convened": 1.0}).max() > 0


def test_merge_folds_segments_into_one_reusing_every_vector(tmp_path: Path, fake_embedder, lexicon) -> None:
    _build(tmp_path, fake_embedder, lexicon, upsert=BASE)
    _build(tmp_path, fake_embedder, lexicon, upsert=[_doc(40)], max_delta_share=0.5)
    _build(tmp_path, fake_embedder, lexicon, remove=[BASE[0].doc], max_delta_share=0.5)
    before = _snap(tmp_path, fake_embedder)
    live_before = sorted(c.id for i, c in enumerate(before.chunks) if before.live is None or before.live[i])
    calls = fake_embedder.calls
    rep = _build(tmp_path, fake_embedder, lexicon, merge=True)
    assert rep.segments == 1 and fake_embedder.calls == calls and rep.embedded == 0
    after = _snap(tmp_path, fake_embedder)
    assert after.live is None and len(after.segments) == 1
    assert sorted(c.id for c in after.chunks) == live_before
    assert set(after.documents) == set(before.documents)
    # the generations only the old segments needed are gone, the previous one is kept for readers
    gens = sorted(p.name for p in tmp_path.glob("gen-*"))
    assert rep.generation in gens and len(gens) <= 1 + len(before.segments) + 1


def test_policy_merges_when_segments_grow(tmp_path: Path, fake_embedder, lexicon) -> None:
    base = _build(tmp_path, fake_embedder, lexicon, upsert=BASE)
    assert base.chunks == len(BASE)  # one chunk per note: the shares below count notes
    seen = [_build(tmp_path, fake_embedder, lexicon, upsert=[_doc(60 + i)]).segments for i in range(7)]
    # a segment per note while the notes outside the first segment stay within 25% of the index
    # (4 of 16); the fifth would pass it (5 of 17), so that update merges everything into one
    assert seen == [2, 3, 4, 5, 1, 2, 3]
    assert len(_snap(tmp_path, fake_embedder).documents) == len(BASE) + 7


def test_too_many_segments_merge(tmp_path: Path, fake_embedder, lexicon, monkeypatch) -> None:
    monkeypatch.setattr(build_mod, "MAX_SEGMENTS", 3)
    _build(tmp_path, fake_embedder, lexicon, upsert=BASE)
    seen = [
        _build(tmp_path, fake_embedder, lexicon, upsert=[_doc(70 + i)], max_delta_share=1.0).segments
        for i in range(3)
    ]
    assert seen == [2, 3, 1]


def test_snapshot_shares_unchanged_segments(tmp_path: Path, fake_embedder, lexicon) -> None:
    _build(tmp_path, fake_embedder, lexicon, upsert=BASE)
    one = _snap(tmp_path, fake_embedder)
    _build(tmp_path, fake_embedder, lexicon, upsert=[_doc(80)], max_delta_share=0.5)
    two = _snap(tmp_path, fake_embedder, reuse=one)
    assert two.segments[0] is one.segments[0] and len(two.segments) == 2
    fresh = _snap(tmp_path, fake_embedder)
    assert [c.id for c in fresh.chunks] == [c.id for c in two.chunks]


def test_failed_segment_write_leaves_previous_generation(
    tmp_path: Path, fake_embedder, lexicon, monkeypatch
) -> None:
    first = _build(tmp_path, fake_embedder, lexicon, upsert=BASE)

    def boom(*a, **k):  # type: ignore[no-untyped-def]
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(build_mod, "save_lexical_parts", boom)
    with pytest.raises(Exception, match="space"):
        _build(tmp_path, fake_embedder, lexicon, upsert=[_doc(90)], max_delta_share=0.5)
    gen = current_generation(tmp_path)
    assert gen is not None and gen.name == first.generation
    assert set(_snap(tmp_path, fake_embedder).documents) == {s.doc for s in BASE}
    assert not list(tmp_path.glob(".staging-*"))
    monkeypatch.undo()
    rep = _build(tmp_path, fake_embedder, lexicon, upsert=[_doc(90)], max_delta_share=0.5)
    assert rep.segments == 2 and rep.embedded == 0  # the re-run reuses what was embedded (cache)


def test_segmented_bm25_uses_the_whole_index_idf() -> None:
    # equal-length chunks: length normalisation is the same in every segment, so the split index
    # must score exactly as one index over all chunks
    docs = [["alpha", "beta"], ["alpha", "gamma"], ["alpha", "delta"], ["beta", "gamma"], ["omega", "alpha"]]
    whole = build_lexical(docs, docs)
    parts = [build_lexical(docs[:4], docs[:4]), build_lexical(docs[4:], docs[4:])]
    seg = SegmentedLexical(parts, np.ones(5, bool))
    for terms in ({"omega": 1.0}, {"alpha": 1.0, "beta": 2.0}, {"gamma": 1.0, "nope": 1.0}):
        assert np.allclose(seg.scores("text", terms), whole.scores("text", terms), rtol=1e-5)


def test_segmented_store_merges_and_skips_dead() -> None:
    rng = np.random.default_rng(0)
    vecs = rng.normal(size=(30, 8)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    a, b = FaissStore(8), FaissStore(8)
    a.add(np.arange(20), vecs[:20])
    b.add(np.arange(10), vecs[20:])
    live = np.ones(30, bool)
    live[[3, 25]] = False
    seg = SegmentedStore([a, b], [0, 20], live)
    whole = FaissStore(8)
    whole.add(np.arange(30), vecs)
    q = vecs[[3, 25, 7]]
    s, i = seg.search(q, 5)
    ws, wi = whole.search(q, 30)
    for row in range(3):
        expect = [int(x) for x in wi[row] if live[x]][:5]
        assert [int(x) for x in i[row]] == expect
    assert len(seg) == 28
    _, everything = seg.search(q[:1], 40)
    assert sorted(int(x) for x in everything[0] if x >= 0) == sorted(set(range(30)) - {3, 25})


def test_chunks_read_by_position_across_segments(tmp_path: Path, fake_embedder, lexicon) -> None:
    _build(tmp_path, fake_embedder, lexicon, upsert=BASE)
    one = _snap(tmp_path, fake_embedder)
    _build(tmp_path, fake_embedder, lexicon, upsert=[_doc(95)], max_delta_share=0.5)
    two = _snap(tmp_path, fake_embedder, reuse=one)
    n = len(two.chunks)
    assert n == len(one.chunks) + 1 and two.chunks[-1].doc == _doc(95).doc == two.chunks[n - 1].doc
    assert [c.id for c in two.chunks[: len(one.chunks)]] == [c.id for c in one.chunks]
    assert [c.id for c in two.chunks] == [c.id for c in two.chunks[:]]
    with pytest.raises(IndexError):
        two.chunks[n]
    with pytest.raises(IndexError):
        one.chunks[-len(one.chunks) - 1]
