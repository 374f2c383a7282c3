"""The lexical side of the index: two BM25 fields over the same chunks (``bm25s``).

* ``text``: normalised tokens of the chunk (jieba words for Chinese, lower-cased words and numbers);
  matches questions in either Chinese script and names/figures in any language.
* ``gloss``: English stems of the chunk: its own English words plus CC-CEDICT glosses of its Chinese
  words; lets an English question match a Chinese passage word by word.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from index.lexicon import Lexicon, english_stems
from index.normalize import normalize, tokenize
from index.storage import writing
from index.types import Chunk

if TYPE_CHECKING:
    from index.segment import SegmentedLexical as ShardedLexical

FIELDS = ("text", "gloss")
PLACEHOLDER = "\x00"  # the one token of a chunk without any: bm25s cannot index an empty list
_HAN_WORD = re.compile(r"^[\u4e00-\u9fff]+$")


def chunk_tokens(chunk: Chunk) -> list[str]:
    return tokenize(chunk.embed_text)


def word_glosses(text: str, lexicon: Lexicon, tokens: Sequence[str] | None = None) -> list[tuple[str, ...]]:
    """English stems for a text, word by word: its English words' stems as the first group, then
    each Chinese word's glosses (an English name must be read from one word's glosses, "Hong Kong"
    from 港股, not gathered across words: ``rag.answer``).

    ``tokens`` is ``tokenize(text)`` when the caller already has it (segmentation is the costly part).
    """
    out = [tuple(english_stems(normalize(text)))]
    out += [
        lexicon.gloss(tok) for tok in (tokenize(text) if tokens is None else tokens) if _HAN_WORD.match(tok)
    ]
    return out


def gloss_tokens(text: str, lexicon: Lexicon, tokens: Sequence[str] | None = None) -> list[str]:
    """English stems for a text: its English words as they are, its Chinese words by their glosses."""
    return [t for group in word_glosses(text, lexicon, tokens) for t in group]


class LexicalIndex:
    """BM25 over the chunks of one index generation, scoring weighted query terms per field."""

    def __init__(self, fields: Mapping[str, object], n: int) -> None:
        self._fields = dict(fields)
        self.n = n
        # each field's score matrix (CSC: a column per term) as plain arrays: slicing a memory map
        # makes a memmap object each time, thousands of them a query at a million chunks
        self._csc = {
            f: tuple(np.asarray(bm.scores[k]) for k in ("data", "indices", "indptr"))  # type: ignore[attr-defined]
            for f, bm in self._fields.items()
        }

    def df(self, field: str, term: str) -> int:
        """How many chunks contain ``term`` (the segmented index rescales IDF with it)."""
        bm = self._fields.get(field)
        if bm is None or term == PLACEHOLDER:
            return 0
        tid = bm.vocab_dict.get(term)  # type: ignore[attr-defined]
        ptr = self._csc[field][2]
        if tid is None or tid + 1 >= len(ptr):  # bm25s keeps an empty token outside its matrix
            return 0
        return int(ptr[tid + 1] - ptr[tid])

    def vocabulary(self, field: str) -> Iterator[str]:
        """The terms of ``field`` that some chunk contains."""
        bm = self._fields.get(field)
        if bm is None:
            return
        ptr = bm.scores["indptr"]  # type: ignore[attr-defined]
        for term, tid in bm.vocab_dict.items():  # type: ignore[attr-defined]
            if tid + 1 < len(ptr) and ptr[tid + 1] > ptr[tid] and term != PLACEHOLDER:
                yield term

    def scores(self, field: str, terms: Mapping[str, float]) -> np.ndarray:
        """BM25 score of every chunk for weighted query terms (weight 1 = an ordinary query term).

        Exact below ``PRUNE_CHUNKS`` chunks. Above, the terms are read rarest first until their
        postings reach ``PRUNE_POSTINGS``; the commoner ones (low IDF: 20-60 of a sentence's words
        over a million chunks are tens of millions of postings) are added only to the ``PRUNE_KEEP``
        chunks the rarer ones score best, so a chunk matching nothing but common words scores less
        than it would. What that costs in recall@10 against exact BM25 is measured at scale by
        ``eval.bench_scale``, as for approximate vector search."""
        out = np.zeros(self.n, dtype=np.float32)
        bm = self._fields.get(field)
        if bm is None or not terms:
            return out
        vocab = bm.vocab_dict  # type: ignore[attr-defined]
        data, indices, indptr = self._csc[field]
        cols: list[tuple[int, int, float]] = []
        for term, w in terms.items():
            tid = vocab.get(term)
            if tid is None or w <= 0 or tid + 1 >= len(indptr):
                continue
            # the term's column of bm25s's score matrix: what ``get_scores([term])`` sums, read
            # without making an array of every chunk per term (a million-chunk shard: 4 MB a term)
            cols.append((int(indptr[tid]), int(indptr[tid + 1]), w))
        common: list[tuple[int, int, float]] = []
        if self.n >= self.PRUNE_CHUNKS:
            cols.sort(key=lambda c: c[1] - c[0])
            read = 0
            for k, (a, b, _) in enumerate(cols):
                read += b - a
                if read > self.PRUNE_POSTINGS and k > 0:
                    cols, common = cols[:k], cols[k:]
                    break
        for a, b, w in cols:
            out[indices[a:b]] += np.float32(w) * data[a:b]
        if common:
            # the best of the chunks the rarer terms reach (they reach few: no need to sort all)
            reached = np.flatnonzero(out)
            keep = min(self.PRUNE_KEEP, len(reached))
            if keep < len(reached):
                reached = reached[np.argpartition(-out[reached], keep - 1)[:keep]]
            best = np.sort(reached)
            for a, b, w in common:
                col = indices[a:b]
                at = np.minimum(np.searchsorted(col, best), b - a - 1)
                found = col[at] == best
                out[best[found]] += np.float32(w) * data[a + at[found]]
        return out

    # above this many chunks (in one shard or segment) the commonest query terms are scored only
    # for the chunks the rarer ones rank best (see ``scores``); below it every score is exact
    PRUNE_CHUNKS = 150_000
    PRUNE_POSTINGS = 100_000
    PRUNE_KEEP = 300


class SparseSearch(Protocol):
    """A database that searches the BM25 fields as sparse vectors (``index.store.MilvusCollection``)."""

    def search_sparse(
        self, field: str, query: Mapping[int, float], k: int, where: str | None = None
    ) -> tuple[np.ndarray, np.ndarray]: ...


class RemoteLexical:
    """BM25 searched in the vector database (``RAG_LEXICAL_BACKEND=milvus``), where a deployment on
    a Milvus cluster keeps it: each field's best ``k`` chunks come from Milvus's sparse search, the
    other chunks score 0 (as with pruning, a chunk outside a field's best ``k`` is not that field's
    candidate). The IDF the query vector carries comes from the local index's document frequencies.
    ``where``: a Milvus filter expression (``index.store.milvus_filter``), applied in Milvus."""

    def __init__(self, local: LexicalIndex | ShardedLexical, remote: SparseSearch, k: int = 1000) -> None:
        self._local = local
        self._remote = remote
        self.k = k
        self.n: int = local.n

    def df(self, field: str, term: str) -> int:
        return self._local.df(field, term)

    def vocabulary(self, field: str) -> Iterator[str]:
        return self._local.vocabulary(field)

    def scores(self, field: str, terms: Mapping[str, float], where: str | None = None) -> np.ndarray:
        out = np.zeros(self.n, dtype=np.float32)
        query = sparse_query(terms, lambda t: self._local.df(field, t), self.n)
        if query:
            ids, sc = self._remote.search_sparse(field, query, min(self.k, self.n), where)
            out[ids] = sc
        return out


class DocumentFrequencies(Mapping[str, int]):
    """How many chunks hold each token of a field, read from the BM25 index (which counts them
    anyway) instead of a dictionary counted over every chunk at start-up."""

    def __init__(self, lexical: LexicalIndex | ShardedLexical, field: str) -> None:
        self._lexical = lexical
        self._field = field

    def __getitem__(self, term: str) -> int:
        n = self._lexical.df(self._field, term)
        if not n:
            raise KeyError(term)
        return n

    def get(self, term: str, default: Any = None) -> Any:
        return self._lexical.df(self._field, term) or default

    def __contains__(self, term: object) -> bool:
        return isinstance(term, str) and self._lexical.df(self._field, term) > 0

    def __iter__(self) -> Iterator[str]:
        return iter(self._lexical.vocabulary(self._field))

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __bool__(self) -> bool:
        return self._lexical.n > 0


K1, B = 1.2, 0.75  # bm25s's defaults (its "lucene" variant), and the sparse vectors' below


def _bm25(corpus: Sequence[list[str]]):  # type: ignore[no-untyped-def]
    import bm25s

    bm = bm25s.BM25(k1=K1, b=B)
    # bm25s cannot index an empty token list; a placeholder token no query can contain keeps ids aligned
    bm.index([toks or [PLACEHOLDER] for toks in corpus], show_progress=False)
    return bm


# Both BM25 fields as sparse vectors, for a vector database that searches them (Milvus): a chunk's
# vector holds each term's BM25 term-frequency part, the query's each term's weight times its IDF, so
# their inner product is the chunk's BM25 score, equal to ``LexicalIndex.scores``. Terms are hashed
# into 31 bits (0 stays free for the marker of a chunk without terms: a sparse vector may not be
# empty); two terms of a vocabulary share a key with a chance of about one in two billion per pair.
NO_TERMS = 0


def term_key(term: str) -> int:
    import hashlib

    return 1 + int.from_bytes(hashlib.blake2b(term.encode(), digest_size=4).digest(), "big") % (2**31 - 1)


def sparse_documents(token_lists: Sequence[Sequence[str]], avgdl: float) -> list[dict[int, float]]:
    """Each chunk's BM25 term-frequency parts (Lucene's: ``tf / (tf + k1 (1 - b + b dl / avgdl))``),
    ``avgdl`` the mean token count over the whole index (a chunk without tokens counts one, as
    bm25s's placeholder does)."""
    from collections import Counter

    out: list[dict[int, float]] = []
    for toks in token_lists:
        norm = K1 * ((1 - B) + B * max(len(toks), 1) / avgdl)
        weights: dict[int, float] = {}
        for t, tf in Counter(toks).items():
            key = term_key(t)
            weights[key] = weights.get(key, 0.0) + tf / (tf + norm)
        out.append(weights or {NO_TERMS: 1.0})
    return out


def sparse_query(terms: Mapping[str, float], df: Callable[[str], int], n: int) -> dict[int, float]:
    """The query's sparse vector: each term's weight times its IDF over ``n`` chunks (bm25s's)."""
    import math

    out: dict[int, float] = {}
    for t, w in terms.items():
        d = df(t)
        if w > 0 and d > 0:
            key = term_key(t)
            out[key] = out.get(key, 0.0) + w * math.log(1.0 + (n - d + 0.5) / (d + 0.5))
    return out


def build_lexical(tokens: Sequence[list[str]], gloss: Sequence[list[str]]) -> LexicalIndex:
    if not tokens:
        return LexicalIndex({}, 0)
    return LexicalIndex({"text": _bm25(tokens), "gloss": _bm25(gloss)}, len(tokens))


# bm25s holds every token of the chunks it indexes as a Python int while indexing: a million chunks
# would need more memory than a 24 GiB machine has. Above SHARD_CHUNKS, consecutive shards are
# indexed and saved apart and read as one index with the whole index's IDF (index.segment).
SHARD_CHUNKS = 200_000


def save_lexical(
    directory: Path, tokens: Sequence[list[str]], gloss: Sequence[list[str]], shard: int = SHARD_CHUNKS
) -> None:
    save_lexical_parts(directory, len(tokens), lambda a, b: (tokens[a:b], gloss[a:b]), shard)


def save_lexical_parts(
    directory: Path,
    n: int,
    read: Callable[[int, int], tuple[Sequence[list[str]], Sequence[list[str]]]],
    shard: int = SHARD_CHUNKS,
) -> None:
    """Both BM25 fields of ``n`` chunks, ``read(start, stop)`` giving the token lists of a range:
    one shard's tokens are in memory at a time."""
    directory.mkdir(parents=True, exist_ok=True)
    sizes = [min(shard, n - at) for at in range(0, n, shard)] if n > shard else []
    if sizes:
        at = 0
        for k, size in enumerate(sizes):
            _save_fields(directory / f"shard-{k:03d}", *read(at, at + size))
            at += size
    elif n:
        _save_fields(directory, *read(0, n))
    meta: dict[str, object] = {"n": n} | ({"shards": sizes} if sizes else {})
    (directory / "meta.json").write_text(json.dumps(meta), encoding="utf-8")


def _save_fields(directory: Path, tokens: Sequence[list[str]], gloss: Sequence[list[str]]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    idx = build_lexical(tokens, gloss)
    for name, bm in idx._fields.items():
        with writing(directory / name):  # numpy's failed writes name no file
            bm.save(str(directory / name), show_progress=False)  # type: ignore[attr-defined]


def load_lexical(directory: Path) -> LexicalIndex | ShardedLexical:
    """The BM25 indexes, memory-mapped: a query reads the columns of its own terms, so a large index
    costs page cache, not resident memory, and starts at once."""
    meta = json.loads((directory / "meta.json").read_text(encoding="utf-8"))
    n = int(meta["n"])
    if n == 0:
        return LexicalIndex({}, 0)
    if meta.get("shards"):
        from index.segment import SegmentedLexical

        parts = [_load_fields(directory / f"shard-{k:03d}", int(m)) for k, m in enumerate(meta["shards"])]
        return SegmentedLexical(parts, None)
    return _load_fields(directory, n)


def _load_fields(directory: Path, n: int) -> LexicalIndex:
    import bm25s

    fields = {f: bm25s.BM25.load(str(directory / f), mmap=True, show_progress=False) for f in FIELDS}
    return LexicalIndex(fields, n)
