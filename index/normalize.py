"""Text normalisation and tokenisation for MATCHING only (lexical index, query terms).

Displayed and cited text always stays exactly as written; these functions may change length.

Script conversion: OpenCC ``t2s`` (character level) followed by a small curated table of Taiwan/Hong Kong
tech-and-finance vocabulary (輝達 -> 英伟达, 晶片 -> 芯片, 資料 -> 数据, ...). We deliberately do not use
OpenCC's phrase-level ``tw2sp``: it also rewrites ordinary mainland words when it is run over simplified
text (核心 -> 内核, 整合 -> 集成, 建立 -> 创建, 转向量价 -> 转矢量价), so simplified documents and
queries would stop matching each other. ``t2s`` is (almost) the identity on simplified text, and the
curated table only holds words that mean the same thing on both sides of the strait.
"""

from __future__ import annotations

import functools
import logging
import re
import unicodedata
from collections.abc import Callable
from typing import Any

# Taiwan/HK word -> mainland word, keyed by the t2s (simplified-character) form of the Taiwan word.
_REGIONAL_TERMS: dict[str, str] = {
    "辉达": "英伟达",
    "晶片": "芯片",
    "网际网路": "互联网",
    "网路": "网络",
    "资料": "数据",
    "资讯": "信息",
    "软体": "软件",
    "硬体": "硬件",
    "韧体": "固件",
    "演算法": "算法",
    "伺服器": "服务器",
    "记忆体": "内存",
    "最佳化": "优化",
    "原始码": "源代码",
    "丛集": "集群",
    "搜寻": "搜索",
    "讯号": "信号",
    "使用者": "用户",
    "人工智慧": "人工智能",
    "智慧型": "智能",
    "点选率": "点击率",
    "程式设计": "编程",
    "程式": "程序",
    "影片": "视频",
    "视讯": "视频",
    "数位": "数字",
    "联准会": "美联储",
    "超微": "AMD",
    "高速运算": "高性能计算",
    "营运": "运营",
}
_REGIONAL_RE = re.compile("|".join(sorted(map(re.escape, _REGIONAL_TERMS), key=len, reverse=True)))

_HAN = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
# Han runs go to jieba; alphanumeric runs become tokens (decimals kept whole: "11.75", "4.9").
_RUN_RE = re.compile(rf"([{_HAN}]+)|([0-9]+(?:\.[0-9]+)+|[a-z0-9]+)")
_THOUSANDS_RE = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")

_STOPWORDS_TEXT = """
a an the and or but if of to in on at by for with from as into about than then so
is are was were be been being am do does did has have had it its this that these those
there their they them he she his her we our you your i me my not no nor can could will would
shall should may might must what which who whom whose when where why how also just very
的 了 是 在 和 与 及 等 也 都 而 被 把 对 将 从 为 并 其 这 那 之 以 于 或 着 地 得 个 吗 呢 吧 啊
"""
STOPWORDS: frozenset[str] = frozenset(_STOPWORDS_TEXT.split())


@functools.cache
def _t2s() -> Callable[[str], str]:
    import opencc  # loaded on first use, never at import

    return opencc.OpenCC("t2s").convert  # type: ignore[no-any-return]


@functools.cache
def _jieba_module() -> Any:
    import jieba  # loaded on first use: building the prefix dictionary takes ~1 s

    jieba.setLogLevel(logging.WARNING)
    return jieba


def _jieba() -> Any:
    """jieba's default tokenizer, the one ``jieba.posseg`` and the lexicon's word frequencies use too:
    one prefix dictionary in memory instead of two, and one cache file, which ``index.cache.
    use_cache_dir`` places in the data directory before the dictionary is first loaded."""
    tok = _jieba_module().dt
    tok.check_initialized()
    return tok


_HAN_CHAR = re.compile(f"[{_HAN}]")
_LATIN_CHAR = re.compile(r"[A-Za-z]")


def detect_lang(text: str) -> str:
    """``zh`` or ``en``: whether a text is mostly Chinese. Retrieval compares a question's lexical
    matches only among passages of one language (see ``rag.retrieve``), and answers match words by
    the passage's language."""
    han = len(_HAN_CHAR.findall(text))
    latin = len(_LATIN_CHAR.findall(text))
    return "zh" if han and han * 2 >= latin * 0.5 else "en"


def to_simplified(text: str) -> str:
    """Character-level traditional -> simplified only (no NFKC, no case folding, no vocabulary)."""
    return _t2s()(text)


def is_traditional(text: str) -> bool:
    """Whether the text is written in traditional characters (so an answer can reply in kind).

    Compare this rather than ``normalize(text)`` with the input: ``normalize`` also changes
    full-width punctuation, letter case and regional vocabulary, which says nothing about the script.
    """
    return to_simplified(text) != text


def normalize(text: str) -> str:
    """NFKC (full-width -> half-width), traditional -> simplified (+ regional vocabulary), case folding.

    So that a query typed in either script, or with full-width letters, matches the same index terms.
    """
    t = unicodedata.normalize("NFKC", text)
    t = _t2s()(t)
    t = _REGIONAL_RE.sub(lambda m: _REGIONAL_TERMS[m.group(0)], t)
    return t.casefold()


def tokenize(text: str) -> list[str]:
    """Tokens for BM25 and query matching; deterministic.

    Han runs are segmented with jieba's ``lcut_for_search``: besides the word it also emits the shorter
    dictionary words inside long ones (资本支出 -> 资本, 支出, 资本支出), so a query that uses only part
    of a compound still matches. Latin/digit runs are split at every non-alphanumeric character
    ("gpt-4o" -> "gpt", "4o"; "h20" stays whole), thousands separators are removed ("1,037" -> "1037")
    and decimals are kept whole ("11.75"). Punctuation, whitespace and stopwords are dropped.
    """
    t = _THOUSANDS_RE.sub("", normalize(text))
    out: list[str] = []
    jb = None
    for m in _RUN_RE.finditer(t):
        han, word = m.group(1), m.group(2)
        if han:
            jb = jb or _jieba()
            out.extend(w for w in jb.lcut_for_search(han, HMM=True) if w.strip() and w not in STOPWORDS)
        elif word not in STOPWORDS:
            out.append(word)
    return out
