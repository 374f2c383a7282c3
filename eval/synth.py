"""A synthetic corpus of any size from real sentences, with vectors that keep real neighbourhoods.

Embedding a million chunks would take days on this machine, and the scale benchmark measures the
indexes, not the model. So only a sample of real sentences is embedded; every synthetic chunk starts
with one sample sentence and takes its vector from that sentence's: the sample vector plus a small
Gaussian perturbation, renormalised. Chunks of one sample sentence form a tight cloud where that
sentence's vector is, the clouds sit where the model put the sentences, and so the neighbourhoods an
ANN index has to find are the model's own, just more crowded. The text of a chunk (that sentence
followed by random others, up to a chunk's length) feeds the BM25 indexes with real vocabulary in
both languages; tokens are computed once per sentence and concatenated, not once per chunk.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index.lexical import gloss_tokens
from index.lexicon import Lexicon
from index.normalize import tokenize

_SENTENCE_END = re.compile(r"(?<=[。！？；!?])|(?<=[.!?;])\s+|\n+")
MIN_CHARS, MAX_CHARS = 12, 400
CHUNK_CHARS = 280  # about what the chunker's 200 e5 tokens hold in Chinese text


def read_sentences(paths: Sequence[Path]) -> list[str]:
    """Distinct sentences of the .txt/.md files under ``paths``, in a stable order."""
    seen: dict[str, None] = {}
    for root in paths:
        files = sorted(root.rglob("*")) if root.is_dir() else [root]
        for f in files:
            if not f.is_file() or f.suffix.lower() not in (".txt", ".md"):
                continue
            for s in _SENTENCE_END.split(f.read_text(encoding="utf-8", errors="replace")):
                s = s.strip().lstrip("-#* ").strip()
                if MIN_CHARS <= len(s) <= MAX_CHARS:
                    seen.setdefault(s, None)
    return list(seen)


@dataclass
class TokenisedSentences:
    """Each sentence's BM25 tokens for both lexical fields (see ``index.lexical``)."""

    text: list[str]
    tokens: list[list[str]]
    gloss: list[list[str]]

    @classmethod
    def of(cls, sentences: Sequence[str], lexicon: Lexicon) -> TokenisedSentences:
        toks = [tokenize(s) for s in sentences]
        return cls(
            list(sentences), toks, [gloss_tokens(s, lexicon, t) for s, t in zip(sentences, toks, strict=True)]
        )


@dataclass
class Chunks:
    """``n`` synthetic chunks: which sample sentence each starts with, and its sentences."""

    base: np.ndarray  # (n,) index into the embedded sample: whose vector the chunk's is near
    sentences: list[list[int]]  # indices into the sentence pool, base sentence first

    def tokens(self, pool: TokenisedSentences) -> tuple[list[list[str]], list[list[str]]]:
        text = [[t for i in sent for t in pool.tokens[i]] for sent in self.sentences]
        gloss = [[t for i in sent for t in pool.gloss[i]] for sent in self.sentences]
        return text, gloss

    def texts(self, pool: TokenisedSentences) -> list[str]:
        return ["".join(pool.text[i] for i in sent) for sent in self.sentences]


def make_chunks(n: int, sample: Sequence[int], pool: TokenisedSentences, seed: int) -> Chunks:
    """``n`` chunks: chunk i starts with sample sentence ``sample[i % len(sample)]`` (so every sample
    vector gets n/len(sample) neighbours), then random pool sentences until ``CHUNK_CHARS``."""
    rng = np.random.default_rng(seed)
    base = np.arange(n) % len(sample)
    rng.shuffle(base)
    lengths = np.fromiter((len(t) for t in pool.text), dtype=np.int64, count=len(pool.text))
    fill = rng.integers(0, len(pool.text), size=(n, 12))
    sentences: list[list[int]] = []
    for i in range(n):
        first = int(sample[base[i]])
        sent, chars = [first], int(lengths[first])
        for j in fill[i]:
            if chars >= CHUNK_CHARS:
                break
            sent.append(int(j))
            chars += int(lengths[j])
        sentences.append(sent)
    return Chunks(base, sentences)


def noise_scale(sample_vectors: np.ndarray, fraction: float) -> float:
    """Per-dimension sigma whose perturbation has a length of ``fraction`` of the median distance
    from a sample vector to its nearest other sample vector: small against the gaps between the
    model's sentences, so a perturbed copy stays nearest to its own sentence's neighbours."""
    sims = sample_vectors @ sample_vectors.T
    np.fill_diagonal(sims, -np.inf)
    nearest = np.sqrt(np.maximum(0.0, 2.0 - 2.0 * sims.max(axis=1)))
    return float(fraction * np.median(nearest) / math.sqrt(sample_vectors.shape[1]))


def perturbed(
    sample_vectors: np.ndarray, base: np.ndarray, sigma: float, seed: int, block: int = 65536
) -> Iterator[np.ndarray]:
    """Unit vectors ``sample_vectors[base] + N(0, sigma²)``, in blocks (a million rows are 3.6 GB)."""
    rng = np.random.default_rng(seed)
    dim = sample_vectors.shape[1]
    for start in range(0, len(base), block):
        rows = base[start : start + block]
        v = sample_vectors[rows] + rng.standard_normal((len(rows), dim), dtype=np.float32) * np.float32(sigma)
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        yield v.astype(np.float32, copy=False)


def vectors_for(
    sample_vectors: np.ndarray,
    base: np.ndarray,
    sigma: float,
    seed: int,
    progress: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    out = np.empty((len(base), sample_vectors.shape[1]), dtype=np.float32)
    at = 0
    for blk in perturbed(sample_vectors, base, sigma, seed):
        out[at : at + len(blk)] = blk
        at += len(blk)
        if progress:
            progress(at, len(base))
    return out
