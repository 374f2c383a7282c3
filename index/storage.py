"""Writes to the data directory that fail cleanly.

A read-only volume or a full disk is the operator's to fix, so it must reach them as one sentence that
names the path (a 503 or 507 from the service, one line from ``rag``), not as a traceback or a 500, and
it must leave nothing half-written behind. ``writing(path)`` turns the operating system's and SQLite's
"read-only", "permission denied" and "no space" into a ``StorageError`` naming the path (any other
failure passes through unchanged); ``atomic_file`` writes a file through a temporary beside it that is
renamed into place when complete and removed when anything fails.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from index.errors import StorageError, StorageFullError

READ_ONLY_ERRNOS = frozenset({errno.EROFS, errno.EACCES, errno.EPERM})
FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
_SQLITE_READ_ONLY = frozenset({sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PERM})
_SQLITE_FULL = frozenset({sqlite3.SQLITE_FULL})
TEMP_SUFFIX = ".tmp"
_SHORT_WRITE = re.compile(r"\d+ requested and \d+ written")


def storage_error(exc: BaseException, path: Path | str, note: str = "") -> StorageError | None:
    """The ``StorageError`` that ``exc`` stands for, or None when it is some other failure."""
    if isinstance(exc, StorageError):
        return exc
    full = read_only = False
    where: object = path
    reason = str(exc)
    if isinstance(exc, OSError):
        # numpy's tofile() (bm25s saves with it) reports a full disk as a short write, without errno
        short_write = exc.errno is None and bool(_SHORT_WRITE.fullmatch(str(exc)))
        full, read_only = exc.errno in FULL_ERRNOS or short_write, exc.errno in READ_ONLY_ERRNOS
        where = os.fsdecode(exc.filename) if exc.filename else path
        reason = exc.strerror or reason
    elif isinstance(exc, sqlite3.Error):
        code = getattr(exc, "sqlite_errorcode", None)
        primary = code & 0xFF if isinstance(code, int) else None
        full, read_only = primary in _SQLITE_FULL, primary in _SQLITE_READ_ONLY
    tail = f"; {note}" if note else ""
    if full:
        return StorageFullError(
            f"no space left to write {where} ({reason}): free some space or set RAG_DATA_DIR to "
            f"another disk{tail}"
        )
    if read_only:
        return StorageError(
            f"cannot write {where} ({reason}): the data directory is read-only or not writable by this "
            f"user; make it writable or set RAG_DATA_DIR to one that is{tail}"
        )
    return None


@contextmanager
def writing(path: Path | str, note: str = "") -> Iterator[None]:
    """Raise a read-only or full disk met inside the block as a ``StorageError`` naming the path
    (the failing file's own name when the OS reports it); ``note`` is appended to the message."""
    try:
        yield
    except StorageError as e:
        if not note or str(e).endswith(note):
            raise
        raise type(e)(f"{e}; {note}") from e  # met in a nested block that named its own file
    except (OSError, sqlite3.Error) as e:
        err = storage_error(e, path, note)
        if err is None:
            raise
        raise err from e


@contextmanager
def atomic_file(
    path: Path, *, mode: int = 0o666, fsync: bool = False, exclusive: bool = False
) -> Iterator[BinaryIO]:
    """A binary file that appears at ``path`` complete or not at all.

    It is written as a temporary in the same directory (so the rename cannot cross file systems) and
    removed whatever goes wrong, so a full disk leaves no partial file behind. ``mode`` is applied at
    creation (a secret is never readable by others, not even for a moment); ``exclusive`` refuses to
    replace an existing file (``FileExistsError``), for files two processes might create at once.
    """
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}{TEMP_SUFFIX}")
    try:
        with writing(path):
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
            with os.fdopen(fd, "wb") as f:
                yield f
                f.flush()
                if fsync:
                    os.fsync(f.fileno())
            if exclusive:
                os.link(tmp, path)
            else:
                os.replace(tmp, path)
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)


def write_atomic(
    path: Path, data: bytes | str, *, mode: int = 0o666, fsync: bool = False, exclusive: bool = False
) -> None:
    """``data`` (UTF-8 when text) written to ``path`` through ``atomic_file``."""
    with atomic_file(path, mode=mode, fsync=fsync, exclusive=exclusive) as f:
        f.write(data.encode("utf-8") if isinstance(data, str) else data)


def read_only_uri(path: Path) -> str:
    """A SQLite URI opening ``path`` read-only (percent-encoded: a name with '?' or '#' stays a name)."""
    return Path(path).resolve().as_uri() + "?mode=ro"
