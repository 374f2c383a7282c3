"""Figures in text, compared by value: "1150亿美元", "US$115 billion" and "1,150亿" state the same
amount. Both the LLM path (a generated sentence whose figure no cited passage states is dropped) and
the lead line of extractive answers (``rag.lead``) check their numbers this way.
"""

from __future__ import annotations

import re

_NUM_RE = re.compile(
    r"(?<![\d.])(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?"
    r"(?:\s?(万亿|萬億|千亿|千億|百亿|百億|十亿|十億|千万|千萬|百万|百萬|亿|億|万|萬|千|trillion|billion|million|"
    r"thousand|crore|lakh|tn|bn|mn|%|％)"
    r"|([TBMK])(?![A-Za-z]))?",
    re.IGNORECASE,
)
# what may stand between the two ends of a range whose unit is written once: "115-135 billion"
_RANGE_SEP_RE = re.compile(r"\s*(?:-|–|—|~|～|至|到|to|and)\s*(?:US\$|RMB|HK\$|[$¥€£])?\s*", re.IGNORECASE)
_UNITS = {
    "万亿": 1e12,
    "千亿": 1e11,
    "百亿": 1e10,
    "十亿": 1e9,
    "千万": 1e7,
    "百万": 1e6,
    "亿": 1e8,
    "万": 1e4,
    "千": 1e3,
    # the same in traditional script ("500萬美元", "1.38萬億元")
    "萬億": 1e12,
    "千億": 1e11,
    "百億": 1e10,
    "十億": 1e9,
    "千萬": 1e7,
    "百萬": 1e6,
    "億": 1e8,
    "萬": 1e4,
    "trillion": 1e12,
    "tn": 1e12,
    "t": 1e12,
    "billion": 1e9,
    "bn": 1e9,
    "b": 1e9,
    "million": 1e6,
    "mn": 1e6,
    "m": 1e6,
    "thousand": 1e3,
    "k": 1e3,
    # Indian English: "₹213 crore" is 2.13 billion
    "crore": 1e7,
    "lakh": 1e5,
}
_REF_RE = re.compile(r"\[\d+(?:\s*[,，、]\s*\d+)*\]")  # "[1]", "[5][14]", "[1, 2]": citation markers
_CN_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_CN_NUM_RE = re.compile(r"[零〇一二两三四五六七八九十百千]+")


def _key(v: float) -> str:
    return f"{v:.9g}"


def _unit(m: re.Match[str]) -> str:
    return (m.group(3) or m.group(4) or "").lower()


def _figures(text: str) -> list[set[str]]:
    """Each figure of ``text`` as the set of values it may denote (own unit; a range's shared unit).

    "1,150至1,350亿美元" gives {1150, 1150e8} for 1,150 (the range shares 亿) and {1350e8} for 1,350.
    """
    text = _REF_RE.sub(" ", text)
    matches = list(_NUM_RE.finditer(text))
    out: list[set[str]] = []
    for i, m in enumerate(matches):
        value = float(m.group(1).replace(",", "") + (m.group(2) or ""))
        unit = _unit(m)
        values = {value * _UNITS.get(unit, 1.0)}
        if not unit and i + 1 < len(matches):
            nxt = matches[i + 1]
            next_unit = _unit(nxt)
            if next_unit and _RANGE_SEP_RE.fullmatch(text, m.end(), nxt.start()):
                values.add(value * _UNITS.get(next_unit, 1.0))
        out.append({_key(v) for v in values})
    return out


def _chinese_numeral(s: str) -> int:
    """二十三 -> 23, 两 -> 2, 一千二百 -> 1200 (enough for counts, quarters and multiples)."""
    section, digit = 0, None
    for ch in s:
        if ch in _CN_DIGITS:
            digit = _CN_DIGITS[ch]
        else:
            section += (1 if digit is None else digit) * {"十": 10, "百": 100, "千": 1000}[ch]
            digit = None
    return section + (digit or 0)


def _passage_values(text: str) -> set[str]:
    """Every value a passage states: its figures (with and without their unit) and Chinese numerals."""
    values: set[str] = set()
    for fig in _figures(text):
        values |= fig
    for m in _NUM_RE.finditer(_REF_RE.sub(" ", text)):
        values.add(_key(float(m.group(1).replace(",", "") + (m.group(2) or ""))))
    for m in _CN_NUM_RE.finditer(text):
        values.add(_key(float(_chinese_numeral(m.group(0)))))
    return values


def unsupported_figures(sentence: str, passages: list[str]) -> list[str]:
    """The figures of ``sentence`` that appear in none of ``passages`` (empty: all supported)."""
    known: set[str] = set()
    for p in passages:
        known |= _passage_values(p)
    cleaned = _REF_RE.sub(" ", sentence)
    missing = []
    for m, fig in zip(_NUM_RE.finditer(cleaned), _figures(sentence), strict=False):
        if not fig & known:
            missing.append(m.group(0).strip())
    return missing
