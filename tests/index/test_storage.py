"""A read-only or full disk: a StorageError naming the path, nothing half-written left, the previous
generation live."""

from __future__ import annotations

import errno
import os
import pickle
from pathlib import Path

import pytest

import index.build as build_mod
import index.storage as storage_mod
from index.build import Source, build_index, current_generation
from index.cache import EmbeddingCache
from index.errors import StorageError, StorageFullError
from index.lexicon import Lexicon
from index.snapshot import load_snapshot
from index.storage import atomic_file, storage_error
from tests.index.test_build import DOC_A, DOC_B


@pytest.fixture(scope="module")
def lexicon(tmp_path_factory: pytest.TempPathFactory) -> Lexicon:
    return Lexicon.load(tmp_path_factory.mktemp("lexcache"))


# enough distinct chunks that their vectors need new pages in the embedding cache
MANY = "".join(
    f"# Note {i}\n\nRevenue of unit {i} grew {i}% to ${i}.{i} billion in {2000 + i}.\n\n" for i in range(60)
)


def leftovers(root: Path) -> list[Path]:
    """Temporaries and staging directories anywhere below ``root``."""
    return sorted([*root.rglob("*.tmp"), *root.rglob(".staging-*")])


def fail_lexical_write(err: int):  # type: ignore[no-untyped-def]
    """A ``save_lexical_parts`` that writes part of its first file, then meets ``err``."""

    def save(directory: Path, *args: object) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        with (directory / "text.npz").open("wb") as f:
            f.write(b"\0" * 65536)
        raise OSError(err, os.strerror(err), str(directory / "text.npz"))

    return save


@pytest.fixture
def built(tmp_path: Path, fake_embedder, lexicon) -> Path:  # type: ignore[no-untyped-def]
    build_index(tmp_path / "idx", fake_embedder, upsert=[Source("a.txt", DOC_A)], lexicon=lexicon)
    return tmp_path / "idx"


def _still_live(index_dir: Path, before: Path | None, emb) -> None:  # type: ignore[no-untyped-def]
    assert current_generation(index_dir) == before
    assert set(load_snapshot(index_dir, emb.model_id, emb.dim).documents) == {"a.txt"}
    assert leftovers(index_dir.parent) == []
    assert [p.name for p in index_dir.glob("gen-*")] == [before.name if before else ""]


@pytest.mark.parametrize(
    ("err", "cls", "says"),
    [
        (errno.ENOSPC, StorageFullError, "no space left to write"),
        (errno.EDQUOT, StorageFullError, "no space left to write"),
        (errno.EROFS, StorageError, "read-only or not writable"),
        (errno.EACCES, StorageError, "read-only or not writable"),
    ],
)
def test_a_failed_write_mid_build_is_a_storage_error_and_changes_nothing(
    built: Path, fake_embedder, lexicon, monkeypatch, err, cls, says
) -> None:
    before = current_generation(built)
    monkeypatch.setattr(build_mod, "save_lexical_parts", fail_lexical_write(err))
    with pytest.raises(StorageError) as info:
        build_index(built, fake_embedder, upsert=[Source("b.md", DOC_B)], lexicon=lexicon)
    assert type(info.value) is cls
    msg = str(info.value)
    assert says in msg and "text.npz" in msg and "the index was left as it was" in msg
    _still_live(built, before, fake_embedder)


def test_a_full_disk_while_switching_generations_leaves_no_generation_behind(
    built: Path, fake_embedder, lexicon, monkeypatch
) -> None:
    before = current_generation(built)

    def full(path: Path, data: str, **kw: object) -> None:
        with atomic_file(path) as f:
            f.write(data.encode()[:2])
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(build_mod, "write_atomic", full)
    with pytest.raises(StorageFullError, match="CURRENT"):
        build_index(built, fake_embedder, upsert=[Source("b.md", DOC_B)], lexicon=lexicon)
    _still_live(built, before, fake_embedder)
    monkeypatch.undo()
    rep = build_index(built, fake_embedder, upsert=[Source("b.md", DOC_B)], lexicon=lexicon)
    assert rep.added == ["b.md"]  # once there is space, the same build succeeds


def test_a_full_embedding_cache_is_a_storage_error_naming_it(built: Path, fake_embedder, lexicon) -> None:
    before = current_generation(built)
    cache = EmbeddingCache(
        built.parent / "cache" / "embeddings.sqlite", fake_embedder.model_id, fake_embedder.dim
    )
    # SQLite's own "database or disk is full": no page may be added to the file
    pages = cache._db.execute("PRAGMA page_count").fetchone()[0]
    cache._db.execute(f"PRAGMA max_page_count={pages}")
    with pytest.raises(StorageFullError, match="embeddings.sqlite"):
        build_index(built, fake_embedder, upsert=[Source("many.md", MANY)], cache=cache, lexicon=lexicon)
    cache.close()
    _still_live(built, before, fake_embedder)


def test_a_read_only_index_directory(built: Path, fake_embedder, lexicon, monkeypatch) -> None:
    before = current_generation(built)

    real_open = Path.open

    def read_only(self: Path, mode: str = "r", *a: object, **k: object) -> object:
        if any(c in mode for c in "wax+"):
            raise OSError(errno.EROFS, "Read-only file system", str(self))
        return real_open(self, mode, *a, **k)  # type: ignore[call-overload]

    # the first write of any build: its lock file
    monkeypatch.setattr(Path, "open", read_only)
    with pytest.raises(StorageError, match=r"cannot write .*\.lock \(Read-only file system\)"):
        build_index(built, fake_embedder, upsert=[Source("b.md", DOC_B)], lexicon=lexicon)
    monkeypatch.undo()
    _still_live(built, before, fake_embedder)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through any permission bits")
def test_a_chmod_read_only_index_directory(built: Path, fake_embedder, lexicon) -> None:
    before = current_generation(built)
    modes = {p: p.stat().st_mode for p in [built, *built.rglob("*")]}
    for p in modes:
        p.chmod(p.stat().st_mode & ~0o222)
    try:
        with pytest.raises(StorageError, match="read-only or not writable"):
            build_index(built, fake_embedder, upsert=[Source("b.md", DOC_B)], lexicon=lexicon)
    finally:
        for p, mode in modes.items():
            p.chmod(mode)
    _still_live(built, before, fake_embedder)


class _Full:
    """Pickled after the lexicon's bulk: the disk fills up with most of the file written."""

    def __reduce__(self):  # type: ignore[no-untyped-def]
        raise OSError(errno.ENOSPC, "No space left on device")


class _SmallLexicon(Lexicon):
    def __init__(self) -> None:  # the real dictionary takes seconds to build; its size does not matter
        self.bulk = os.urandom(2 * 1024 * 1024)
        self.tail = _Full()


def test_a_lexicon_that_cannot_be_cached_leaves_no_partial_pickle(tmp_path: Path, caplog) -> None:  # type: ignore[no-untyped-def]
    with caplog.at_level("WARNING", "index.lexicon"):
        lex = _SmallLexicon.load(tmp_path)
    assert isinstance(lex, _SmallLexicon)  # only the cache is lost
    assert list(tmp_path.iterdir()) == []
    assert "the lexicon was not cached: no space left to write" in caplog.text


def test_atomic_file_keeps_the_old_file_until_the_new_one_is_complete(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text("old", encoding="utf-8")
    with pytest.raises(StorageFullError), atomic_file(path) as f:
        f.write(b"new, half")
        raise OSError(errno.ENOSPC, "No space left on device")
    assert path.read_text(encoding="utf-8") == "old" and leftovers(tmp_path) == []
    storage_mod.write_atomic(path, "new", mode=0o600)
    assert path.read_text(encoding="utf-8") == "new" and oct(path.stat().st_mode & 0o777) == "0o600"
    with pytest.raises(FileExistsError):
        storage_mod.write_atomic(path, "other", exclusive=True)
    assert path.read_text(encoding="utf-8") == "new" and leftovers(tmp_path) == []


def test_other_failures_pass_through_unchanged() -> None:
    assert storage_error(OSError(errno.EIO, "Input/output error"), "/x") is None
    assert storage_error(ValueError("bad"), "/x") is None
    assert storage_error(pickle.PicklingError("bad"), "/x") is None


def test_a_short_write_without_errno_is_a_full_disk() -> None:
    # numpy's tofile(), which the BM25 indexes are saved with, reports ENOSPC only so
    err = storage_error(OSError("7288 requested and 3056 written"), "/data/lexical/gloss")
    assert isinstance(err, StorageFullError) and "/data/lexical/gloss" in str(err)
    assert storage_error(OSError("something else"), "/data") is None
