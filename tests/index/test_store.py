"""Vector stores: exact nearest ids and scores, removal, persistence, padding, registry errors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from index.errors import ConfigError, IndexMismatchError, NotFoundError
from index.store import PAD_SCORE, VECTOR_STORES, VectorStore, load_vector_store, make_vector_store

DIM = 16
BACKENDS = [
    pytest.param("faiss", id="faiss"),
    pytest.param("milvus", id="milvus", marks=pytest.mark.milvus),
]


def _unit(rng: np.random.Generator, n: int) -> np.ndarray:
    v = rng.standard_normal((n, DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _close(store: VectorStore) -> None:
    store.close()


@pytest.fixture
def data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    ids = np.arange(100, 140, dtype=np.int64) * 3  # non-contiguous ids: the store must keep ours
    return ids, _unit(rng, len(ids))


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def store(backend: str, tmp_path: Path) -> Iterator[VectorStore]:
    s = make_vector_store(backend, DIM, tmp_path / "build")
    yield s
    _close(s)


def _brute_force(ids: np.ndarray, vecs: np.ndarray, q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    sims = q @ vecs.T
    order = np.argsort(-sims, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(sims, order, axis=1), ids[order]


def test_search_returns_exact_nearest_ids_and_scores(store: VectorStore, data) -> None:
    ids, vecs = data
    store.add(ids, vecs)
    assert len(store) == len(ids)
    rng = np.random.default_rng(1)
    queries = _unit(rng, 5)
    scores, got = store.search(queries, 5)
    want_scores, want_ids = _brute_force(ids, vecs, queries, 5)
    assert got.dtype == np.int64 and got.shape == (5, 5)
    np.testing.assert_array_equal(got, want_ids)
    np.testing.assert_allclose(scores, want_scores, rtol=1e-5, atol=1e-5)


def test_a_stored_vector_finds_itself_first_with_score_one(store: VectorStore, data) -> None:
    ids, vecs = data
    store.add(ids, vecs)
    scores, got = store.search(vecs[[3, 17]], 1)
    assert got[:, 0].tolist() == [ids[3], ids[17]]
    np.testing.assert_allclose(scores[:, 0], [1.0, 1.0], atol=1e-5)


def test_remove_drops_ids_from_results(store: VectorStore, data) -> None:
    ids, vecs = data
    store.add(ids, vecs)
    store.remove(ids[:10])
    assert len(store) == len(ids) - 10
    _, got = store.search(vecs[:10], 5)
    assert not set(got.ravel().tolist()) & set(ids[:10].tolist())
    _, got = store.search(vecs[10:11], 1)
    assert got[0, 0] == ids[10]


def test_adding_an_existing_id_replaces_its_vector(store: VectorStore, data) -> None:
    ids, vecs = data
    store.add(ids[:2], vecs[:2])
    store.add(ids[:1], vecs[5:6])  # chunk 0 changed
    assert len(store) == 2
    _, got = store.search(vecs[5:6], 2)
    assert got[0, 0] == ids[0]
    scores, got = store.search(vecs[0:1], 2)
    assert scores[0, 0] < 0.999  # the old vector is gone


def test_k_larger_than_size_pads_with_minus_one(store: VectorStore, data) -> None:
    ids, vecs = data
    store.add(ids[:3], vecs[:3])
    scores, got = store.search(vecs[:2], 6)
    assert got.shape == (2, 6)
    assert (got[:, 3:] == -1).all()
    assert sorted(got[0, :3].tolist()) == sorted(ids[:3].tolist())
    assert (scores[:, 3:] == np.float32(PAD_SCORE)).all()


def test_empty_store_returns_only_padding(store: VectorStore) -> None:
    scores, got = store.search(np.eye(DIM, dtype=np.float32)[:2], 3)
    assert got.shape == (2, 3) and (got == -1).all()
    assert len(store) == 0


def test_wrong_dimension_is_rejected(store: VectorStore) -> None:
    with pytest.raises(ValueError, match="dimension"):
        store.add(np.array([1]), np.ones((1, DIM + 1), dtype=np.float32))


def test_save_then_load_gives_identical_results(
    backend: str, store: VectorStore, data, tmp_path: Path
) -> None:
    ids, vecs = data
    store.add(ids, vecs)
    store.remove(ids[-5:])
    queries = _unit(np.random.default_rng(3), 4)
    before = store.search(queries, 7)
    out = tmp_path / "saved"
    store.save(out)
    _close(store)
    loaded = load_vector_store(backend, DIM, out)
    try:
        assert len(loaded) == len(ids) - 5
        after = loaded.search(queries, 7)
        np.testing.assert_array_equal(after[1], before[1])
        np.testing.assert_allclose(after[0], before[0], rtol=1e-6)
    finally:
        _close(loaded)


def test_save_into_own_directory_then_load(backend: str, data, tmp_path: Path) -> None:
    ids, vecs = data
    build = tmp_path / "staging"
    s = make_vector_store(backend, DIM, build)
    s.add(ids, vecs)
    s.save(build)
    _close(s)
    final = tmp_path / "final"
    build.rename(final)  # what the caller's atomic swap does
    loaded = load_vector_store(backend, DIM, final)
    try:
        _, got = loaded.search(vecs[:1], 1)
        assert got[0, 0] == ids[0]
    finally:
        _close(loaded)


def test_make_gives_an_empty_store_even_over_an_old_one(backend: str, data, tmp_path: Path) -> None:
    ids, vecs = data
    s = make_vector_store(backend, DIM, tmp_path / "d")
    s.add(ids, vecs)
    s.save(tmp_path / "d")
    _close(s)
    fresh = make_vector_store(backend, DIM, tmp_path / "d")
    try:
        assert len(fresh) == 0
    finally:
        _close(fresh)


def test_load_with_other_dimension_is_a_mismatch(backend: str, data, tmp_path: Path) -> None:
    ids, vecs = data
    s = make_vector_store(backend, DIM, tmp_path / "d")
    s.add(ids, vecs)
    s.save(tmp_path / "d")
    _close(s)
    with pytest.raises(IndexMismatchError):
        load_vector_store(backend, DIM * 2, tmp_path / "d")


def test_load_from_empty_directory_is_not_found(backend: str, tmp_path: Path) -> None:
    with pytest.raises(NotFoundError):
        load_vector_store(backend, DIM, tmp_path)


def test_unknown_store_name_lists_choices(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as e:
        make_vector_store("annoy", DIM)
    for name in VECTOR_STORES:
        assert name in str(e.value)
    assert "annoy" in str(e.value)
    with pytest.raises(ConfigError, match="faiss"):
        load_vector_store("annoy", DIM, tmp_path)
