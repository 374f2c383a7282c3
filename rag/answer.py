"""Extractive answers: the sentences that best answer the question, each with a ``[n]`` citation.

No LLM is needed: the answer quotes the source sentences (in their own language and script), so every
figure in it is verbatim from a cited passage. When the best evidence does not cover what the question
asks (its year, its key terms), the composer abstains instead of returning loosely related text.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

from index.lexical import gloss_tokens
from index.lexicon import Lexicon
from index.normalize import is_traditional, normalize, tokenize
from index.types import Chunk
from rag.query import Query
from rag.types import Answer, Citation, Hit

# sentence ends: Chinese and Western terminators, line breaks, and the digests' " - " bullet separators
_SPLIT = re.compile(r"(?<=[。！？!?；;])|\n+|(?<=\S) - (?=\S)|(?<=[.])\s+(?=[A-Z\u4e00-\u9fff])")
_REFS = re.compile(r"(\s*\[\d+\])+\s*$")
_INLINE_REFS = re.compile(r"\s*(\[\d+\])+")
_DIGIT = re.compile(r"\d")
_ASKS_QUANTITY = re.compile(
    r"how (much|many|big|large|fast|long|high)|what (percentage|share|valuation|price|revenue)|多少|几|多大|多久|多高|多快|比例|占比|规模|估值|价格|售价|金额",
    re.IGNORECASE,
)

ABSTAIN_MESSAGES = {
    "en": "The documents do not answer this question.",
    "zh-Hans": "文档中没有找到能回答这个问题的内容。",
    "zh-Hant": "文件中沒有找到能回答這個問題的內容。",
}


@dataclass(frozen=True)
class AnswerParams:
    max_sentences: int = 3
    evidence_chunks: int = 6  # how many top hits the sentences are drawn from
    keep_ratio: float = 0.6  # further sentences must score at least this share of the best
    min_coverage: float = 0.35  # abstain when the best evidence covers less of the question than this


@dataclass
class Sentence:
    chunk: Chunk
    rank: int  # rank of the chunk among the hits (1 = best)
    start: int  # offsets in the document text
    end: int
    text: str
    score: float = 0.0
    coverage: float = 0.0


def question_script(question: str) -> str:
    if not re.search(r"[\u4e00-\u9fff]", question):
        return "en"
    return "zh-Hant" if is_traditional(question) else "zh-Hans"


def split_sentences(chunk: Chunk) -> list[tuple[int, int]]:
    """(start, end) offsets in the document text of the chunk's sentences, trimmed of whitespace,
    bullet dashes and trailing reference marks like ``[1][3]``."""
    out: list[tuple[int, int]] = []
    text = chunk.text
    bounds = [m.start() for m in _SPLIT.finditer(text)] + [len(text)]
    prev = 0
    for b in bounds:
        seg_start, seg_end = prev, b
        prev = b
        m = re.match(r"[\s\-–—•*#>]*", text[seg_start:seg_end])
        s = seg_start + (m.end() if m else 0)
        e = seg_end
        while e > s and text[e - 1].isspace():
            e -= 1
        r = _REFS.search(text, s, e)
        if r and r.end() == e:
            e = r.start()
        if e - s >= 4:
            out.append((chunk.start + s, chunk.start + e))
    return out


def _idf(df: Mapping[str, int], n: int, term: str) -> float:
    return math.log(1 + (n - df.get(term, 0) + 0.5) / (df.get(term, 0) + 0.5))


def score_sentences(
    query: Query,
    hits: list[Hit],
    doc_text: Mapping[str, str],
    lexicon: Lexicon | None,
    df_text: Mapping[str, int],
    df_gloss: Mapping[str, int],
    n_chunks: int,
    params: AnswerParams,
) -> list[Sentence]:
    """Every sentence of the top hits, scored by how much of the question (IDF-weighted) it covers."""
    asks_qty = bool(_ASKS_QUANTITY.search(query.text))
    wt = {t: w * _idf(df_text, n_chunks, t) for t, w in query.text_terms.items()}
    wg = (
        {t: w * _idf(df_gloss, n_chunks, t) for t, w in query.gloss_terms.items()}
        if query.lang == "en"
        else {}
    )
    # an English question is judged on its own words (gloss field); a Chinese one on its segmented words
    total = sum(wg.values()) if wg else sum(wt.values())
    out: list[Sentence] = []
    for hit in hits[: params.evidence_chunks]:
        c = hit.chunk
        text = doc_text[c.doc]
        ctx_tokens = set(tokenize(c.context))
        ctx_gloss = set(gloss_tokens(c.context, lexicon)) if (wg and lexicon) else set()
        for s, e in split_sentences(c):
            st = text[s:e]
            toks = set(tokenize(st))
            if wg and lexicon is not None:
                gl = set(gloss_tokens(st, lexicon))
                own = sum(w for t, w in wg.items() if t in gl)
                ctx = sum(w for t, w in wg.items() if t in ctx_gloss and t not in gl)
                # Chinese translations of the question found verbatim are strong evidence too
                bonus = sum(w for t, w in wt.items() if t in toks and query.text_terms.get(t, 0) < 1.0) * 0.5
                cov = (own + 0.5 * ctx + bonus) / total if total else 0.0
            else:
                own = sum(w for t, w in wt.items() if t in toks)
                ctx = sum(w for t, w in wt.items() if t in ctx_tokens and t not in toks)
                cov = (own + 0.5 * ctx) / total if total else 0.0
            cov = min(cov, 1.0)
            score = cov + 0.15 / hit.rank
            if asks_qty and _DIGIT.search(_INLINE_REFS.sub("", st)):
                score += 0.15
            if len(st) > 400:
                score -= 0.1  # a whole paragraph is a poor quote
            out.append(Sentence(c, hit.rank, s, e, st, score, cov))
    out.sort(key=lambda x: -x.score)
    return out


def _constraints_met(query: Query, sentences: list[Sentence]) -> bool:
    """Years the question names must appear in the chosen evidence (sentence, chunk text or header)."""
    if not query.years:
        return True
    blob = " ".join(s.text + " " + s.chunk.context + " " + s.chunk.text for s in sentences)
    return all(y in blob for y in query.years)


def compose(
    query: Query,
    hits: list[Hit],
    doc_text: Mapping[str, str],
    lexicon: Lexicon | None,
    df_text: Mapping[str, int],
    df_gloss: Mapping[str, int],
    n_chunks: int,
    params: AnswerParams | None = None,
) -> Answer:
    p = params or AnswerParams()
    sentences = score_sentences(query, hits, doc_text, lexicon, df_text, df_gloss, n_chunks, p)
    if not sentences or sentences[0].coverage < p.min_coverage:
        return abstain(query.text, hits)
    best = sentences[0]
    chosen = [best]
    for s in sentences[1:]:
        if len(chosen) >= p.max_sentences:
            break
        if s.score < p.keep_ratio * best.score:
            break
        if any(_overlap(s, c) for c in chosen):
            continue
        chosen.append(s)
    if not _constraints_met(query, chosen):
        return abstain(query.text, hits)
    citations: list[Citation] = []
    parts: list[str] = []
    for s in chosen:
        n = len(citations) + 1
        c = s.chunk
        citations.append(
            Citation(
                n=n,
                chunk_id=c.id,
                doc=c.doc,
                title=c.title,
                source=c.source,
                date=c.date,
                start=c.start,
                end=c.end,
                quote=s.text,
                quote_start=s.start,
                quote_end=s.end,
            )
        )
        shown = _INLINE_REFS.sub("", s.text).strip()
        parts.append(f"{shown} [{n}]")
    return Answer(question=query.text, text="\n".join(parts), citations=citations, abstained=False, hits=hits)


def abstain(question: str, hits: list[Hit]) -> Answer:
    return Answer(
        question=question,
        text=ABSTAIN_MESSAGES[question_script(question)],
        citations=[],
        abstained=True,
        hits=hits,
    )


def _overlap(a: Sentence, b: Sentence) -> bool:
    if a.chunk.doc == b.chunk.doc and a.start < b.end and b.start < a.end:
        return True
    na, nb = "".join(normalize(a.text).split()), "".join(normalize(b.text).split())
    return na in nb or nb in na
