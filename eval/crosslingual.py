"""Cross-lingual calibration questions built from a Chinese gold set, without a translation model.

The calibration set (``shared/train``) holds Chinese questions over Chinese text only, so it cannot
tell how much the aligned embedder should count against the dictionary's lexical bridge when the
question and the passage are in different languages, nor how confident an answer drawn across
languages is. There is no machine-translation model that installs offline, so each question is
rendered word by word into English through CC-CEDICT: a question word becomes its English question
word, a Chinese name its pinyin ("丁磊" -> "Ding Lei", as English news writes names it cannot
translate), any other word one of its first dictionary senses, and figures stay as they are.

The English is crude ("in 1997 who found NetEase company"), but it has what the parameters respond to:
content words an English asker would use, names the corpus never writes in Latin letters, and a
distance between question and passage that only the aligned model and the dictionary can cross. The
same evidence and the same near-miss labels carry over, so the items fit cross-lingual weights and a
cross-lingual abstention model exactly as the Chinese ones fit the same-language ones.

``python -m eval.crosslingual ../shared/train/gold.jsonl OUT.jsonl`` writes the rendered set.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import re
import sys
import unicodedata
from collections.abc import Iterator
from functools import cache
from pathlib import Path

from index.lexicon import _ENTRY, _PAREN, _SKIP_DEF, _cedict_path
from index.normalize import _t2s, normalize

# Chinese question and function words -> what an English question says for them ("" = nothing)
_FUNCTION = {
    "什么": "what",
    "什麼": "what",
    "甚么": "what",
    "何": "what",
    "哪": "which",
    "哪个": "which",
    "哪些": "which",
    "哪里": "where",
    "哪裡": "where",
    "哪儿": "where",
    "谁": "who",
    "誰": "who",
    "多少": "how many",
    "几": "how many",
    "幾": "how many",
    "多久": "how long",
    "多长": "how long",
    "多大": "how big",
    "何时": "when",
    "何時": "when",
    "什么时候": "when",
    "为何": "why",
    "為何": "why",
    "为什么": "why",
    "為什麼": "why",
    "怎么": "how",
    "怎麼": "how",
    "如何": "how",
    "怎样": "how",
    "是": "is",
    "的": "",
    "了": "",
    "在": "in",
    "于": "in",
    "於": "in",
    "和": "and",
    "与": "and",
    "與": "and",
    "及": "and",
    "或": "or",
    "被": "by",
    "把": "",
    "对": "to",
    "對": "to",
    "从": "from",
    "從": "from",
    "由": "by",
    "为": "for",
    "為": "for",
    "之": "",
    "其": "its",
    "而": "and",
    "吗": "",
    "呢": "",
    "吧": "",
    "啊": "",
    "着": "",
    "著": "",
    "过": "",
    "過": "",
    "有": "has",
    "年": "year",
    "月": "month",
    "日": "day",
    "第": "",
    "个": "",
    "個": "",
    "这": "this",
    "這": "this",
    "那": "that",
    "位": "",
    "名": "",
    "上": "on",
    "中": "in",
    "后": "after",
    "後": "after",
    "前": "before",
    "哪一个": "which",
    "哪一种": "which",
    "哪种": "which",
    "哪一年": "which year",
    "由于": "because of",
    "时": "when",
    "作为": "as",
    "以": "with",
    "将": "",
    "各自": "each",
    "一个": "a",
    "一种": "a kind of",
}
_PROPER = frozenset({"nr", "ns", "nt", "nz", "nrt", "nrfg"})
_LATIN_OR_DIGIT = re.compile(r"[A-Za-z0-9][A-Za-z0-9.%\-]*")
_HAN = re.compile(r"[\u4e00-\u9fff]")


@cache
def _senses() -> tuple[dict[str, list[str]], dict[str, str]]:
    """Chinese word (simplified, and traditional) -> short English senses; word -> toneless pinyin."""
    senses: dict[str, list[str]] = {}
    readings: dict[str, str] = {}
    with gzip.open(_cedict_path(), "rt", encoding="utf-8") as f:
        for line in f:
            m = _ENTRY.match(line)
            if not m or line.startswith("#"):
                continue
            trad, simp, pinyin, defs = m.group(1), m.group(2), m.group(3), m.group(4)
            out = []
            for d in defs.split("/"):
                if not d or _SKIP_DEF.match(d):
                    continue
                d = _PAREN.sub(" ", d).split(";")[0].strip()
                d = re.sub(r"^to ", "", d)
                if d and len(d.split()) <= 4:
                    out.append(d)
            for w in (simp, trad):
                if out and w not in senses:
                    senses[w] = out
                readings.setdefault(w, pinyin)
    return senses, readings


def _pinyin_name(word: str, readings: dict[str, str]) -> str | None:
    syll: list[str] = []
    for ch in word:
        r = readings.get(ch)
        if r is None:
            return None
        syll.append(re.sub(r"[^a-z]", "", r.split()[0].lower().replace("u:", "v")))
    if not syll:
        return None
    # Chinese personal names: surname apart, given name joined ("Ding Lei", "Li Ka-shing" style)
    if len(syll) in (2, 3):
        return syll[0].capitalize() + " " + "".join(syll[1:]).capitalize()
    return "".join(syll).capitalize()


_PUNCT = {"。": ".", "，": ",", "、": ",", "；": ";", "：": ":", "？": "?", "！": "!", "\n": "\n"}
_PUNCT.update({p: p for p in ".,;:?!"})


def _english(text: str, rng: random.Random) -> Iterator[str]:
    """English words (and sentence punctuation) for a Chinese text, word by word."""
    import jieba.posseg

    senses, readings = _senses()
    for w, flag in jieba.posseg.lcut(_t2s()(unicodedata.normalize("NFKC", text))):
        if w in _PUNCT or w.strip() in _PUNCT:
            yield _PUNCT.get(w, _PUNCT.get(w.strip(), ""))
            continue
        w = w.strip()
        if not w or not (_HAN.search(w) or _LATIN_OR_DIGIT.fullmatch(w)):
            continue
        if not _HAN.search(w):
            yield w
            continue
        if w in _FUNCTION:
            if _FUNCTION[w]:
                yield _FUNCTION[w]
            continue
        defs = senses.get(w) or senses.get(normalize(w))
        if flag in _PROPER:
            # a name the dictionary translates ("微软" -> Microsoft) keeps its translation
            named = [d for d in (defs or []) if d[:1].isupper()]
            if named:
                yield named[0]
                continue
            py = _pinyin_name(w, readings)
            if py:
                yield py
                continue
        if defs:
            yield defs[rng.randrange(min(2, len(defs)))]
            continue
        # out of the dictionary: its characters one by one
        for ch in w:
            d = senses.get(ch)
            if d:
                yield d[0]


def _join(tokens: Iterator[str]) -> str:
    out = ""
    for t in tokens:
        if t in ".,;:?!":
            out = out.rstrip() + t + " "
        elif t == "\n":
            out = out.rstrip(" ") + "\n"
        else:
            out += t + " "
    return out.strip(" ")


def render(question: str, rng: random.Random) -> str:
    """The question in word-by-word English (see the module's docstring)."""
    text = _join(t for t in _english(question, rng) if t not in ".,;:?!\n").strip()
    return text[:1].upper() + text[1:] + "?"


def render_text(text: str, rng: random.Random) -> str:
    """A passage in word-by-word English, its sentences and lines kept."""
    return _join(_english(text, rng))


def render_gold(lines: Iterator[str], seed: int = 0) -> Iterator[dict]:  # type: ignore[type-arg]
    """Every valid Chinese item of a gold file, its question rendered in English."""
    rng = random.Random(seed)
    for line in lines:
        if not line.strip():
            continue
        item = json.loads(line)
        q = item.get("question") or ""
        if not q.strip() or not _HAN.search(q):
            continue
        item = dict(item, id=f"{item['id']}-en", question=render(q, rng), lang="en", source_question=q)
        yield item


_PARAGRAPH = re.compile(r"^drcd_\d+-(\d+)\.txt$")


def _render_doc(text: str, quotes: list[str], rng: random.Random) -> tuple[str, dict[str, str]]:
    """A document in English and each quote's English inside it: the text is cut at the quotes'
    edges and rendered piece by piece, so a quote's rendering is a span of the rendered document."""
    cuts = {0, len(text)}
    spans: dict[str, tuple[int, int]] = {}
    for q in quotes:
        i = text.find(q)
        if i >= 0:
            spans[q] = (i, i + len(q))
            cuts.update(spans[q])
    edges = sorted(cuts)
    pieces = {(a, b): render_text(text[a:b], rng) for a, b in zip(edges, edges[1:], strict=False)}
    doc = " ".join(pieces[k] for k in sorted(pieces))
    out = {}
    for q, (a, b) in spans.items():
        inside = [pieces[(x, y)] for (x, y) in sorted(pieces) if x >= a and y <= b]
        rq = " ".join(inside).strip()
        if rq and rq in doc:
            out[q] = rq
    return doc, out


def build_mixed(gold: Path, corpus: Path, out: Path, seed: int = 0) -> tuple[int, int]:
    """A mixed-language calibration corpus with questions in both languages, shaped like a
    cross-lingual benchmark: every second paragraph of each multi-paragraph article rendered into
    English, each question asked as written and rendered into English, near-miss questions likewise.
    Returns (documents, questions)."""
    rng = random.Random(seed)
    items = [json.loads(line) for line in gold.read_text(encoding="utf-8").splitlines() if line.strip()]
    items = [it for it in items if (it.get("question") or "").strip()]
    quotes: dict[str, list[str]] = {}
    for it in items:
        for ev in it.get("evidence", []):
            quotes.setdefault(ev["doc"], []).append(ev["quote"])
    (out / "corpus").mkdir(parents=True, exist_ok=True)
    english_quote: dict[tuple[str, str], str] = {}
    english_docs: set[str] = set()
    n_docs = 0
    for path in sorted(corpus.iterdir()):
        text = path.read_text(encoding="utf-8")
        m = _PARAGRAPH.match(path.name)
        if m and int(m.group(1)) % 2 == 1:
            text, rendered = _render_doc(text, quotes.get(path.name, []), rng)
            english_docs.add(path.name)
            english_quote.update({(path.name, q): e for q, e in rendered.items()})
        (out / "corpus" / path.name).write_text(text, encoding="utf-8")
        n_docs += 1
    n = 0
    with (out / "gold.jsonl").open("w", encoding="utf-8") as f:
        for it in items:
            evidence = []
            for ev in it.get("evidence", []):
                if ev["doc"] in english_docs:
                    e = english_quote.get((ev["doc"], ev["quote"]))
                    if e is None:
                        break
                    evidence.append({"doc": ev["doc"], "quote": e})
                else:
                    evidence.append(ev)
            else:
                q = it["question"]
                for variant in (
                    dict(it, evidence=evidence),
                    dict(
                        it,
                        evidence=evidence,
                        id=f"{it['id']}-en",
                        question=render(q, rng),
                        lang="en",
                        source_question=q,
                    ),
                ):
                    f.write(json.dumps(variant, ensure_ascii=False) + "\n")
                    n += 1
    return n_docs, n


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m eval.crosslingual", description=__doc__.split("\n\n")[0])
    ap.add_argument("gold", type=Path, help="a gold file of Chinese questions (shared/train/gold.jsonl)")
    ap.add_argument(
        "out", type=Path, help="where to write the English-rendered gold file (with --mixed: a directory)"
    )
    ap.add_argument(
        "--mixed",
        type=Path,
        metavar="CORPUS",
        help="also render every second paragraph of CORPUS "
        "into English: OUT/corpus and OUT/gold.jsonl, questions in both languages",
    )
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    try:
        if args.mixed:
            docs, n = build_mixed(args.gold, args.mixed, args.out, args.seed)
            print(f"wrote {docs} documents and {n} questions to {args.out}")
            return 0
        with args.gold.open(encoding="utf-8") as f, args.out.open("w", encoding="utf-8") as out:
            n = 0
            for item in render_gold(iter(f), args.seed):
                out.write(json.dumps(item, ensure_ascii=False) + "\n")
                n += 1
    except OSError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"wrote {n} items to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
