"""The lead line: the answer's key figure in the asker's language, ahead of the quotes.

An analyst who asks in English about a Chinese digest should not have to convert 1150亿至1350亿美元
to read the answer: the lead says "US$115–135 billion [1]". It is rendered deterministically from
the first quote, never guessed: only when the quote states exactly one figure of the kind the
question asks for (an amount of money, a percentage, a quarter or date), and only when every number
of the rendering is found again, by value, in the quote (the check the LLM path applies to its
sentences). Otherwise there is no lead line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.figures import unsupported_figures

_NUM = r"(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?"
_MAG_ZH = {
    "万亿": 1e12,
    "千亿": 1e11,
    "百亿": 1e10,
    "十亿": 1e9,
    "千万": 1e7,
    "百万": 1e6,
    "亿": 1e8,
    "億": 1e8,
    "万": 1e4,
    "萬": 1e4,
}
_MAG_EN = {
    "trillion": 1e12,
    "tn": 1e12,
    "billion": 1e9,
    "bn": 1e9,
    "b": 1e9,
    "million": 1e6,
    "mn": 1e6,
    "m": 1e6,
}
_CUR_ZH = {
    "美元": "USD",
    "人民币": "CNY",
    "人民幣": "CNY",
    "元": "CNY",
    "港元": "HKD",
    "港币": "HKD",
    "港幣": "HKD",
    "欧元": "EUR",
    "歐元": "EUR",
    "日元": "JPY",
    "英镑": "GBP",
    "英鎊": "GBP",
}
_CUR_EN = {
    "us$": "USD",
    "$": "USD",
    "usd": "USD",
    "rmb": "CNY",
    "cny": "CNY",
    "¥": "CNY",
    "hk$": "HKD",
    "€": "EUR",
    "£": "GBP",
}
_EN_SYMBOL = {"USD": "US$", "CNY": "RMB ", "HKD": "HK$", "EUR": "€", "JPY": "JPY ", "GBP": "£"}
_ZH_NAME = {"USD": "美元", "CNY": "元", "HKD": "港元", "EUR": "欧元", "JPY": "日元", "GBP": "英镑"}

_MAG_ZH_RE = "|".join(sorted(map(re.escape, _MAG_ZH), key=len, reverse=True))
_CUR_ZH_RE = "|".join(sorted(map(re.escape, _CUR_ZH), key=len, reverse=True))
_SEP = r"\s*(?:至|到|-|–|—|~|～|to)\s*"
# a Chinese amount, or a range sharing its magnitude and currency: "1150亿美元至1350亿美元",
# "1,150至1,350亿美元", "3.5万亿元"
_ZH_AMOUNT = re.compile(
    rf"{_NUM}\s*(?:({_MAG_ZH_RE})\s*)?(?:({_CUR_ZH_RE}))?(?:{_SEP}{_NUM}\s*)?(?:({_MAG_ZH_RE})\s*)?({_CUR_ZH_RE})"
)
_EN_AMOUNT = re.compile(
    rf"(US\$|HK\$|RMB|USD|CNY|[$¥€£])\s?{_NUM}(?:\s?(trillion|billion|million|tn|bn|mn|[BM])\b)?"
    rf"(?:{_SEP}(?:US\$|HK\$|RMB|[$¥€£])?\s?{_NUM}(?:\s?(trillion|billion|million|tn|bn|mn|[BM])\b)?)?",
    re.IGNORECASE,
)
_PERCENT = re.compile(rf"(?<![\d.]){_NUM}\s?[%％]")
# quarters: "2026年第一季度", "2025年Q3", "2Q25", "Q1 2026"
_CN_QUARTER = {"一": 1, "二": 2, "三": 3, "四": 4, "1": 1, "2": 2, "3": 3, "4": 4}
_QUARTER_ZH = re.compile(r"((?:19|20)\d{2})\s*年\s*(?:第\s*([一二三四1-4])\s*季度?|Q([1-4]))")
_QUARTER_EN = re.compile(r"\b([1-4])Q(\d{2})\b|\bQ([1-4])\s?((?:19|20)\d{2})\b")

_ASKS_PERCENT = re.compile(
    r"percent|percentage|growth rate|how fast|margin|share|rate\b|增速|增幅|增长率|增長率|比例|占比|佔比|百分|率",
    re.IGNORECASE,
)
_ASKS_MONEY = re.compile(
    r"how much|capex|capital (?:expenditure|spending)|revenue|sales|income|profit|valuation|worth|funding|"
    r"raise[sd]?|invest|spend|budget|cost|price|backlog|guidance|fine|penalty|资本开支|资本支出|資本開支|"
    r"营收|營收|收入|利润|利潤|估值|融资|融資|投资|投資|金额|金額|价格|價格|订单|訂單|指引|多少钱|多少錢|罚款|罰款",
    re.IGNORECASE,
)
_ASKS_QUARTER = re.compile(r"which quarter|what quarter|哪个季度|哪個季度|哪一季", re.IGNORECASE)


@dataclass(frozen=True)
class Figure:
    kind: str  # "money", "percent" or "quarter"
    text: str  # as the quote writes it
    rendered: dict[str, str]  # script ("en", "zh") -> the figure in that language


def _value(whole: str, frac: str | None) -> float:
    return float(whole.replace(",", "") + ("." + frac if frac else ""))


def _num(v: float) -> str:
    """115.0 -> "115", 37.5 -> "37.5", 1.2345 -> "1.23": at most two decimals, no trailing zeros."""
    s = f"{v:.2f}".rstrip("0").rstrip(".")
    return s


# a range is written in the largest unit both ends reach: "9800至14800日元", not "0.98至1.48万日元"


def _english_amount(values: list[float], currency: str) -> str:
    low = min(values)
    for scale, word in ((1e12, "trillion"), (1e9, "billion"), (1e6, "million")):
        if low >= scale:
            nums = "–".join(_num(v / scale) for v in values)
            return f"{_EN_SYMBOL[currency]}{nums} {word}"
    return f"{_EN_SYMBOL[currency]}{'–'.join(_num(v) for v in values)}"


def _chinese_amount(values: list[float], currency: str) -> str:
    low = min(values)
    for scale, word in ((1e12, "万亿"), (1e8, "亿"), (1e4, "万")):
        if low >= scale:
            return "至".join(_num(v / scale) for v in values) + word + _ZH_NAME[currency]
    return "至".join(_num(v) for v in values) + _ZH_NAME[currency]


def figures(text: str) -> list[Figure]:
    """The amounts of money, percentages and quarters a quote states, each rendered in both languages."""
    out: list[Figure] = []
    for m in _ZH_AMOUNT.finditer(text):
        a, af, mag1, cur1, b, bf, mag2, cur2 = m.groups()
        currency = _CUR_ZH[cur2]
        if cur1 and _CUR_ZH[cur1] != currency:
            continue
        mag_b = _MAG_ZH.get(mag2 or "", 1.0)
        values = [_value(a, af) * _MAG_ZH.get(mag1 or "", mag_b if b else 1.0)]
        if b:
            values.append(_value(b, bf) * mag_b)
        out.append(
            Figure(
                "money",
                m.group(0),
                {"en": _english_amount(values, currency), "zh": _chinese_amount(values, currency)},
            )
        )
    for m in _EN_AMOUNT.finditer(text):
        cur, a, af, mag1, b, bf, mag2 = m.groups()
        currency = _CUR_EN.get(cur.lower(), "USD")
        scale_b = _MAG_EN.get((mag2 or "").lower(), 1.0)
        values = [_value(a, af) * _MAG_EN.get((mag1 or "").lower(), scale_b if b else 1.0)]
        if b:
            values.append(_value(b, bf) * scale_b)
        out.append(
            Figure(
                "money",
                m.group(0),
                {"en": _english_amount(values, currency), "zh": _chinese_amount(values, currency)},
            )
        )
    for m in _PERCENT.finditer(text):
        p = _num(_value(m.group(1), m.group(2)))
        out.append(Figure("percent", m.group(0), {"en": f"{p}%", "zh": f"{p}%"}))
    for m in _QUARTER_ZH.finditer(text):
        q = _CN_QUARTER[m.group(2) or m.group(3)]
        out.append(
            Figure("quarter", m.group(0), {"en": f"Q{q} {m.group(1)}", "zh": f"{m.group(1)}年第{q}季度"})
        )
    for m in _QUARTER_EN.finditer(text):
        qn, year = (m.group(1), "20" + m.group(2)) if m.group(1) else (m.group(3), m.group(4))
        out.append(Figure("quarter", m.group(0), {"en": f"Q{qn} {year}", "zh": f"{year}年第{qn}季度"}))
    return out


# questions that ask for a reason or a manner ("Why did Anthropic cut its margin forecast?"): a
# figure in their answer is part of the story, not the answer
_ASKS_REASON = re.compile(
    r"^\s*(?:why|how (?!much|many|big|large|high|fast|low|small|long|far|often)\w+)\b|为什么|為什麼|为何|為何|原因|理由|怎么|怎麼|如何",
    re.IGNORECASE,
)


def asked_figure(question: str) -> str | None:
    """The kind of figure a question asks for, by its words: a quarter, a percentage, an amount."""
    if _ASKS_REASON.search(question):
        return None
    if _ASKS_QUARTER.search(question):
        return "quarter"
    if _ASKS_PERCENT.search(question):
        return "percent"
    if _ASKS_MONEY.search(question):
        return "money"
    return None


_TO_TRADITIONAL = str.maketrans({"亿": "億", "万": "萬", "欧": "歐", "镑": "鎊"})


def to_traditional(text: str) -> str:
    """A lead rendered in simplified script, for a question in traditional script (the few
    characters the renderings use)."""
    return text.translate(_TO_TRADITIONAL)


def lead_line(question: str, script: str, quote: str, n: int) -> str | None:
    """The figure the question asks for, in the question's ``script`` ("en", else Chinese), cited ``[n]``;
    None when the quote does not state exactly one such figure (other than one the question gives),
    or when the rendering's numbers are not all in the quote by value."""
    kind = asked_figure(question)
    if kind is None:
        return None
    given = {f.rendered["en"] for f in figures(question)}
    found = {f.rendered["en"]: f for f in figures(quote) if f.kind == kind and f.rendered["en"] not in given}
    if len(found) != 1:
        return None
    fig = next(iter(found.values()))
    text = fig.rendered["en" if script == "en" else "zh"]
    if unsupported_figures(text, [quote]):
        return None
    return f"{text} [{n}]"
