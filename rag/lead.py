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
from collections.abc import Callable, Collection
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
    "crore": 1e7,
    "lakh": 1e5,
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
    "印度卢比": "INR",
    "印度盧比": "INR",
    "卢比": "INR",
    "盧比": "INR",
    "韩元": "KRW",
    "韓元": "KRW",
    "新台币": "TWD",
    "新台幣": "TWD",
    "新臺幣": "TWD",
    "澳元": "AUD",
    "加元": "CAD",
    "新加坡元": "SGD",
    "瑞士法郎": "CHF",
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
    "₹": "INR",
    "inr": "INR",
    "₩": "KRW",
    "krw": "KRW",
    "nt$": "TWD",
    "a$": "AUD",
    "s$": "SGD",
}
_EN_SYMBOL = {
    "USD": "US$",
    "CNY": "RMB ",
    "HKD": "HK$",
    "EUR": "€",
    "JPY": "JPY ",
    "GBP": "£",
    "INR": "₹",
    "KRW": "KRW ",
    "TWD": "NT$",
    "AUD": "A$",
    "CAD": "C$",
    "SGD": "S$",
    "CHF": "CHF ",
}
_ZH_NAME = {
    "USD": "美元",
    "CNY": "元",
    "HKD": "港元",
    "EUR": "欧元",
    "JPY": "日元",
    "GBP": "英镑",
    "INR": "印度卢比",
    "KRW": "韩元",
    "TWD": "新台币",
    "AUD": "澳元",
    "CAD": "加元",
    "SGD": "新加坡元",
    "CHF": "瑞士法郎",
}

_MAG_ZH_RE = "|".join(sorted(map(re.escape, _MAG_ZH), key=len, reverse=True))
_CUR_ZH_RE = "|".join(sorted(map(re.escape, _CUR_ZH), key=len, reverse=True))
_SEP = r"\s*(?:至|到|-|–|—|~|～|to)\s*"
# a Chinese amount, or a range sharing its magnitude and currency: "1150亿美元至1350亿美元",
# "1,150至1,350亿美元", "3.5万亿元"
_ZH_AMOUNT = re.compile(
    rf"{_NUM}\s*(?:({_MAG_ZH_RE})\s*)?(?:({_CUR_ZH_RE}))?(?:{_SEP}{_NUM}\s*)?(?:({_MAG_ZH_RE})\s*)?({_CUR_ZH_RE})"
)
_EN_AMOUNT = re.compile(
    rf"(US\$|HK\$|NT\$|A\$|S\$|RMB|USD|CNY|INR|KRW|[$¥€£₹₩])\s?{_NUM}(?:\s?(trillion|billion|million|crore|lakh|tn|bn|mn|[BM])\b)?"
    rf"(?:{_SEP}(?:US\$|HK\$|NT\$|A\$|S\$|RMB|[$¥€£₹₩])?\s?{_NUM}(?:\s?(trillion|billion|million|crore|lakh|tn|bn|mn|[BM])\b)?)?",
    re.IGNORECASE,
)
_PERCENT = re.compile(rf"(?<![\d.]){_NUM}\s?[%％]")
# quarters: "2026年第一季度", "2025年Q3", "2Q25", "Q1 2026"
_CN_QUARTER = {"一": 1, "二": 2, "三": 3, "四": 4, "1": 1, "2": 2, "3": 3, "4": 4}
_QUARTER_ZH = re.compile(r"((?:19|20)\d{2})\s*年\s*(?:第\s*([一二三四1-4])\s*季度?|Q([1-4]))")
_QUARTER_EN = re.compile(r"\b([1-4])Q(\d{2})\b|\bQ([1-4])\s?((?:19|20)\d{2})\b")

_ASKS_PERCENT = re.compile(
    r"percent|percentage|growth rate|how fast|margin|share|(?<!run )(?<!run-)rate\b|增速|增幅|增长率|增長率|比例|"
    r"占比|佔比|百分|(?<!运行)(?<!運行)率",
    re.IGNORECASE,
)
_ASKS_MONEY = re.compile(
    r"how much|capex|capital (?:expenditure|spending)|revenue|sales|income|profit|valuation|worth|funding|"
    r"raise[sd]?|invest|spend|budget|cost|price|backlog|guidance|fine|penalty|run[- ]rate|资本开支|资本支出|資本開支|"
    r"营收|營收|收入|利润|利潤|估值|融资|融資|投资|投資|金额|金額|价格|價格|订单|訂單|指引|多少钱|多少錢|罚款|罰款|"
    r"运行率|運行率",
    re.IGNORECASE,
)
_ASKS_WHICH = re.compile(
    r"^\W*(?:which|who|whom|whose)\b|\b(?:which|what) (?:company|companies|firm|group|industry|sector|"
    r"country|city|person|one)\b|哪(?:一)?(?:家|个|個|位|些|种|種|类|類|国|國|所|座|部|支|项|項|个人)|谁|誰",
    re.IGNORECASE,
)
# a share stated otherwise than in percent ("1/3的人口", "三分之一", "三成"): which share answers
# a "what proportion" question is then a guess
_OTHER_SHARE = re.compile(
    r"\d+\s*/\s*\d+|[一二三四五六七八九十\d]+\s*分之\s*[一二三四五六七八九十\d]+|[一二三四五六七八九\d]成"
)
# a change asked for ("by how much", "undercut", "增长多少"): a percentage answers it as well as an amount
_ASKS_CHANGE = re.compile(
    r"\bby how much\b|\b(?:undercut|cut|rise|rose|fall|fell|grow|grew|drop|increase|decrease|lower|higher|"
    r"cheaper|more expensive)\b|增长|增長|增加|下降|降低|上涨|上漲|下跌|提高|减少|減少|增幅|降幅|涨幅|漲幅",
    re.IGNORECASE,
)
_ASKS_QUARTER = re.compile(r"which quarter|what quarter|哪个季度|哪個季度|哪一季", re.IGNORECASE)
_ASKS_WHEN = re.compile(
    r"^\W*when\b|\bwhen (?:did|was|were|is|are|will|does|do|has|have|had|can|could|would|should)\b|"
    r"\b(?:what|which) (?:year|month|date|day)\b|\btimeline\b|\btime ?frame\b|什么时候|什麼時候|"
    r"何时|何時|哪一年|哪年|哪个月|哪個月|几月|幾月|哪一天|哪天|时间表|時間表",
    re.IGNORECASE,
)
# an amount of unnamed kind ("how big a stake", "by how much", "多大"): a percentage or money, as the
# quote states it (not "多少家": that counts)
_ASKS_AMOUNT = re.compile(
    r"\bhow (?:much|big|large)\b|多大|多少(?![家个個人次位名种種项項只件座年天月倍届屆台辆輛款部])",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Figure:
    kind: str  # "money", "percent", "quarter" or "period" (a date, a year, a half, a span of them)
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
    return f"{_EN_SYMBOL[currency]}{'–'.join(_grouped(v) for v in values)}"


def _grouped(v: float) -> str:
    """4900.0 -> "4,900": English writes thousands apart."""
    whole, _, frac = _num(v).partition(".")
    return f"{int(whole):,}" + (f".{frac}" if frac else "")


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


_MONTHS = "january february march april may june july august september october november december".split()
_MONTH_RE = "|".join(m.capitalize() for m in _MONTHS)
_YEAR = r"((?:1[5-9]|20)\d{2})"
# "2026年下半年", "2029年底", "2025年10月29日", "1756年" (not "2026年中国": 中 starts a word there)
_PERIOD_ZH = re.compile(
    rf"{_YEAR}\s*年\s*(?:(\d{{1,2}})\s*月\s*(?:(\d{{1,2}})\s*[日号號])?|(上半年|下半年|底|末|初|代))?"
)
_PERIOD_EN = re.compile(
    rf"\b(?:(first|second) half of {_YEAR}|(?:the )?end of {_YEAR}|(early|mid)-?\s?{_YEAR}|"
    rf"({_MONTH_RE}) (\d{{1,2}}),? {_YEAR}|(\d{{1,2}}) ({_MONTH_RE}),? {_YEAR}|({_MONTH_RE}),? {_YEAR}|"
    rf"(?:in|since|by|from|until|till|during|around|before|after) {_YEAR}(?!\d|%|[.,]\d))\b"
)
# what joins two periods into one span: "自2026年下半年启动,至2029年底完成"
_SPAN_SEP = re.compile(r"[^。；;.!?！？\d]{0,6}?(?:至|到|\bto\b|\buntil\b|\bthrough\b|–|-)\s*")
_ZH_PART = {
    "上半年": "first half of",
    "下半年": "second half of",
    "底": "end of",
    "末": "end of",
    "初": "early",
}
# what else in a quote says when: a year however written, a day of a month ("10 月 13 日")
_YEARISH = re.compile(r"(?<!\d)(?:1[5-9]|20)\d{2}(?!\d)")
_DAY = re.compile(r"\d{1,2}\s*月\s*\d{1,2}\s*[日号號]")


def _zh_period(m: re.Match[str]) -> dict[str, str]:
    year, month, day, part = m.groups()
    if day:
        en = f"{int(day)} {_MONTHS[int(month) - 1].capitalize()} {year}"
        return {"en": en, "zh": f"{year}年{int(month)}月{int(day)}日"}
    if month:
        return {"en": f"{_MONTHS[int(month) - 1].capitalize()} {year}", "zh": f"{year}年{int(month)}月"}
    if part == "代":
        return {"en": f"{year}s", "zh": f"{year}年代"}
    if part:
        return {"en": f"{_ZH_PART[part]} {year}", "zh": f"{year}年{part}"}
    return {"en": year, "zh": f"{year}年"}


def _en_period(m: re.Match[str]) -> dict[str, str] | None:
    g = m.groups()
    if g[0]:
        return {"en": f"{g[0]} half of {g[1]}", "zh": f"{g[1]}年{'上' if g[0] == 'first' else '下'}半年"}
    if g[2]:
        return {"en": f"end of {g[2]}", "zh": f"{g[2]}年底"}
    if g[3]:
        return {"en": f"{g[3]} {g[4]}", "zh": f"{g[4]}年{'初' if g[3] == 'early' else '中'}"}
    if g[5]:
        month = _MONTHS.index(g[5].lower()) + 1
        return {"en": f"{int(g[6])} {g[5]} {g[7]}", "zh": f"{g[7]}年{month}月{int(g[6])}日"}
    if g[8]:
        month = _MONTHS.index(g[9].lower()) + 1
        return {"en": f"{int(g[8])} {g[9]} {g[10]}", "zh": f"{g[10]}年{month}月{int(g[8])}日"}
    if g[11]:
        month = _MONTHS.index(g[11].lower()) + 1
        return {"en": f"{g[11]} {g[12]}", "zh": f"{g[12]}年{month}月"}
    return {"en": g[13], "zh": f"{g[13]}年"}


def periods(text: str) -> list[Figure]:
    """The dates, years, halves and quarters a quote states, in order, two joined by "至"/"to" taken as
    one span ("second half of 2026 to end of 2029")."""
    found: list[tuple[int, int, dict[str, str]]] = []
    for m in _PERIOD_ZH.finditer(text):
        found.append((m.start(), m.end(), _zh_period(m)))
    for m in _PERIOD_EN.finditer(text):
        r = _en_period(m)
        if r:
            found.append((m.start(), m.end(), r))
    for f in figures(text):
        if f.kind == "quarter":
            i = text.find(f.text)
            found.append((i, i + len(f.text), f.rendered))
    found.sort(key=lambda x: (x[0], -(x[1] - x[0])))
    spans: list[tuple[int, int, dict[str, str]]] = []
    for item in found:
        if spans and item[0] < spans[-1][1]:
            continue  # inside a longer one ("2026年" of "2026年第一季度")
        spans.append(item)
    out: list[Figure] = []
    i = 0
    while i < len(spans):
        s0, e0, r0 = spans[i]
        if i + 1 < len(spans) and _SPAN_SEP.fullmatch(text, e0, spans[i + 1][0]):
            _, e1, r1 = spans[i + 1]
            out.append(
                Figure(
                    "period",
                    text[s0:e1],
                    {"en": f"{r0['en']} to {r1['en']}", "zh": f"{r0['zh']}至{r1['zh']}"},
                )
            )
            i += 2
            continue
        out.append(Figure("period", text[s0:e0], r0))
        i += 1
    return out


# questions that ask for a reason or a manner ("Why did Anthropic cut its margin forecast?"): a
# figure in their answer is part of the story, not the answer
_ASKS_REASON = re.compile(
    r"^\s*(?:why|how (?!much|many|big|large|high|fast|low|small|long|far|often)\w+)\b|为什么|為什麼|为何|為何|原因|理由|怎么|怎麼|如何",
    re.IGNORECASE,
)


# a question whose answer is an organisation: "Whose investment table…?", "Which of the tech groups…?",
# "哪家公司…?"
_ASKS_OWNER = re.compile(
    r"\bwhose\b|^\W*who\b|\bwhich (?:of the )?(?:[\w-]+ ){0,3}?(?:company|companies|firm|firms|group|groups|"
    r"investor|investors|conglomerate|conglomerates|giant|giants|bank|banks|institution|institutions)\b|"
    r"哪(?:一)?家|哪(?:个|個|些)(?:公司|企业|企業|集团|集團|机构|機構|巨头|巨頭|投资方|投資方)|谁|誰",
    re.IGNORECASE,
)


def asks_owner(question: str) -> bool:
    """Whether the question asks which organisation (whose table, which company)."""
    return _ASKS_OWNER.search(question) is not None


def asks_many(question: str) -> bool:
    """Whether the question asks for several names ("which companies", "哪些")."""
    return _ASKS_MANY.search(question) is not None or _ASKS_COUNT.search(question) is not None


def answering_kinds(question: str) -> tuple[str, ...]:
    """The kinds of figure that answer a question asking an amount of money or a share: "money" or
    "percent" as asked, and a percentage for a change in money ("by how much does it undercut the
    cost?"); () for any other question, an amount of unnamed kind too ("2010年的人口是多少?" is
    answered by a bare number)."""
    kind = asked_figure(question)
    if kind == "money":
        return ("money", "percent") if _ASKS_CHANGE.search(question) else ("money",)
    return ("percent",) if kind == "percent" else ()


def asks_when(question: str) -> bool:
    """Whether the question asks a time ("when was it published?", "什么时候")."""
    return _ASKS_WHEN.search(question) is not None


def asked_figure(question: str) -> str | None:
    """The kind of figure a question asks for, by its words: a quarter, a percentage, an amount."""
    if _ASKS_REASON.search(question):
        return None
    if _ASKS_QUARTER.search(question):
        return "quarter"
    if _ASKS_WHEN.search(question):
        return "period"
    if _ASKS_WHICH.search(question):
        return None  # the answer is a name ("哪一家電信公司"): its figures are not it
    if _ASKS_PERCENT.search(question):
        return "percent"
    if _ASKS_MONEY.search(question):
        return "money"
    if _ASKS_AMOUNT.search(question):
        return "amount"
    return None


_TO_TRADITIONAL = str.maketrans(
    {
        "亿": "億",
        "万": "萬",
        "欧": "歐",
        "镑": "鎊",
        "过": "過",
        "约": "約",
        "于": "於",
        "调": "調",
        "为": "為",
    }
)


def to_traditional(text: str) -> str:
    """A lead rendered in simplified script, for a question in traditional script (the few
    characters the renderings use)."""
    return text.translate(_TO_TRADITIONAL)


def _one_time(fig: Figure, context: str) -> bool:
    """Whether the period is the only time its quote states: a sentence's dates are often about other
    events ("人均生產總值88953元,…在仲量聯行2012年發表的…"), so one other year or day in the quoted
    passage makes "when" a guess."""
    years = set(_YEARISH.findall(context))
    days = len(_DAY.findall(context)) - len(_DAY.findall(fig.text))
    return years <= set(_YEARISH.findall(fig.text)) and days <= 0


# where a sentence divides into clauses: its commas and semicolons (not a thousands separator), a
# digest's " - " between bullets, a colon after a label ("事件:")
_CLAUSE = re.compile(r"[，；;。：]|(?<!\d),|,(?!\d)|:(?!\d)|\s[-–—]\s")


def clauses(text: str) -> list[str]:
    """A sentence's clauses, brackets kept with the clause they follow ("营收598.9亿美元(同比增长24%)")."""
    return [c for c in (x.strip() for x in _CLAUSE.split(text)) if c]


_SENTENCE_END = re.compile(r"(?<=[。！？!?；;])\s*|(?<=\.)\s+(?=[A-Z])|\n")


# the year a figure is stated for: written just before it in Chinese ("2029年的1.38万亿元"), just
# after it in English ("$1.38 trillion in 2029")
_YEAR_BEFORE = re.compile(
    r"((?:19|20)\d{2})\s*年(?:底|末|初|中|全年)?\s*(?:的|时|時|将|將|达到|達到|达|達|为|為|约|約|或|预计|預計)?\s*$"
)
_YEAR_AFTER = re.compile(r"\s*(?:in|by|for|during|as of)\s+(?:FY\s?)?((?:19|20)\d{2})(?!\d)", re.IGNORECASE)


def asked_years(question: str) -> set[str]:
    """The years a question names ("by 2029"): a figure stated for one of them answers it."""
    return set(_YEARISH.findall(question))


def _year_of(clause: str, fig: Figure) -> str | None:
    at = clause.find(fig.text)
    if at < 0:
        return None
    m = _YEAR_BEFORE.search(clause[:at]) or _YEAR_AFTER.match(clause[at + len(fig.text) :])
    return m.group(1) if m else None


def _for_years(found: dict[str, Figure], clause: str, years: Collection[str]) -> dict[str, Figure]:
    """Of a clause's figures, the one stated for the year the question asks about, when the others
    are stated for other years ("将从2025年的3106亿元增长至2029年的1.38万亿元" asked "by 2029"): a
    forecast's span gives each end its own year. All of them otherwise."""
    if len(found) < 2 or not years:
        return found
    anchored = {k: f for k, f in found.items() if _year_of(clause, f) in years}
    return anchored if len(anchored) == 1 else found


# "从一年前的约17%扩大至最近季度的略低于24%", "rose from 17% to 24%": a change's two ends, of which the
# value now is the second (the first only when the question asks what it was before)
_FROM = re.compile(r"(?:从|從|由|\bfrom\b)[^，,。；;]{0,12}$", re.IGNORECASE)
_TO = re.compile(r"^[^，,。；;]{0,16}?(?:至|到|为|為|\bto\b)[^，,。；;]{0,12}$", re.IGNORECASE)
_ASKS_BEFORE = re.compile(
    r"\b(?:before|previous(?:ly)?|prior|earlier|originally|from what)\b|此前|之前|先前|原来|原來|原先|原本",
    re.IGNORECASE,
)


def _change_end(found: dict[str, Figure], clause: str, earlier: bool) -> dict[str, Figure]:
    """Of a clause's two figures, the end of the change it states between them ("from X to Y": Y, or
    X when ``earlier`` is asked); both when the clause states no such change."""
    if len(found) != 2:
        return found
    (k1, f1), (k2, f2) = sorted(found.items(), key=lambda kv: clause.find(kv[1].text))
    a, b = clause.find(f1.text), clause.find(f2.text)
    if a < 0 or b < a + len(f1.text):
        return found
    ya, yb = _year_of(clause, f1), _year_of(clause, f2)
    if ya and yb and ya != yb:
        return found  # a forecast's two ends, each for its year: the year asked decides (``_for_years``)
    if _FROM.search(clause[max(0, a - 16) : a]) and _TO.match(clause[a + len(f1.text) : b]):
        return {k1: f1} if earlier else {k2: f2}
    return found


def _focused(
    quote: str,
    kind: str,
    given: set[str],
    focus: Callable[[str], float],
    subject: Callable[[str], float] | None = None,
    years: Collection[str] = (),
    earlier: bool = False,
) -> tuple[tuple[float, float], Figure] | None:
    """Of several figures of the ``kind`` asked, the one whose clause says most of what the question
    asks ("营收598.9亿美元,净利润227.7亿美元" for "net income": the second): the clause scoring most by
    ``focus`` must state exactly one such figure, and every other clause scoring as much the same
    one; None when no clause says anything of it, or another one says as much (never a guess).
    Clauses that say as much are told apart by their sentence's score by ``subject`` (the whole
    question): "优惠价格为2199元" belongs to the sentence about the product asked about, the same
    words about another product's price to another sentence. With the figure, its score (to weigh
    one quote's choice against another's). ``years``: the years the question asks about (see
    ``_for_years``); ``earlier``: the question asks a changed figure's value before (see
    ``_change_end``)."""
    scored: list[tuple[tuple[float, float], set[str], Figure]] = []
    for sentence in _SENTENCE_END.split(quote):
        about = subject(sentence) if subject is not None and sentence.strip() else 0.0
        for clause in clauses(sentence):
            found = {
                f.rendered["en"]: f
                for f in figures(clause) + (periods(clause) if kind == "period" else [])
                if f.kind == kind and f.rendered["en"] not in given
            }
            found = _change_end(_for_years(found, clause, years), clause, earlier)
            if found:
                scored.append(((focus(clause), about), set(found), next(iter(found.values()))))
    if not scored:
        return None
    score, names, best = max(scored, key=lambda x: x[0])
    if score[0] <= 0 or len(names) > 1 or any(s >= score and n != names for s, n, _ in scored):
        return None
    return score, best


# "What revenue and net income did Meta report?", "Meta的营收和净利润分别是多少?": a question asking
# two measures of one subject, each answered by its own figure (the words around "and", up to the
# verb or preposition that follows the second)
_CONJUNCTS_EN = re.compile(
    r"\b(?:what|how much|how many)\s+(?:(?:was|were|is|are|did|does|do|have|has)\s+)?"
    r"(?P<a>[\w'’-]+(?:\s+[\w'’-]+){0,3}?)\s+and\s+(?:the\s+|its\s+|their\s+)?"
    r"(?P<b>[\w'’-]+(?:\s+[\w'’-]+){0,3}?)\s+"
    r"(?:did|does|do|is|are|was|were|has|have|had|will|in|for|of|at|from|by|over|during)\b",
    re.IGNORECASE,
)
_CONJUNCTS_ZH = re.compile(
    r"(?P<a>[\u4e00-\u9fff]{2,6}?)(?:和|与|與|及|以及)(?P<b>[\u4e00-\u9fff]{2,6}?)"
    r"(?=分别|分別|各(?:是|为|為|自)|是|为|為|有|达到|達到|多少|几何|幾何|[?？])"
)
_CONJUNCT_START = re.compile(r"^.*[的之年度季]")


# "How does Google Cloud's operating margin compare with AWS's?", "谷歌云的运营利润率与AWS相比如何?": two
# subjects' figures side by side, the second subject's measure often left to the first's words
_COMPARE_EN = re.compile(
    r"^\W*how (?:does|do|did|has|have|is|are|was|were) (?P<a>.+?) compare(?:d)? (?:with|to|against) "
    r"(?P<b>.+?)[\s?.!]*$",
    re.IGNORECASE,
)
_COMPARE_ZH = re.compile(
    r"^(?P<a>[^，,。？?]+?)(?:与|與|和|跟|同)(?P<b>[^，,。？?]+?)(?:相比|比较|比較|对比|對比)"
    r"(?:如何|怎么样|怎麼樣|怎样|怎樣|孰高孰低|有何不同)?[\s?？。]*$"
)
_POSSESSIVE = re.compile(r"^(?P<who>.+?)['’]s?\s+(?P<what>.+)$")


def comparison_parts(question: str) -> list[str]:
    """The two things a comparison question sets side by side, each with the measure asked
    ("Google Cloud's operating margin", "AWS's operating margin"), or []."""
    if m := _COMPARE_EN.match(question):
        a, b = m.group("a").strip(), m.group("b").strip()
        owner = _POSSESSIVE.match(a)
        if owner and re.search(r"['’]s?$", b):
            b = f"{b} {owner.group('what')}"  # "AWS's" -> "AWS's operating margin"
        elif owner and len(b.split()) <= 3 and not _POSSESSIVE.match(b):
            b = f"{b}'s {owner.group('what')}"  # "AWS" -> "AWS's operating margin"
    elif m := _COMPARE_ZH.match(question):
        a, b = m.group("a").strip(), m.group("b").strip()
        if "的" in a and "的" not in b:
            b += a[a.index("的") :]  # "AWS" -> "AWS的运营利润率"
        elif "的" in b and "的" not in a:
            a += b[b.index("的") :]
    else:
        return []
    return [a, b] if a and b and a.lower() != b.lower() else []


def conjuncts(question: str) -> list[str]:
    """The two measures a question asks side by side, as it words them, or [] (see ``_CONJUNCTS_EN``)."""
    m = _CONJUNCTS_EN.search(question) or _CONJUNCTS_ZH.search(question)
    if m is None:
        return []
    a, b = m.group("a"), m.group("b")
    if _HAN_CHAR.search(a):
        a = _CONJUNCT_START.sub("", a)  # "第四季度的营收" -> "营收"
    return [a, b] if a and b and a.lower() != b.lower() else []


_HAN_CHAR = re.compile(r"[\u4e00-\u9fff]")


def conjunct_lead(
    question: str,
    script: str,
    quotes: list[tuple[int, str]],
    focus_of: Callable[[str], Callable[[str], float]],
) -> str | None:
    """The lead line of a question asking two measures ("revenue and net income"): each measure as
    the question words it, with the figure of the clause that says it (``_focused``, across the
    quoted ``(n, text)`` passages) and its ``[n]``: "revenue: US$59.89 billion [1]; net income:
    US$22.77 billion [1]". None unless both have a figure, and two different ones (one figure for
    two measures is a misreading). ``focus_of``: a measure's words -> how much a clause says of them."""
    parts, whole = conjuncts(question), asked_figure(question)
    if not parts and (parts := comparison_parts(question)):
        whole = asked_figure(parts[0]) or asked_figure(parts[1])
    if not parts or whole is None:
        return None
    earlier = _ASKS_BEFORE.search(question) is not None
    given = {f.rendered["en"] for f in figures(question) + periods(question)}
    years = asked_years(question)
    subject = focus_of(question)
    leads: list[str] = []
    seen: set[str] = set()
    for part in parts:
        kind = asked_figure(part) or whole
        focus = focus_of(part)
        picks = [
            (score, n, fig)
            for n, text in quotes
            for k in ({"amount": ["money", "percent"]}.get(kind, [kind]))
            if (found := _focused(text, k, given, focus, subject, years, earlier)) is not None
            for score, fig in [found]
        ]
        if not picks:
            return None
        score, n, fig = max(picks, key=lambda x: (x[0], -x[1]))
        if any(s >= score and f.rendered["en"] != fig.rendered["en"] for s, _, f in picks):
            return None
        text = qualified(fig, next(t for m, t in quotes if m == n), script)
        if fig.rendered["en"] in seen or unsupported_figures(text, [t for m, t in quotes if m == n]):
            return None
        seen.add(fig.rendered["en"])
        leads.append(f"{part}: {text} [{n}]" if script == "en" else f"{part}：{text} [{n}]")
    return "; ".join(leads)


# "How did Goldman Sachs revise its gold price forecast?", "高盛如何调整金价预测?": the answer is a
# change, stated as its new figure and the one it replaces
_ASKS_REVISION = re.compile(
    r"\bhow (?:did|has|have|does|do|will|would)\b.*\b(?:revise[ds]?|raise[ds]?|cut|lift(?:ed|s)?|"
    r"lower(?:ed|s)?|adjust(?:ed|s)?|change[ds]?|update[ds]?|upgrade[ds]?|downgrade[ds]?)\b|"
    r"(?:如何|怎样|怎樣|怎么|怎麼)(?:调整|調整|修正|修改|上调|上調|下调|下調)|"
    r"(?:调整|調整|上调|上調|下调|下調|上修|下修)(?:了)?(?:到|至|为|為)?(?:多少|几何|幾何)|"
    r"\bto what (?:level|figure|value|amount|number)\b|(?:到|至)(?:什么|什麼)水平",
    re.IGNORECASE,
)
# the verb of a revision, its direction, and "to" (the new figure follows)
_REVISED = re.compile(
    r"(?P<up>上调|上調|调升|調升|上修|调高|調高|提高|\braised\b|\blifted\b|\bhiked\b|\bincreased\b|"
    r"\brevised (?:up|upward|upwards)\b|\bupgraded\b)|"
    r"(?P<down>下调|下調|调降|調降|下修|调低|調低|降低|\bcut\b|\blowered\b|\breduced\b|\btrimmed\b|"
    r"\brevised (?:down|downward|downwards)\b|\bdowngraded\b)|"
    r"(?P<any>调整|調整|修正|\brevised\b|\badjusted\b|\bchanged\b)",
    re.IGNORECASE,
)
_TO_FIGURE = re.compile(r"^[^，,。；;.]{0,40}?(?:至|到|为|為|\bto\b)\s*(?:约|約|\babout\s)?$", re.IGNORECASE)
_BEFORE_FIGURE = re.compile(
    r"(?:先前|此前|之前|原先|原来|原來|原本|前次|上次|此前为|原为|原為|\bfrom\b|\bprevious(?:ly)?\b|\bprior\b|"
    r"\bearlier\b)[^，,。；;.\d]{0,10}$",
    re.IGNORECASE,
)
_VERB = {"up": ("raised", "上调"), "down": ("cut", "下调"), "any": ("revised", "调整")}


def revision_lead(question: str, script: str, quotes: list[tuple[int, str]]) -> str | None:
    """The lead line of a question asking how a figure was revised: "raised to US$4,900/oz (from
    US$4,300) [2]" from "上调至4900美元/盎司,先前预估为4300美元", the first quote stating a revision
    verb with the figure it leads to; the figure replaced when the same sentence states it. None
    when no quote states one (never a guess), or a number of it is not in the quote by value."""
    if not _ASKS_REVISION.search(question):
        return None
    given = {f.rendered["en"] for f in figures(question)}
    for n, quote in quotes:
        for sentence in _SENTENCE_END.split(quote):
            stated = [(sentence.find(f.text), f) for f in figures(sentence) if f.rendered["en"] not in given]
            for verb in _REVISED.finditer(sentence):
                after = [
                    (at, f)
                    for at, f in stated
                    if at >= verb.end() and _TO_FIGURE.match(sentence[verb.end() : at])
                ]
                if not after:
                    continue
                at, new = min(after, key=lambda x: x[0])
                old = next(
                    (
                        f
                        for a, f in stated
                        if f.kind == new.kind
                        and f.rendered["en"] != new.rendered["en"]
                        and _BEFORE_FIGURE.search(sentence[max(0, a - 16) : a])
                    ),
                    None,
                )
                en, zh = _VERB[verb.lastgroup or "any"]
                to, was = qualified(new, sentence, script), old and qualified(old, sentence, script)
                if script == "en":
                    text = f"{en} to {to}" + (f" (from {was})" if was else "")
                else:
                    text = f"{zh}至{to}" + (f"(此前为{was})" if was else "")
                if unsupported_figures(text, [quote]):
                    return None
                return f"{text} [{n}]"
    return None


# a listed company as broker reports write it, with its ticker: "微软(MSFT US)", "腾讯(700 HK)",
# "Datadog (DDOG US)", "宁德时代(300750.SZ)", "贵州茅台(600519)": a code with its market, or an A-share's
# six digits ("(TAR)" is an acronym); the name runs back to the word before it ("的", "、")
_TICKER = re.compile(
    r"(?P<name>[A-Za-z][\w&.\-]*(?: [A-Z][\w&.\-]*){0,3}|[\u4e00-\u9fff]{2,10})\s*[（(]\s*"
    r"(?P<code>(?:[A-Z]{1,5}|\d{1,6})(?:\s+(?:US|HK|CH|SH|SZ|JP|LN|KS|TT|GR|FP)|\.(?:SH|SZ|HK|US|N|O|OQ|T|L|KS))"
    r"|\d{6})\s*[)）]"
)
_NAME_BEFORE = re.compile(
    r"^.*(?:的|、|及|和|与|與|以及|包括|如|例如|关注|關注|推荐|推薦|看好|首选|首選|建议|建議)"
)
_ASKS_MANY = re.compile(
    r"哪些|哪几|哪幾|\b(?:two|three|four|five|several)\b|"
    r"\bwhich\s+(?:(?!(?:does|do|did|is|are|was|were|has|have)\b)[\w-]+\s+){0,2}?"
    r"(?!(?:does|is|was|has|this|its)\b)[\w-]{2,}s\b",
    re.IGNORECASE,
)


def listed_lead(question: str, script: str, sentence: str, n: int, context: str = "") -> str | None:
    """The lead line of a question asking which companies, from a sentence naming them with their
    tickers: "微软 (MSFT US), 派拓网络 (PANW US), Datadog (DDOG US) [1]" (the ticker names a company in any
    language). None unless the question asks "which", and asks several when the sentence names
    several. Failing tickers, the names of the one enumeration of as many product names as the question
    asks for ("which two models"), in the sentence or the whole quote ``context`` it is the best of."""
    if not _ASKS_WHICH.search(question) and "哪些" not in question and not _ASKS_COUNT.search(question):
        return None
    named: list[str] = []
    for m in _TICKER.finditer(sentence):
        name = _NAME_BEFORE.sub("", m.group("name")) if _HAN_CHAR.match(m.group("name")) else m.group("name")
        if len(name) >= 2 and f"{name} ({m.group('code')})" not in named:
            named.append(f"{name} ({m.group('code')})")
    if not named:
        named = _enumerated(context or sentence, _asked_count(question))
    if not named or (len(named) > 1 and not asks_many(question)):
        return None
    return ("、" if script != "en" else ", ").join(named) + f" [{n}]"


# "Which two 3D models…?", "哪两款模型": the number of names a question asks for
_COUNT_WORDS = {
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "两": 2,
    "兩": 2,
    "二": 2,
    "三": 3,
    "四": 4,
    "五": 5,
}
_ASKS_COUNT = re.compile(
    r"\bwhich (two|three|four|five)\b|哪([两兩二三四五])(?:个|個|款|家|项|項|种|種|位|只|部|支|名|条|條)",
    re.IGNORECASE,
)
# a product or model name as text writes it: Latin letters or digits, perhaps after a Chinese brand
# ("混元3D-Omni", "Gemini 3", "GPT-5"); Chinese after it is the sentence going on ("…发布并开源")
_PRODUCT = r"[\u4e00-\u9fff]{0,4}[A-Za-z0-9][A-Za-z0-9.+\-]*(?: [A-Za-z0-9][A-Za-z0-9.+\-]*)?"
_ENUMERATION = re.compile(rf"(?<![A-Za-z0-9.+\-])({_PRODUCT}(?:\s*(?:、|和|及|与|與)\s*{_PRODUCT})+)")
_ENUM_SEP = re.compile(r"\s*(?:、|和|及|与|與)\s*")


def _asked_count(question: str) -> int:
    m = _ASKS_COUNT.search(question)
    return _COUNT_WORDS[(m.group(1) or m.group(2)).lower()] if m else 0


def _enumerated(sentence: str, count: int) -> list[str]:
    """The names of the one enumeration of product or model names in ``sentence`` that has as many as
    the question asks for ("混元3D-Omni、混元3D-Part发布并开源" for "which two"); [] when the question
    asks no number, or no enumeration or several have it."""
    if count < 2 or len(_HAN_CHAR.findall(sentence)) < 4:
        return []  # in English text every word is Latin: no names stand out so
    found = []
    for m in _ENUMERATION.finditer(sentence):
        items = [x.strip() for x in _ENUM_SEP.split(m.group(1)) if x.strip()]
        # a Chinese brand before the Latin part belongs to the name when every item has it
        # ("混元3D-Omni、混元3D-Part"); else it is the sentence's verb ("发布了GPT-5")
        brands = {re.match(r"[\u4e00-\u9fff]*", x).group(0) for x in items}  # type: ignore[union-attr]
        if len(brands) > 1:
            items = [re.sub(r"^[\u4e00-\u9fff]+", "", x) for x in items]
        # a name, not a letter: "丹拿A、B型" enumerates two types of one bus
        if len(set(items)) == count == len(items) and all(
            re.search(r"[A-Za-z]", x) and len(re.findall(r"[A-Za-z0-9]", x)) >= 2 for x in items
        ):
            found.append(items)
    return found[0] if len(found) == 1 else []


# a figure's qualifier ("超过50亿元", "about $5 billion", "1000亿元左右"): a lead without it would
# state more than its quote does. Each class with its English and Chinese words.
_QUALIFIERS = (
    (
        "just over",
        "略高于",
        r"略高于|略高於|略超过|略超過|\bjust over|\bslightly (?:above|over|more than)",
        "",
    ),
    (
        "just under",
        "略低于",
        r"略低于|略低於|略少于|略少於|\bjust under|\bslightly (?:below|under|less than)",
        "",
    ),
    (
        "over",
        "超过",
        r"超过|超過|逾|多于|多於|高于|高於|\bmore than|\bover|\babove|\bin excess of",
        r"以上",
    ),
    ("at least", "至少", r"至少|不少于|不少於|不低于|不低於|\bat least", ""),
    ("about", "约", r"大约|大約|大概|约|約|\babout|\baround|\broughly|\bapproximately|\bsome", r"左右|上下"),
    ("nearly", "近", r"将近|將近|接近|逼近|近|\bnearly|\balmost|\bclose to", ""),
    ("less than", "不到", r"不到|不足|少于|少於|低于|低於|\bless than|\bunder|\bbelow", r"以下|以内|以內"),
    ("up to", "最多", r"最多|最高|\bup to", ""),
)
_QUALIFIER_BEFORE = [
    (en, zh, re.compile(rf"(?:{before})\s*(?:了|为|為|是|达|達|的)?\s*$", re.IGNORECASE))
    for en, zh, before, _ in _QUALIFIERS
]
_QUALIFIER_AFTER = [(en, zh, re.compile(rf"^\s*(?:{after})")) for en, zh, _, after in _QUALIFIERS if after]


def qualified(fig: Figure, quote: str, script: str) -> str:
    """A figure rendered with the qualifier its quote gives it ("over RMB 5 billion" for
    超过50亿元人民币): the quote's first writing of it decides."""
    text = fig.rendered["en" if script == "en" else "zh"]
    at = quote.find(fig.text)
    if at < 0:
        return text
    before, after = quote[max(0, at - 16) : at], quote[at + len(fig.text) : at + len(fig.text) + 4]
    for en, zh, rx in _QUALIFIER_BEFORE:
        if rx.search(before):
            return f"{en} {text}" if script == "en" else f"{zh}{text}"
    unit = _PER_UNIT.match(quote[at + len(fig.text) : at + len(fig.text) + 6])
    if unit:  # "4900美元/盎司": a price per ounce
        text += "/" + _UNITS[unit.group(1).lower()]["en" if script == "en" else "zh"]
    for en, zh, rx in _QUALIFIER_AFTER:
        if rx.match(after):
            return f"{en} {text}" if script == "en" else f"{zh}{text}"
    return text


_UNITS = {
    **dict.fromkeys(["盎司", "oz", "ounce"], {"en": "oz", "zh": "盎司"}),
    **dict.fromkeys(["桶", "bbl", "barrel"], {"en": "bbl", "zh": "桶"}),
    **dict.fromkeys(["吨", "噸", "tonne", "ton", "t"], {"en": "t", "zh": "吨"}),
    **dict.fromkeys(["股", "share"], {"en": "share", "zh": "股"}),
}
_PER_UNIT = re.compile(
    r"^\s*(?:/|每|per\b)\s*(盎司|桶|吨|噸|股|oz|ounce|bbl|barrel|tonne|ton|t|share)(?![A-Za-z])",
    re.IGNORECASE,
)


def lead_line(
    question: str,
    script: str,
    quote: str,
    n: int,
    context: str = "",
    focus: Callable[[str], float] | None = None,
    subject: Callable[[str], float] | None = None,
    years: Collection[str] | None = None,
) -> str | None:
    """The figure the question asks for, in the question's ``script`` ("en", else Chinese), cited ``[n]``;
    None when the quote does not state exactly one such figure (other than one the question gives)
    and ``focus`` picks none of them (see ``_focused``), or when the rendering's numbers are not all
    in the quote by value. ``context`` is the whole quoted passage ``quote`` is the best sentence of
    (a date must be the only one there). ``focus``: how much of what the question asks a clause
    says (its words, in either language); ``subject``: the same for the whole question, when this
    one is a part of it. When ``quote`` states several figures, the choice is made among the
    clauses of the whole ``context``: the right one may be in a sentence beside it. ``years``: the
    years asked about, when ``question`` is a part of a question that names them (else its own)."""
    kind = asked_figure(question)
    if kind is None:
        return None
    # the kind asked, then (for an amount of unnamed kind: "By how much does it undercut the cost?")
    # the other kind of amount, when the quote states none of the first
    tries = {"amount": ["money"], "period": ["period"]}.get(kind, [kind])
    if kind == "percent" and _ASKS_AMOUNT.search(question):
        tries.append("money")
    elif kind in ("money", "amount") and _ASKS_CHANGE.search(question):
        tries.append("percent")  # how much a figure changed may be a share of it
    stated = figures(quote) + (periods(quote) if kind == "period" else [])
    given = {f.rendered["en"] for f in figures(question) + periods(question)}
    wanted = asked_years(question) if years is None else set(years)
    fig = None
    for k in tries:
        found = {f.rendered["en"]: f for f in stated if f.kind == k and f.rendered["en"] not in given}
        if len(found) > 1:
            # which one: the one whose clause alone says what the question asks, else never a guess
            picked = (
                _focused(
                    context or quote,
                    k,
                    given,
                    focus,
                    subject or focus,
                    wanted,
                    _ASKS_BEFORE.search(question) is not None,
                )
                if focus is not None
                else None
            )
            if picked is None:
                return None
            fig = picked[1]
            break
        if found:
            fig = next(iter(found.values()))
            break
    if fig is None or (fig.kind == "period" and not _one_time(fig, context or quote)):
        return None
    if fig.kind == "percent" and _OTHER_SHARE.search(context or quote):
        return None
    text = qualified(fig, context or quote, script)
    if unsupported_figures(text, [context or quote]):
        return None
    return f"{text} [{n}]"
