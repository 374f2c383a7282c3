"""Answer text cut into small deltas for streaming: words, a few Chinese characters, whole markers.

A chat front end shows a stream as it arrives. One delta per answer line makes a reply appear in
jumps; word-sized pieces (a few characters of Chinese, which has no spaces between words) read as
it is written. The pieces are exact slices of the text, so a client that joins the deltas ends with
the final answer character for character. A citation marker (``[12]``, ``[1][2]``, ``[1, 2]``) is
never cut: a client that links markers as they arrive would otherwise see ``[1`` and ``2]``. Nor is
a character a reader sees as one but that is written with several code points (e + a combining
accent, an emoji with a skin tone or joined by ZWJ, a flag, a CJK character with a variation
selector): cut, a client shows broken glyphs until the next delta.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator

CJK_PIECE = 4  # CJK characters in one piece at most
WORD_PIECE = 16  # characters of one unbroken Latin token (a URL, a long number) in one piece at most

_MARKER_RE = re.compile(r"(?:\[\s*\d+(?:\s*[,，、]\s*\d+)*\s*\])+")
_CJK_RE = re.compile(
    "[\u1100-\u11ff\u2e80-\u2fff\u3000-\u303f\u3040-\u30ff\u3100-\u31ff\u3200-\u9fff"
    "\ua960-\ua97f\uac00-\ud7ff\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef\U00020000-\U0003ffff]"
)
_ZWJ = "\u200d"
_CLOSING = {"Pe", "Pf", "Po"}  # punctuation that ends what it follows: , . ! ? ) ” 。 ， 、 ）


def _extends(c: str) -> bool:
    """Whether ``c`` belongs to the character before it (a simplified UAX #29 Extend)."""
    o = ord(c)
    return (
        unicodedata.category(c) in ("Mn", "Mc", "Me")  # combining marks, variation selectors
        or c == "\u200c"
        or 0x1F3FB <= o <= 0x1F3FF  # emoji skin tones
        or 0xE0020 <= o <= 0xE007F  # emoji tag sequences (subdivision flags)
        or 0x1160 <= o <= 0x11FF  # Hangul medial vowels and final consonants after a leading one
        or 0xD7B0 <= o <= 0xD7FF
    )


def _regional(c: str) -> bool:
    return 0x1F1E6 <= ord(c) <= 0x1F1FF


def _cluster_end(text: str, i: int) -> int:
    """The end of the user-perceived character that starts at ``i``."""
    n = len(text)
    if text.startswith("\r\n", i):
        return i + 2
    j = i + 1
    if _regional(text[i]) and j < n and _regional(text[j]):
        j += 1  # a flag is a pair of regional indicators
    while j < n:
        if _extends(text[j]):
            j += 1
        elif text[j] == _ZWJ:
            j = min(j + 2, n)  # ZWJ glues the next character on (👩‍💻)
        else:
            break
    return j


def _kind(c: str) -> str:
    if c.isspace():
        return "space"
    if unicodedata.category(c) in _CLOSING:
        return "punct"
    return "cjk" if _CJK_RE.match(c) else "word"


def deltas(text: str) -> Iterator[str]:
    """``text`` in small pieces whose concatenation is ``text``.

    A piece is a word with the whitespace and punctuation after it, or up to ``CJK_PIECE`` CJK
    characters with the punctuation after them; a citation marker stays with the word before it, so
    a claim's ``[n]`` arrives with the claim's last word.
    """
    start = i = 0
    prev = ""  # kind of the last unit in the current piece ("" before the first)
    prev_char = ""
    cjk = word = 0
    while i < len(text):
        m = _MARKER_RE.match(text, i)
        if m:
            kind, end = "marker", m.end()
        else:
            kind, end = _kind(text[i]), _cluster_end(text, i)
        if prev and _boundary(prev, prev_char, kind, cjk, word):
            yield text[start:i]
            start, cjk, word = i, 0, 0
        cjk += kind == "cjk"
        word += kind == "word"
        prev, prev_char, i = kind, text[i], end
    if start < len(text):
        yield text[start:]


def _boundary(prev: str, prev_char: str, kind: str, cjk: int, word: int) -> bool:
    """Whether a new piece starts before a unit of ``kind`` that follows one of ``prev``."""
    if kind in ("space", "marker"):
        return False  # trailing whitespace and a claim's marker stay with what they follow
    if kind == "punct":
        return prev == "space"  # "billion.", "之间，", "[1]。": punctuation ends what it follows
    if prev in ("space", "marker"):
        return True
    if kind == "cjk":
        return prev != "cjk" or cjk >= CJK_PIECE
    # a Latin unit: it goes on a word ("1,150", "U.S.", "Meta's") unless it follows Chinese
    return prev == "cjk" or (prev == "punct" and bool(_CJK_RE.match(prev_char))) or word >= WORD_PIECE
