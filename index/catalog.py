"""The catalog of a generation's live documents: content hash, size, chunks, articles, the segment
holding them and how they arrived.

It is part of the manifest in all but format: a SQLite file beside ``manifest.json``, because an
archive lists tens of thousands of documents and an upload must not parse and rewrite all of them.
A new generation copies the previous catalog file (a file copy, not a parse) and applies its own
changes. Generations written before the catalog existed list their documents in ``manifest.json``
(``"documents"``); they are read the same way.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from index.storage import read_only_uri, writing

CATALOG = "catalog.sqlite"
_COLS = ("sha256", "chars", "chunks", "articles", "segment", "origin")


class Catalog(Mapping[str, dict[str, Any]]):
    """Read-only: document name -> ``{"sha256", "chars", "chunks", "articles", "segment", "origin"?}``."""

    def __init__(self, path: Path | None, legacy: Mapping[str, dict[str, Any]] | None = None) -> None:
        self.path = path
        self._legacy = dict(legacy or {})
        self._db: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        if path is not None:
            self._db = sqlite3.connect(read_only_uri(path), uri=True, check_same_thread=False)

    @classmethod
    def of(cls, gen: Path, manifest: Mapping[str, Any]) -> Catalog:
        """The catalog of generation directory ``gen`` (its manifest already read)."""
        if (gen / CATALOG).is_file():
            return cls(gen / CATALOG)
        docs = {d: dict(m) for d, m in manifest.get("documents", {}).items()}
        for m in docs.values():
            m.setdefault("segment", gen.name)
        return cls(None, docs)

    def _rows(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        assert self._db is not None
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    def __getitem__(self, doc: str) -> dict[str, Any]:
        if self._db is None:
            return self._legacy[doc]
        rows = self._rows(f"SELECT {', '.join(_COLS)} FROM docs WHERE doc = ?", (doc,))
        if not rows:
            raise KeyError(doc)
        return _entry(rows[0])

    def __contains__(self, doc: object) -> bool:
        if self._db is None:
            return doc in self._legacy
        return bool(self._rows("SELECT 1 FROM docs WHERE doc = ?", (doc,)))

    def __iter__(self) -> Iterator[str]:
        if self._db is None:
            return iter(list(self._legacy))
        return iter([r[0] for r in self._rows("SELECT doc FROM docs ORDER BY doc")])

    def __len__(self) -> int:
        if self._db is None:
            return len(self._legacy)
        return int(self._rows("SELECT COUNT(*) FROM docs")[0][0])

    def totals(self) -> tuple[int, int]:
        """Chunks and articles of every live document."""
        if self._db is None:
            return (
                sum(int(m.get("chunks", 0)) for m in self._legacy.values()),
                sum(int(m.get("articles", 0)) for m in self._legacy.values()),
            )
        chunks, articles = self._rows(
            "SELECT COALESCE(SUM(chunks), 0), COALESCE(SUM(articles), 0) FROM docs"
        )[0]
        return int(chunks), int(articles)

    def origins(self) -> dict[str, dict[str, str]]:
        """How each document that says so arrived."""
        if self._db is None:
            return {d: m["origin"] for d, m in self._legacy.items() if m.get("origin")}
        return {
            d: json.loads(o) for d, o in self._rows("SELECT doc, origin FROM docs WHERE origin IS NOT NULL")
        }

    def close(self) -> None:
        if self._db is not None:
            with self._lock:
                self._db.close()


def _entry(row: tuple[Any, ...]) -> dict[str, Any]:
    sha, chars, chunks, articles, segment, origin = row
    out: dict[str, Any] = {
        "sha256": sha,
        "chars": chars,
        "chunks": chunks,
        "articles": articles,
        "segment": segment,
    }
    if origin:
        out["origin"] = json.loads(origin)
    return out


_SCHEMA = """
CREATE TABLE docs (doc TEXT PRIMARY KEY, sha256 TEXT NOT NULL, chars INTEGER NOT NULL, chunks INTEGER NOT NULL,
                   articles INTEGER NOT NULL, segment TEXT NOT NULL, origin TEXT);
CREATE INDEX docs_segment ON docs(segment);
"""


def write_catalog(
    path: Path,
    add: Iterable[tuple[str, Mapping[str, Any]]],
    base: Catalog | None = None,
    remove: Iterable[str] = (),
) -> int:
    """Write the catalog at ``path``: ``base``'s documents (its file copied) without ``remove``, plus
    ``add`` (replacing any of the same name). Returns how many documents it lists."""
    with writing(path):
        if base is not None and base.path is not None:
            shutil.copyfile(base.path, path)
            db = sqlite3.connect(str(path))
        else:
            db = sqlite3.connect(str(path))
            db.executescript(_SCHEMA)
            if base is not None:  # a generation written before catalogs: its manifest's list
                db.executemany("INSERT INTO docs VALUES (?,?,?,?,?,?,?)", [_row(d, base[d]) for d in base])
        try:
            db.executemany("DELETE FROM docs WHERE doc = ?", [(d,) for d in remove])
            db.executemany("INSERT OR REPLACE INTO docs VALUES (?,?,?,?,?,?,?)", [_row(d, m) for d, m in add])
            db.commit()
            return int(db.execute("SELECT COUNT(*) FROM docs").fetchone()[0])
        finally:
            db.close()


def _row(doc: str, m: Mapping[str, Any]) -> tuple[Any, ...]:
    origin = m.get("origin")
    return (
        doc,
        m["sha256"],
        int(m.get("chars", 0)),
        int(m.get("chunks", 0)),
        int(m.get("articles", 0)),
        str(m["segment"]),
        json.dumps(origin, ensure_ascii=False) if origin else None,
    )
