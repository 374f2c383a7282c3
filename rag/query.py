"""Query analysis: what a question asks for, in the terms each index field understands.

An English question over Chinese text is expanded with Chinese words from CC-CEDICT for the ``text``
field and reduced to English stems for the ``gloss`` field; a Chinese question (either script) is
normalised to simplified and segmented. Years, figures and Latin-script names are kept apart: they
are the constraints an answer must satisfy (a question about 2027 is not answered by a 2026 figure).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from index.lexicon import (
    ENGLISH_STOPWORDS,
    Lexicon,
    chinese_sound_matches,
    english_stems,
    expand_abbreviations,
    sound_matches,
    spelling_matches,
)
from index.normalize import detect_lang, normalize, tokenize

_HAN = re.compile(r"[\u4e00-\u9fff]")
_YEAR = re.compile(r"(?<!\d)(19|20)\d{2}(?!\d)")
# a year the question names: 1900-2099 however written; an earlier one (1562, 1756) only where it reads
# as a year: "年" after it, or "in/since/by…" before it (an English bare 1500 may count soldiers)
_YEAR_ANY = re.compile(r"(?<![\d$£€¥])(?<!\d[.,])(1\d{3}|20\d{2})(?!\d|[.,]\d)")
_YEAR_WORD_BEFORE = re.compile(
    r"\b(?:in|of|by|to|from|since|until|till|after|before|during|between|and|around|circa|year)\s+$", re.I
)
_NOT_A_YEAR_AFTER = re.compile(r"\s*(?:%|％|年代|'?s\b)")


def _is_year(text: str, m: re.Match[str]) -> bool:
    if _NOT_A_YEAR_AFTER.match(text, m.end()):
        return False
    if re.match(r"(?:\s*[-–—]\s*\d{2}(?!\d))?\s*年", text[m.end() :]) or m.group(1)[:2] in ("19", "20"):
        return True
    return bool(_YEAR_WORD_BEFORE.search(text[max(0, m.start() - 12) : m.start()]))


# the title of a work, as Chinese writes it: 《大公报》
_TITLE = re.compile(r"《([^《》]{1,40})》")
# a decade: "1930年代", "80年代", "the 1980s", "the 70's"
DECADE = re.compile(r"(?<![\d.])(1\d|20)?(\d)0(?:\s*年代|'?s\b)")
# two years joined into a span ("1620-21年间", "1870年至1900年", "between 1991 and 2000"): any
# year of it answers
_SPAN_JOIN = re.compile(r"\s*年?\s*(?:-|–|—|~|～|至|到|to|until|through|and)\s*")


def time_constraints(text: str) -> tuple[list[str], list[tuple[int, int]]]:
    """The years a question names, each of which its answer must state, and the spans of years
    (a decade, a range) of which it must state one; a decade without its century ("the 70's") is a
    span of two-digit years (0-99)."""
    marks: list[tuple[int, int, int]] = []
    for m in _YEAR_ANY.finditer(text):
        if _is_year(text, m):
            marks.append((m.start(), m.end(), int(m.group(1))))
    years: list[str] = []
    spans: list[tuple[int, int]] = []
    i = 0
    while i < len(marks):
        a0, a1, y0 = marks[i]
        if i + 1 < len(marks):
            b0, _, y1 = marks[i + 1]
            join = _SPAN_JOIN.fullmatch(text, a1, b0)
            if (
                join
                and y1 > y0
                and ("and" not in join.group(0) or text[:a0].rstrip().lower().endswith("between"))
            ):
                spans.append((y0, y1))
                i += 2
                continue
        # "1620-21年": a span whose end keeps only its last digits
        short = re.match(r"\s*[-–—]\s*(\d{2})(?!\d)", text[a1:])
        if short and int(short.group(1)) > y0 % 100:
            spans.append((y0, y0 - y0 % 100 + int(short.group(1))))
        else:
            years.append(str(y0))
        i += 1
    for m in DECADE.finditer(text):
        lo = int((m.group(1) or "") + m.group(2) + "0")
        spans.append((lo, lo + 9))
    return sorted(set(years)), sorted(set(spans))


_NUMBER = re.compile(r"(?<![\d.])\d+(?:\.\d+)?(?![\d.])")
_POSSESSIVE = re.compile(r"['’]s$")
_POSSESSIVE_ANY = re.compile(r"(?<=[A-Za-z])['’]s\b")
# Latin-script names and codes; boundaries are written out because \b sees no edge between a
# Latin letter and a Chinese character ("Anthropic正在...")
_NAME = re.compile(
    r"(?<![A-Za-z0-9])(?:[A-Z][A-Za-z0-9]*(?:[-'][A-Za-z0-9]+)*|[A-Za-z]*\d+[A-Za-z]+[A-Za-z0-9]*)(?![A-Za-z0-9])"
)

_ACRONYM = re.compile(r"[A-Z][A-Z0-9]{1,5}")
_NEXT_NAME = re.compile(r"\s+[A-Z]")
# question words that are capitalised at a sentence start but are no names
_NOT_NAMES = frozenset(
    "what which who whom whose when where why how is are was were do does did according around by in on "
    "the a an for of to and or if as at from with january february march april may june july august "
    "september october november december jan feb mar apr jun jul aug sep sept oct nov dec".split()
)


@dataclass
class Query:
    text: str
    lang: str  # "en" or "zh"
    text_terms: dict[str, float] = field(default_factory=dict)  # for the BM25 "text" field
    gloss_terms: dict[str, float] = field(default_factory=dict)  # for the BM25 "gloss" field
    years: list[str] = field(default_factory=list)  # each must be stated (see ``time_constraints``)
    year_spans: list[tuple[int, int]] = field(default_factory=list)  # one year of each must be
    titles: list[str] = field(default_factory=list)  # works named in 《》, normalised
    names: list[str] = field(default_factory=list)  # Latin-script names / codes as typed (lower-cased)
    translations: list[str] = field(default_factory=list)  # Chinese words an English question maps to
    name_words: dict[str, tuple[str, ...]] = field(default_factory=dict)  # name -> corpus words read so
    name_translations: dict[str, tuple[str, ...]] = field(default_factory=dict)  # name -> dictionary words
    entities: list[str] = field(default_factory=list)  # names + Chinese proper nouns, normalised
    acronyms: list[str] = field(default_factory=list)  # names typed in capitals ("CPM"), normalised
    glosses: dict[str, tuple[str, ...]] = field(default_factory=dict)  # Chinese word -> English stems
    multipart: bool = False  # asks for more than one thing (see ``is_multipart``)
    # the terms of whom it quotes ("according to 36Kr's profile of Yin Qi", "据路透社报道"): see
    # ``attribution_terms``
    attribution: frozenset[str] = frozenset()

    def forms(self, entity: str) -> tuple[str, ...]:
        """How the corpus may write an entity: as typed, without the kind of place or body it names
        (曼尼托巴省 -> 曼尼托巴, 罗马帝国 -> 罗马: a text names it so once it has said what it is), as
        a word read so in pinyin, or translated."""
        bare = _KIND_SUFFIX.sub("", entity) if _HAN.search(entity) else entity
        found = (
            entity,
            *((bare,) if len(bare) >= 2 else ()),
            *self.name_words.get(entity, ()),
            *self.name_translations.get(entity, ()),
        )
        return tuple(dict.fromkeys(found))


# whom a question quotes: "..., according to 36Kr's profile of Yin Qi?", "据36氪报道,…"
_ATTRIBUTION = re.compile(
    r"\baccording to\s+([^,?;]+)|(?:据|據|根据|根據)\s*([^,，?？;；。]{2,24}?)\s*"
    r"(?:的)?(?:报道|報道|报告|報告|分析|文章|披露|消息|介绍|介紹|称|稱)",
    re.IGNORECASE,
)


def attribution_terms(q: Query) -> frozenset[str]:
    """The terms of the source a question attributes its answer to: what the passage must be (its
    header, its article), not what the answering sentence must say. The sentence "阶跃星辰获得超过50亿元
    人民币的新一轮融资" answers "How much did StepFun raise, according to 36Kr's profile of Yin Qi?"
    although 36氪 and 印奇 are in its article's header and its paragraph, not in it. Data a question
    cites ("根据2015年的资料统计") is what it asks about, not a source."""
    out: set[str] = set()
    for m in _ATTRIBUTION.finditer(q.text):
        phrase = m.group(1) or m.group(2)
        # a year or a figure in it is the question's to pin down ("根据2015年的报告"), not the source's
        out.update(t for t in (*tokenize(phrase), *english_stems(phrase)) if not t.replace(".", "").isdigit())
        low = normalize(phrase)
        for n in q.names:
            if n in low:
                out.update(t for f in q.forms(n)[1:] for t in tokenize(f))
    return frozenset(out)


# what a Chinese name says its bearer is, after the name itself
_KIND_SUFFIX = re.compile(
    r"(?:帝国|王国|公国|共和国|特别行政区|自治区|地区|一带|省|市|县|州|区|镇|乡|村|国|公司|集团)$"
)


# questions that ask for more than one thing: two question clauses ("...来自哪家媒体?发布于哪一天?"),
# "respectively"/"分别", "both", a comparison, or ", and what/how/..." joining a second question.
# ("...以及哪一个?" asks for one missing item of a list: one thing.)
_MULTI_ZH = re.compile(
    r"[?？；;][^?？；;]{2,}[?？]|分别|分別|各自|各是|哪个更|哪個更|谁更|誰更|相比|對比|对比"
)
_MULTI_EN = re.compile(
    r",? and (what|which|how|when|where|who|whom|why|to what)\b|\brespectively\b|\bboth\b|\bcompar|"
    r"\bversus\b|\bvs\.?\s|\b(more|less|higher|lower|larger|bigger|smaller)\b[^?]*,[^?]* or [^?]*\?",
    re.IGNORECASE,
)


def is_multipart(text: str) -> bool:
    """Whether a question asks for several things, each needing its own evidence: such a question
    is answered with sentences that together cover it, one sentence rarely does."""
    return bool((_MULTI_ZH if _HAN.search(text) else _MULTI_EN).search(text))


_PROPER = frozenset({"nr", "ns", "nt", "nz", "nrt", "nrfg"})


def chinese_proper_nouns(text: str) -> list[str]:
    """Names of people, places, organisations and products in a Chinese text (jieba's POS tags)."""
    import jieba.posseg

    return list(dict.fromkeys(w for w, flag in jieba.posseg.lcut(text) if flag in _PROPER and len(w) >= 2))


def _capitalised_as_first(text: str, m: re.Match[str], lexicon: Lexicon | None) -> bool:
    """An English question's first word, capitalised only for standing first: an ordinary word
    ("Boycotting, refusing to pay taxes…", "Highways built in…"), not a possessive ("Apple's…"), a
    name the dictionary writes capitalised ("Paris…") or a glossary lists, nor the first of two
    capitalised words (a person's name in pinyin: "Pan Shicheng…")."""
    w = m.group(0)
    return (
        lexicon is not None
        and not re.search(r"[A-Za-z0-9]", text[: m.start()])
        and not _POSSESSIVE.search(w)
        and w[:1].isupper()
        and w[1:].islower()
        and lexicon.is_common_word(w)
        and not _NEXT_NAME.match(text, m.end())  # "Pan Shicheng…", "Cai Min…": a two-word name
    )


def analyze(
    text: str,
    lexicon: Lexicon | None,
    pinyin_index: Mapping[str, tuple[str, ...]] | None = None,
    translation_weight: float = 0.35,
    sound_index: Mapping[str, tuple[str, ...]] | None = None,
    sound_weight: float = 0.5,
    english_sound_index: Mapping[str, tuple[str, ...]] | None = None,
    spelling_index: Mapping[str, tuple[str, ...]] | None = None,
) -> Query:
    lang = detect_lang(text)
    q = Query(text=text, lang=lang, multipart=is_multipart(text))
    for t in tokenize(_POSSESSIVE_ANY.sub("", text)):
        q.text_terms[t] = q.text_terms.get(t, 0.0) + 1.0
    q.years, q.year_spans = time_constraints(text)
    q.titles = list(dict.fromkeys(normalize(t) for t in _TITLE.findall(text) if t.strip()))
    names = []
    spans = []
    for m in _NAME.finditer(text):
        w = _POSSESSIVE.sub("", m.group(0))
        if (
            w.lower() in _NOT_NAMES
            or w.lower() in ENGLISH_STOPWORDS
            or _YEAR.fullmatch(w)
            or DECADE.fullmatch(w)
        ):
            continue
        if lang == "en" and _capitalised_as_first(text, m, lexicon):
            continue
        names.append(normalize(w))
        spans.append((m.start(), m.end(), normalize(w)))
    q.names = list(dict.fromkeys(names))
    # an acronym standing alone, not the start of a longer name ("CMB International")
    q.acronyms = [
        n
        for a, b, n in spans
        if _ACRONYM.fullmatch(_POSSESSIVE.sub("", text[a:b])) and not _NEXT_NAME.match(text, b)
    ]
    if pinyin_index:
        # single names and adjacent pairs ("Yin Qi" -> yinqi) looked up by their pinyin reading
        keys = [n for n in q.names]
        keys += [
            a[2] + b[2] for a, b in zip(spans, spans[1:], strict=False) if text[a[1] : b[0]].strip() == ""
        ]
        parts: set[str] = set()
        if lexicon is not None:
            # a two-word name the dictionary knows as a phrase ("Hong Kong" -> 香港) is that name, not
            # its words: "United" read alone sounds like 印度 and "States" translates to 说道
            for a, b in zip(spans, spans[1:], strict=False):
                pair = f"{a[2]} {b[2]}"
                stems = english_stems(pair)
                if text[a[1] : b[0]].strip() == "" and len(stems) == 2 and lexicon.has_phrase(stems):
                    q.names.append(pair)
                    parts.update((a[2], b[2]))
        for key in keys:
            words = pinyin_index.get(re.sub(r"[^a-z]", "", key))
            if words and key not in parts:
                q.name_words[key] = words
                if key not in q.names:
                    q.names.append(key)
                for w in words:
                    q.text_terms[w] = max(q.text_terms.get(w, 0.0), 1.0)
        q.names = [n for n in q.names if n not in parts]
    if spelling_index:
        # a name the corpus writes one letter otherwise ("Quennevile" for its "Quenneville") is that
        # name; a word the dictionary has is no misspelling ("Apple" is not the corpus's "apply")
        for key in [n for n in q.names if n not in q.name_words]:
            if lexicon is not None and lexicon.translates(key):
                continue
            words = spelling_matches(key, spelling_index)
            if words:
                q.name_words[key] = words
                for w in words:
                    q.text_terms[w] = max(q.text_terms.get(w, 0.0), 1.0)
    if sound_index and lang == "en":
        # a foreign name a Chinese text writes by sound (Twigg -> 特威格): a looser match than pinyin,
        # so it weighs less in retrieval, but the name is not unknown to the corpus
        # (not a name a glossary writes: StepFun is 阶跃星辰, not 斯蒂芬 "Stephen"; nor an acronym,
        # read by its letters: IPCC is no 博格)
        for key in [n for n in q.names if " " not in n and n not in q.name_words and not n.isdigit()]:
            if key in q.acronyms or (lexicon is not None and lexicon.in_glossary(english_stems(key))):
                continue
            words = sound_matches(key, sound_index)
            if words:
                q.name_words[key] = words
                for w in words:
                    q.text_terms[w] = max(q.text_terms.get(w, 0.0), sound_weight)
    q.entities = list(q.names)
    if lang == "zh":
        q.entities += [
            w
            for w in chinese_proper_nouns(normalize(text))
            if w not in q.entities and not (lexicon is not None and lexicon.is_common_chinese(w))
        ]
    if lexicon is not None:
        for n in q.names:
            stems = english_stems(expand_abbreviations(n))
            q.name_translations[n] = tuple(w for w, _ in lexicon.translate(stems)[:3])
    if lexicon is not None:
        if lang == "en":
            stems = english_stems(expand_abbreviations(normalize(text)))
            for s in stems:
                q.gloss_terms[s] = q.gloss_terms.get(s, 0.0) + 1.0
            for w, sc in lexicon.translate(stems):
                q.translations.append(w)
                for t in tokenize(w):
                    q.text_terms[t] = max(q.text_terms.get(t, 0.0), translation_weight * sc)
        else:
            for t in list(q.text_terms):
                if _HAN.search(t):
                    q.glosses[t] = lexicon.gloss(t)
                    for g in q.glosses[t]:
                        q.gloss_terms[g] = max(q.gloss_terms.get(g, 0.0), 0.3)
                else:
                    for s in english_stems(t):
                        q.gloss_terms[s] = max(q.gloss_terms.get(s, 0.0), 1.0)
            # a dictionary word the segmenter cut apart (四分卫 -> 四分 / 卫) is glossed whole too:
            # an English text writes "quarterback", not a quarter and a guard
            for word, pieces in lexicon.split_words(text):
                whole = lexicon.gloss(word)
                for t in pieces:
                    if t in q.glosses:
                        q.glosses[t] = tuple(dict.fromkeys((*q.glosses[t], *whole)))
                for g in whole:
                    q.gloss_terms[g] = max(q.gloss_terms.get(g, 0.0), 0.3)
            if english_sound_index:
                # a foreign name written by sound (弗雷斯诺) has no dictionary gloss, or a wrong one
                # (谢尔 "thank"): the English corpus words of its sound (fresno) gloss its pieces
                for name, words in chinese_sound_matches(normalize(text), lexicon, english_sound_index):
                    sounds = tuple(dict.fromkeys(st for w in words for st in english_stems(w)))
                    for t in [t for t in q.text_terms if t in name or name in t] + [name]:
                        q.glosses[t] = (*q.glosses.get(t, ()), *sounds)
                    for st in sounds:
                        q.gloss_terms[st] = max(q.gloss_terms.get(st, 0.0), sound_weight)
    q.attribution = attribution_terms(q)
    return q
