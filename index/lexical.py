"""The lexical side of the index: two BM25 fields over the same chunks (``bm25s``).

* ``text``: normalised tokens of the chunk (jieba words for Chinese, lower-cased words and numbers);
  matches questions in either Chinese script and names/figures in any language.
* ``gloss``: English stems of the chunk: its own English words plus CC-CEDICT glosses of its Chinese
  words; lets an English question match a Chinese passage word by word.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from index.lexicon import Lexicon, english_stems
from index.normalize import normalize, tokenize
from index.storage import writing
from index.types import Chunk

FIELDS = ("text", "gloss")
_HAN_WORD = re.compile(r"^[\u4e00-\u9fff]+$")


def chunk_tokens(chunk: Chunk) -> list[str]:
    return tokenize(chunk.embed_text)


def gloss_tokens(text: str, lexicon: Lexicon, tokens: Sequence[str] | None = None) -> list[str]:
    """English stems for a text: its English words as they are, its Chinese words by their glosses.

    ``tokens`` is ``tokenize(text)`` when the caller already has it (segmentation is the costly part).
    """
    out = english_stems(normalize(text))
    for tok in tokenize(text) if tokens is None else tokens:
        if _HAN_WORD.match(tok):
            out.extend(lexicon.gloss(tok))
    return out


class LexicalIndex:
    """BM25 over the chunks of one index generation, scoring weighted query terms per field."""

    def __init__(self, fields: Mapping[str, object], n: int) -> None:
        self._fields = dict(fields)
        self.n = n

    def scores(self, field: str, terms: Mapping[str, float]) -> np.ndarray:
        """BM25 score of every chunk for weighted query terms (weight 1 = an ordinary query term)."""
        out = np.zeros(self.n, dtype=np.float32)
        bm = self._fields.get(field)
        if bm is None or not terms:
            return out
        vocab = bm.vocab_dict  # type: ignore[attr-defined]
        for term, w in terms.items():
            if term in vocab and w > 0:
                out += w * bm.get_scores([term])  # type: ignore[attr-defined]
        return out


def _bm25(corpus: Sequence[list[str]]):  # type: ignore[no-untyped-def]
    import bm25s

    bm = bm25s.BM25(k1=1.2, b=0.75)
    # bm25s cannot index an empty token list; a placeholder token no query can contain keeps ids aligned
    bm.index([toks or ["\x00"] for toks in corpus], show_progress=False)
    return bm


def build_lexical(tokens: Sequence[list[str]], gloss: Sequence[list[str]]) -> LexicalIndex:
    if not tokens:
        return LexicalIndex({}, 0)
    return LexicalIndex({"text": _bm25(tokens), "gloss": _bm25(gloss)}, len(tokens))


def save_lexical(directory: Path, tokens: Sequence[list[str]], gloss: Sequence[list[str]]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "meta.json").write_text(json.dumps({"n": len(tokens)}), encoding="utf-8")
    if not tokens:
        return
    idx = build_lexical(tokens, gloss)
    for name, bm in idx._fields.items():
        with writing(directory / name):  # numpy's failed writes name no file
            bm.save(str(directory / name), show_progress=False)  # type: ignore[attr-defined]


def load_lexical(directory: Path) -> LexicalIndex:
    import bm25s

    n = int(json.loads((directory / "meta.json").read_text(encoding="utf-8"))["n"])
    if n == 0:
        return LexicalIndex({}, 0)
    fields = {f: bm25s.BM25.load(str(directory / f), show_progress=False) for f in FIELDS}
    return LexicalIndex(fields, n)
