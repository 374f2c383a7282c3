"""The faiss store above its IVF threshold: chosen by size, close to exact, removable, persistent, and
refused when its file does not match the manifest's record."""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np
import pytest

from index.ann import ivf_nlist, recall_at_k
from index.build import Source, build_index, current_generation, read_manifest
from index.errors import ConfigError, IndexMismatchError
from index.lexicon import Lexicon
from index.snapshot import load_snapshot
from index.store import FaissStore, load_vector_store, make_vector_store, vector_index

DIM = 32
N = 4000
THRESHOLD = 1000


@pytest.fixture(autouse=True)
def one_thread() -> None:
    faiss.omp_set_num_threads(1)  # results must not depend on the machine's cores


def _unit(m: np.ndarray) -> np.ndarray:
    return (m / np.linalg.norm(m, axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture(scope="module")
def clustered() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ids, vectors in 60 clusters of uneven spread (like topics), and queries near stored vectors."""
    rng = np.random.default_rng(11)
    centres = _unit(rng.standard_normal((60, DIM)))
    which = rng.integers(0, len(centres), N)
    spread = rng.uniform(0.15, 0.4, len(centres))[which, None]
    vecs = _unit(centres[which] + spread * rng.standard_normal((N, DIM)) / np.sqrt(DIM) * 3)
    ids = np.arange(N, dtype=np.int64) * 7 + 5
    queries = _unit(vecs[rng.choice(N, 150, replace=False)] + 0.1 * rng.standard_normal((150, DIM)))
    return ids, vecs, queries


def _exact(ids: np.ndarray, vecs: np.ndarray, q: np.ndarray, k: int) -> np.ndarray:
    return ids[np.argsort(-(q @ vecs.T), axis=1, kind="stable")[:, :k]]


def _ivf(ids: np.ndarray, vecs: np.ndarray) -> FaissStore:
    s = FaissStore(DIM, ivf_threshold=THRESHOLD)
    s.add(ids, vecs)
    return s


def test_below_the_threshold_the_store_stays_exact(clustered) -> None:
    ids, vecs, q = clustered
    s = FaissStore(DIM, ivf_threshold=THRESHOLD)
    s.add(ids[: THRESHOLD - 1], vecs[: THRESHOLD - 1])
    assert vector_index(s) == {"kind": "flat"}
    _, got = s.search(q, 10)
    np.testing.assert_array_equal(got, _exact(ids[: THRESHOLD - 1], vecs[: THRESHOLD - 1], q, 10))


def test_reaching_the_threshold_switches_to_ivf_keeping_every_vector(clustered) -> None:
    ids, vecs, _ = clustered
    s = FaissStore(DIM, ivf_threshold=THRESHOLD)
    s.add(ids[:600], vecs[:600])
    s.add(ids[600:], vecs[600:])  # crosses the threshold: the 600 already held move into the IVF
    info = vector_index(s)
    assert info["kind"] == "ivf" and info["nlist"] == ivf_nlist(N) and 1 <= info["nprobe"] <= info["nlist"]
    assert len(s) == N
    _, got = s.search(vecs[[0, 599, 600, N - 1]], 1)
    assert got[:, 0].tolist() == ids[[0, 599, 600, N - 1]].tolist()


def test_ivf_results_agree_with_exact_search(clustered) -> None:
    ids, vecs, q = clustered
    s = _ivf(ids, vecs)
    _, got = s.search(q, 10)
    assert recall_at_k(got, _exact(ids, vecs, q, 10)) >= 0.95
    assert vector_index(s)["calibrated_recall_at_10"] >= FaissStore.TARGET_RECALL


def test_asking_for_every_vector_is_exact_on_ivf(clustered) -> None:
    ids, vecs, q = clustered
    s = FaissStore(DIM, ivf_threshold=THRESHOLD, nprobe=1)  # one list alone would miss many
    s.add(ids, vecs)
    scores, got = s.search(q[:3], N)
    np.testing.assert_array_equal(got[:, :20], _exact(ids, vecs, q[:3], 20))
    assert (got >= 0).all()


def test_remove_and_upsert_work_on_ivf(clustered) -> None:
    ids, vecs, _ = clustered
    s = _ivf(ids, vecs)
    s.remove(ids[:50])
    assert len(s) == N - 50
    _, got = s.search(vecs[:50], 10)
    assert not set(got.ravel().tolist()) & set(ids[:50].tolist())
    s.add(ids[60:61], vecs[70:71])  # chunk 60 changed to what chunk 70 says
    assert len(s) == N - 50
    _, got = s.search(vecs[70:71], 2)
    assert set(got[0].tolist()) == {ids[60], ids[70]}


def test_ivf_save_then_load_gives_identical_results(clustered, tmp_path: Path) -> None:
    ids, vecs, q = clustered
    s = _ivf(ids, vecs)
    s.remove(ids[-5:])
    before = s.search(q, 10)
    s.save(tmp_path)
    loaded = load_vector_store("faiss", DIM, tmp_path, vector_index(s))
    assert {k: vector_index(loaded)[k] for k in ("kind", "nlist", "nprobe")} == {
        k: vector_index(s)[k] for k in ("kind", "nlist", "nprobe")
    }
    after = loaded.search(q, 10)
    assert len(loaded) == N - 5
    np.testing.assert_array_equal(after[1], before[1])
    np.testing.assert_allclose(after[0], before[0], rtol=1e-6)


def test_a_file_of_another_kind_than_recorded_is_refused(clustered, tmp_path: Path) -> None:
    ids, vecs, _ = clustered
    _ivf(ids, vecs).save(tmp_path / "ivf")
    flat = FaissStore(DIM, ivf_threshold=None)
    flat.add(ids, vecs)
    flat.save(tmp_path / "flat")
    with pytest.raises(IndexMismatchError, match=r"'ivf'.*manifest.*'flat'"):
        load_vector_store("faiss", DIM, tmp_path / "ivf", {"kind": "flat"})
    with pytest.raises(IndexMismatchError, match=r"'flat'.*'ivf'"):
        load_vector_store("faiss", DIM, tmp_path / "flat", {"kind": "ivf", "nlist": 100, "nprobe": 8})
    with pytest.raises(IndexMismatchError, match="nlist"):
        load_vector_store("faiss", DIM, tmp_path / "ivf", {"kind": "ivf", "nlist": 3, "nprobe": 1})


def test_options_a_store_does_not_take_are_a_config_error() -> None:
    with pytest.raises(ConfigError, match="ivf_threshld"):
        make_vector_store("faiss", DIM, None, {"ivf_threshld": 10})
    with pytest.raises(ConfigError, match="ivf_threshold"):
        FaissStore(DIM, ivf_threshold=0)


def test_recall_at_k_ignores_padding() -> None:
    assert recall_at_k(np.array([[1, 2, -1]]), np.array([[2, 3, -1]])) == 0.5
    assert recall_at_k(np.array([[-1]]), np.array([[-1]])) == 1.0


def test_nlist_follows_four_root_n_when_there_are_enough_rows() -> None:
    assert ivf_nlist(1_000_000) == 4000
    assert ivf_nlist(200_000) == 1789
    assert ivf_nlist(100) == 2  # never fewer than 40 training rows per list


# --- through a build: recorded in the manifest, checked when the snapshot loads


def _docs() -> list[Source]:
    topics = ["融资 公司 人民币", "revenue growth billion", "芯片 出口 管制", "rainfall river flood"]
    return [
        Source(f"d{i}.txt", "\n\n".join(f"{topics[i % 4]} paragraph {i}-{j} 第{j}段。" for j in range(6)))
        for i in range(8)
    ]


@pytest.fixture(scope="module")
def lexicon(tmp_path_factory: pytest.TempPathFactory) -> Lexicon:
    return Lexicon.load(tmp_path_factory.mktemp("lexcache"))


def test_a_build_above_the_threshold_records_ivf_and_loads_it(tmp_path: Path, fake_embedder, lexicon) -> None:
    rep = build_index(
        tmp_path, fake_embedder, upsert=_docs(), lexicon=lexicon, vector_options={"ivf_threshold": 4}
    )
    manifest = read_manifest(current_generation(tmp_path))  # type: ignore[arg-type]
    assert manifest["vector_index"]["kind"] == "ivf" and rep.chunks >= 4
    snap = load_snapshot(tmp_path, fake_embedder.model_id, fake_embedder.dim)
    assert vector_index(snap.store)["nprobe"] == manifest["vector_index"]["nprobe"]
    assert len(snap.store) == rep.chunks


def test_a_build_below_the_threshold_records_flat(tmp_path: Path, fake_embedder, lexicon) -> None:
    build_index(tmp_path, fake_embedder, upsert=_docs()[:2], lexicon=lexicon)
    manifest = read_manifest(current_generation(tmp_path))  # type: ignore[arg-type]
    assert manifest["vector_index"] == {"kind": "flat"}


def test_a_snapshot_whose_vectors_file_is_of_another_kind_is_refused(
    tmp_path: Path, fake_embedder, lexicon
) -> None:
    build_index(tmp_path, fake_embedder, upsert=_docs(), lexicon=lexicon, vector_options={"ivf_threshold": 4})
    gen = current_generation(tmp_path)
    assert gen is not None
    flat = FaissStore(fake_embedder.dim, ivf_threshold=None)
    flat.add(np.arange(3), fake_embedder.encode_documents(["a", "b", "c"]))
    flat.save(gen / "vectors")  # a flat file where the manifest records IVF
    with pytest.raises(IndexMismatchError, match="different builds"):
        load_snapshot(tmp_path, fake_embedder.model_id, fake_embedder.dim)


def test_vectors_of_two_parts_get_an_nprobe_that_serves_each_part_alone(clustered) -> None:
    ids, vecs, q = clustered
    half = DIM // 2
    s = FaissStore(DIM, ivf_threshold=THRESHOLD, parts=(half, DIM - half))
    s.add(ids, vecs)
    whole = FaissStore(DIM, ivf_threshold=THRESHOLD)
    whole.add(ids, vecs)
    assert vector_index(s)["nprobe"] >= vector_index(whole)["nprobe"]
    for part in (slice(0, half), slice(half, DIM)):
        qp = np.zeros_like(q)
        qp[:, part] = q[:, part]  # what retrieval sends for one part of a paired embedder
        _, got = s.search(qp, 10)
        assert recall_at_k(got, _exact(ids, vecs, qp, 10)) >= 0.95
    with pytest.raises(ConfigError, match="add up"):
        FaissStore(DIM, parts=(3, 4))
