"""The documents' catalog: copied and changed per generation, read like the manifest it replaces."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from index.build import CHINESE_FLAGS, SEGMENT_FILE, Source, build_index, current_generation, read_manifest
from index.catalog import CATALOG, Catalog, write_catalog
from index.lexicon import Lexicon
from index.snapshot import load_snapshot


def _m(seg: str, chunks: int = 2, origin: dict | None = None) -> dict:  # type: ignore[type-arg]
    return {"sha256": "h" + seg, "chars": 10, "chunks": chunks, "articles": 1, "segment": seg} | (
        {"origin": origin} if origin else {}
    )


def test_a_new_catalog_is_the_old_one_changed(tmp_path: Path) -> None:
    n = write_catalog(tmp_path / "a.sqlite", [("x.md", _m("g1")), ("y.md", _m("g1", 3, {"via": "upload"}))])
    assert n == 2
    first = Catalog(tmp_path / "a.sqlite")
    n = write_catalog(tmp_path / "b.sqlite", [("z.md", _m("g2", 5))], first, remove=["x.md"])
    second = Catalog(tmp_path / "b.sqlite")
    assert n == 2 and sorted(second) == ["y.md", "z.md"] and "x.md" in first  # the old file unchanged
    assert second["y.md"]["origin"] == {"via": "upload"} and "origin" not in second["z.md"]
    assert second.totals() == (8, 2) and second.origins() == {"y.md": {"via": "upload"}}
    assert second.get("x.md") is None and second["y.md"]["segment"] == "g1"


@pytest.fixture(scope="module")
def lexicon(tmp_path_factory: pytest.TempPathFactory) -> Lexicon:
    return Lexicon.load(tmp_path_factory.mktemp("lexcache"))


def test_an_index_written_before_catalogs_is_read_and_updated(tmp_path: Path, fake_embedder, lexicon) -> None:  # type: ignore[no-untyped-def]
    docs = [Source(f"n{i}.md", f"# Note {i}\n\nRevenue of unit {i} grew {i} percent.\n") for i in range(10)]
    build_index(tmp_path, fake_embedder, upsert=docs, lexicon=lexicon)
    gen = current_generation(tmp_path)
    assert gen is not None
    # make it look as this version's predecessor wrote it: the documents listed in the manifest,
    # no catalog, no language flags, no segment file
    m = read_manifest(gen)
    cat = Catalog.of(gen, m)
    m["documents"] = {d: {k: v for k, v in cat[d].items() if k not in ("segment", "articles")} for d in cat}
    cat.close()
    for f in (CATALOG, CHINESE_FLAGS, SEGMENT_FILE):
        (gen / f).unlink()
    (gen / "manifest.json").write_text(json.dumps(m), encoding="utf-8")
    snap = load_snapshot(tmp_path, fake_embedder.model_id, fake_embedder.dim)
    assert sorted(snap.documents) == sorted(d.doc for d in docs) and snap.document("n3.md").chunks >= 1
    rep = build_index(
        tmp_path,
        fake_embedder,
        upsert=[Source("new.md", "# New\n\nA new note.\n")],
        lexicon=lexicon,
        max_delta_share=1.0,
    )
    assert rep.segments == 2 and rep.chunks == snap.size + 1
    after = load_snapshot(tmp_path, fake_embedder.model_id, fake_embedder.dim, reuse=snap)
    assert "new.md" in after.documents and "n3.md" in after.documents
    assert (current_generation(tmp_path) / CATALOG).is_file()  # type: ignore[operator]
