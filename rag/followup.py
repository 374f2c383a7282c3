"""Follow-up questions, read against the user's earlier turns.

In a conversation the second question often lacks its own subject: "And Microsoft's?", "What about
its revenue?", "那营收呢?". Retrieval on those words alone finds nothing of what was meant, so such a
question is rewritten, deterministically, before it is answered: the names, the period and the asked
measure of the previous question are carried over wherever the new one does not restate them, and the
answer says how it read the question ("Read as: What is Microsoft's 2026 capex guidance?"), so a
reader sees the reading and can correct it. A question that stands on its own is left as it is.

The rules are about the form of a question (a leading "and"/"那", a closing "呢", a pronoun, a name
with nothing else), never about particular names: the names come from the conversation.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence

from index.lexicon import ENGLISH_STOPWORDS
from index.normalize import tokenize
from rag.query import chinese_proper_nouns

_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
# what opens an elliptical follow-up: "And ...", "What about ...", "那 ...", "还有 ..."
_MARK_EN = re.compile(
    r"^\s*(?:(?:and|also|so|then|but|ok(?:ay)?)\s+)*(?:(?:what|how)\s+about\s+)?", re.IGNORECASE
)
_MARK_ZH = re.compile(r"^\s*(?:那么|那麽|那|还有|還有|另外|而|再问|再問)\s*")
_TAIL_ZH = re.compile(r"\s*(?:的呢|呢)\s*([?？]?)\s*$")
_PRONOUN_EN = re.compile(
    r"\b(?:its|their|it|they|them|this company|that company|the company|the firm|the group)\b", re.IGNORECASE
)
_PRONOUN_ZH = re.compile(
    r"它们|它們|他们|他們|该公司|該公司|这家公司|這家公司|这家|這家|它|(?<!尤)其(?![中他它实實余餘次])"
)
# periods a question may pin down: years, quarters, halves ("2026", "Q3 2025", "2Q25", "2025年上半年")
_PERIOD_EN = re.compile(
    r"\b(?:(?:in|for|during)\s+)?(?:(?:Q[1-4]|H[12]|FY)\s*)?(?:19|20)\d{2}\b|\b[1-4]Q\d{2}\b|\bQ[1-4]\b|"
    r"\b(?:(?:in|for|during)\s+)?(?:next|this|last|previous|coming|the same)\s+(?:fiscal\s+)?(?:quarter|year|month)\b",
    re.IGNORECASE,
)
_PERIOD_ZH = re.compile(
    r"(?:19|20)\d{2}\s*(?:年|财年|財年)?(?:第?[一二三四1-4]季度|上半年|下半年|Q[1-4])?|第[一二三四]季度|上半年|下半年|"
    r"下一?季度|本季度|上一?季度|明年|今年|去年|同期"
)
# capitalised words and codes: names ("Microsoft", "Google Cloud", "Q4" is a period, not a name)
_WORD = r"(?:[A-Z][A-Za-z0-9&.-]*|[a-z]+[A-Z][A-Za-z0-9]*)"  # "Meta", "xAI", "iPhone"
_NAME = re.compile(rf"(?<![A-Za-z0-9]){_WORD}(?:\s+{_WORD})*(?![A-Za-z0-9])")
_POSSESSIVE = re.compile(r"['’]s\b")
# words that frame a question rather than say what it asks about
_FRAME_EN = ENGLISH_STOPWORDS | frozenset(
    "what which who whom whose when where why how much many is are was were do does did about and also "
    "so then but ok okay please tell me".split()
)
_FRAME_ZH = frozenset(
    "那 那么 那麽 还有 還有 另外 而 呢 的 吗 嗎 是 多少 几 幾 什么 什麼 哪 哪些 哪个 哪個 如何 怎样 怎樣 "
    "呢 了 在 有 和 与 與 及 请问 請問 问 問".split()
)


def names_in(text: str, gazetteer: Collection[str] = frozenset()) -> list[str]:
    """The names a question writes, as written, in order: capitalised Latin-script names ("Meta",
    "Google Cloud"), the glossary's Chinese names, and the proper nouns jieba finds."""
    found: list[tuple[int, str]] = []
    for m in _NAME.finditer(text):
        words = [w for w in _POSSESSIVE.sub("", m.group(0)).split() if w.lower() not in _FRAME_EN]
        name = " ".join(words)
        if name and not _PERIOD_EN.fullmatch(name) and not name.isdigit():
            found.append((text.find(name, m.start()), name))
    if _is_zh(text):
        for w in gazetteer:
            if len(w) >= 2 and w in text and w not in (n for _, n in found):
                found.append((text.find(w), w))
        for w in chinese_proper_nouns(text):
            if w in text and w not in (n for _, n in found) and not any(w in n for _, n in found):
                found.append((text.find(w), w))
    names = [n for _, n in sorted(found)]
    return [n for n in names if not any(n != m and n in m for m in names)]  # 阿里 inside 阿里巴巴


_PREPOSITION = re.compile(r"^(?:in|for|during)\s+", re.IGNORECASE)


def _is_zh(text: str) -> bool:
    """Chinese when it has Chinese characters at all: "那Google的Android呢?" is a Chinese question."""
    return _HAN.search(text) is not None


def _periods(text: str, zh: bool) -> list[str]:
    return [
        _PREPOSITION.sub("", m.group(0).strip()) for m in (_PERIOD_ZH if zh else _PERIOD_EN).finditer(text)
    ]


def _measure(text: str, names: list[str], zh: bool) -> list[str]:
    """What the question asks about besides its names and period: its remaining content words."""
    rest = text
    for n in names:
        rest = rest.replace(n, " ")
    rest = (_PERIOD_ZH if zh else _PERIOD_EN).sub(" ", rest)
    rest = (_PRONOUN_ZH if zh else _PRONOUN_EN).sub(" ", _POSSESSIVE.sub("", rest))
    if zh:
        return [t for t in tokenize(rest) if t not in _FRAME_ZH and not t.isdigit()]
    return [w for w in re.findall(r"[a-z][a-z'-]*", rest.lower()) if w not in _FRAME_EN]


def is_follow_up(question: str, gazetteer: Collection[str] = frozenset()) -> bool:
    """Whether a question leans on the one before it: it opens like a follow-up ("And ...", "What
    about ...", "那..."), closes with "呢", refers back with a pronoun, or names nothing and asks
    about almost nothing."""
    zh = _is_zh(question)
    if zh and (_TAIL_ZH.search(question) or _MARK_ZH.match(question)):
        return True
    mark = _MARK_EN.match(question)
    if not zh and mark and mark.group(0).strip():
        return True
    if (_PRONOUN_ZH if zh else _PRONOUN_EN).search(question):
        return True
    names = names_in(question, gazetteer)
    return not names and len(_measure(question, names, zh)) <= (2 if zh else 1)


def read_in_context(question: str, history: Sequence[str], gazetteer: Collection[str] = frozenset()) -> str:
    """The question as it stands on its own, given the user's earlier questions (oldest first):
    itself when it does not lean on them, else rewritten from the latest one (itself read so)."""
    question = question.strip()
    earlier = [h.strip() for h in history if h and h.strip()]
    if not earlier or not question:
        return question  # a blank question is the engine's to refuse
    prev = earlier[0]
    for h in earlier[1:]:
        prev = read_in_context(h, [prev], gazetteer)
    if not is_follow_up(question, gazetteer):
        return question
    zh, prev_zh = _is_zh(question), _is_zh(prev)
    body = _strip_marks(question, zh)
    names, prev_names = names_in(body, gazetteer), names_in(prev, gazetteer)
    periods, prev_periods = _periods(body, zh), _periods(prev, prev_zh)
    measure = _measure(body, names, zh)
    if not measure and zh == prev_zh:
        # "And Microsoft's?", "那2024年呢?": the previous question, with the new name or period in
        # place of the old
        out = prev
        olds = _replaced(body, names, prev, prev_names)
        if olds and len(names) > len(olds) == 1:
            # more names than it replaces: one compound subject ("Google的Android" for 鸿蒙)
            a, b = body.find(names[0]), body.rfind(names[-1]) + len(names[-1])
            names = [body[a:b]] if 0 <= a < b else names
        for new, old in zip(names, olds, strict=False):
            out = out.replace(old, new, 1)
        if names and not prev_names:
            out = f"{' '.join(names)}: {out}"
        for new, old in zip(periods, prev_periods, strict=False):
            out = out.replace(old, new, 1)
        if periods and not prev_periods:
            out = f"{out.rstrip('?？')} ({' '.join(periods)})" + ("？" if zh else "?")
        return out
    if names or not prev_names:
        # its own subject and measure: the opening "and ..." dropped, the period carried over
        if periods or not prev_periods:
            return body
        period = " ".join(prev_periods)
        return f"{period}{body}" if zh else f"{body.rstrip('?').rstrip()} in {period}?"
    # "What about its revenue?", "那它的营收呢?": the previous subject (and period) carried over
    subject = prev_names[0]
    period = "" if periods else " ".join(prev_periods)
    if (_PRONOUN_ZH if zh else _PRONOUN_EN).search(body):
        out = _replace_pronouns(body, subject, zh)
    elif zh:
        out = subject + body
    else:
        out = f"{body.rstrip('?').rstrip()} of {subject}?"
    if period:
        if zh:
            out = out.replace(subject, subject + period, 1) if subject in out else period + out
        else:
            out = f"{out.rstrip('?').rstrip()} in {period}?"
    return out


def _replaced(body: str, names: list[str], prev: str, prev_names: list[str]) -> list[str]:
    """Which of the previous question's names the new ones stand in for: the one after the same
    preposition ("investing in Intel" / "And in xAI?"), else in order."""
    m = re.match(r"^\s*(in|for|of|from|by|with|at|on|to)\s+", body, re.IGNORECASE)
    if m and len(names) == 1:
        for old in prev_names:
            if re.search(rf"\b{m.group(1)}\s+{re.escape(old)}", prev, re.IGNORECASE):
                return [old]
    return prev_names


def _strip_marks(question: str, zh: bool) -> str:
    if zh:
        body = _MARK_ZH.sub("", question, count=1)
        body = _TAIL_ZH.sub(lambda m: m.group(1) or "?", body)
    else:
        body = _MARK_EN.sub("", question, count=1).lstrip(" ,")
    body = body.strip() or question
    return body[:1].upper() + body[1:] if not zh else body


def _replace_pronouns(text: str, subject: str, zh: bool) -> str:
    if zh:
        return _PRONOUN_ZH.sub(subject, text, count=1)

    def sub(m: re.Match[str]) -> str:
        word = m.group(0).lower()
        return f"{subject}'s" if word in ("its", "their") else subject

    out = _PRONOUN_EN.sub(sub, text, count=1)
    return out[0].upper() + out[1:]
