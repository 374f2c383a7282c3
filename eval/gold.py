"""Gold question files: load, validate, and locate every evidence quote in its document.

A gold file is JSON lines (format in ``eval/README.md``). Problems are collected and reported together,
each naming ``file:line`` (or the item id and document for evidence), so that a hand-edited file can be
fixed in one pass instead of one error per run. Evidence quotes are located in the *engine's* document
text, the same text its chunk offsets refer to, so relevance is judged on one coordinate system.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from index.errors import InputError, RagError

# Beyond this many problems the rest are only counted: the first few are enough to act on.
_MAX_REPORTED = 20

Span = tuple[int, int]


@dataclass(frozen=True)
class Evidence:
    """A verbatim quote of the answer in ``doc``; ``spans`` are all its occurrences (filled by
    :func:`locate_evidence`), because a quote that occurs twice supports a chunk at either place."""

    doc: str
    quote: str
    spans: tuple[Span, ...] = ()


@dataclass(frozen=True)
class GoldItem:
    id: str
    question: str
    lang: str
    type: str
    answerable: bool
    answer: str = ""
    facts: tuple[tuple[str, ...], ...] = ()
    evidence: tuple[Evidence, ...] = ()
    line: int = 0  # 1-based line in the gold file, for error messages
    extra: dict[str, Any] = field(default_factory=dict, compare=False)


def load_gold(path: str | Path, skip_invalid: bool = False) -> list[GoldItem]:
    """Parse and validate a gold file; raise one ``InputError`` listing every malformed line, or with
    ``skip_invalid`` leave those lines out and say so on stderr (a third-party set with a broken item
    is still worth measuring; the report's ``n`` shows what was kept)."""
    p = Path(path)
    try:
        raw = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"gold file not found: {p}") from None
    except UnicodeDecodeError as e:
        raise InputError(f"{p}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    except OSError as e:
        raise InputError(f"cannot read gold file {p}: {e.strerror or e}") from None

    items: list[GoldItem] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    for lineno, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            problems.append(f"{p}:{lineno}: not valid JSON ({e.msg} at column {e.colno})")
            continue
        errs = _check_item(obj)
        if errs:
            problems.extend(f"{p}:{lineno}: {m}" for m in errs)
            continue
        item = _to_item(obj, lineno)
        if item.id in seen:
            problems.append(f"{p}:{lineno}: duplicate id {item.id!r} (first on line {seen[item.id]})")
            continue
        seen[item.id] = lineno
        items.append(item)
    if problems and not skip_invalid:
        raise InputError(_summarise(f"malformed gold file {p}", problems))
    if problems:
        print(_summarise(f"skipped in gold file {p}", problems), file=sys.stderr)
    if not items:
        raise InputError(f"gold file {p} has no items")
    return items


def _check_item(obj: object) -> list[str]:
    """Everything wrong with one parsed line (empty when it is valid)."""
    if not isinstance(obj, dict):
        return [f"expected a JSON object, got {type(obj).__name__}"]
    errs: list[str] = []
    for key in ("id", "question", "lang", "type"):
        v = obj.get(key)
        if not isinstance(v, str) or not v.strip():
            errs.append(f"{key!r} must be a non-empty string" + ("" if key in obj else " (missing)"))
    if not isinstance(obj.get("answerable"), bool):
        errs.append("'answerable' must be true or false" + ("" if "answerable" in obj else " (missing)"))
        return errs
    if "answer" in obj and not isinstance(obj["answer"], str):
        errs.append("'answer' must be a string")

    facts = obj.get("facts", [])
    if not isinstance(facts, list) or not all(
        isinstance(f, list) and f and all(isinstance(s, str) and s.strip() for s in f) for f in facts
    ):
        errs.append("'facts' must be a list of non-empty lists of non-empty strings")
    evidence = obj.get("evidence", [])
    if not isinstance(evidence, list):
        errs.append("'evidence' must be a list")
        evidence = []
    for i, ev in enumerate(evidence):
        if not isinstance(ev, dict):
            errs.append(f"evidence[{i}] must be an object with 'doc' and 'quote'")
            continue
        for key in ("doc", "quote"):
            if not isinstance(ev.get(key), str) or not ev.get(key):
                errs.append(f"evidence[{i}].{key} must be a non-empty string")

    if obj["answerable"]:
        if not evidence:
            errs.append("an answerable item needs at least one evidence quote")
    elif evidence or facts:
        errs.append("an item with answerable: false must have empty 'facts' and 'evidence'")
    return errs


def _to_item(obj: dict[str, Any], lineno: int) -> GoldItem:
    known = {"id", "question", "lang", "type", "answerable", "answer", "facts", "evidence"}
    return GoldItem(
        id=obj["id"],
        question=obj["question"],
        lang=obj["lang"],
        type=obj["type"],
        answerable=obj["answerable"],
        answer=obj.get("answer", ""),
        facts=tuple(tuple(f) for f in obj.get("facts", [])),
        evidence=tuple(Evidence(doc=e["doc"], quote=e["quote"]) for e in obj.get("evidence", [])),
        line=lineno,
        extra={k: v for k, v in obj.items() if k not in known},
    )


def find_all(text: str, quote: str) -> tuple[Span, ...]:
    """Every occurrence of ``quote`` in ``text``, overlapping ones included, as (start, end) spans."""
    spans: list[Span] = []
    i = text.find(quote)
    while i >= 0 and quote:
        spans.append((i, i + len(quote)))
        i = text.find(quote, i + 1)
    return tuple(spans)


def locate_evidence(items: list[GoldItem], document_text: Callable[[str], str]) -> list[GoldItem]:
    """Fill every evidence quote's occurrence spans; one ``InputError`` lists every quote not found.

    ``document_text`` returns a document's original text (the engine's, so that offsets agree with the
    chunks'); a document it cannot produce is reported like a missing quote.
    """
    texts: dict[str, str | None] = {}
    problems: list[str] = []
    out: list[GoldItem] = []
    for item in items:
        located: list[Evidence] = []
        for ev in item.evidence:
            if ev.doc not in texts:
                try:
                    texts[ev.doc] = document_text(ev.doc)
                except (RagError, KeyError, OSError):
                    texts[ev.doc] = None
            text = texts[ev.doc]
            if text is None:
                problems.append(f"item {item.id} (line {item.line}): document {ev.doc!r} is not in the index")
                continue
            spans = find_all(text, ev.quote)
            if not spans:
                problems.append(
                    f"item {item.id} (line {item.line}): evidence quote {_prefix(ev.quote)!r} "
                    f"does not occur in {ev.doc}"
                )
                continue
            located.append(replace(ev, spans=spans))
        out.append(replace(item, evidence=tuple(located)))
    if problems:
        raise InputError(_summarise("evidence that cannot be found in the corpus", problems))
    return out


def _prefix(s: str, n: int = 30) -> str:
    return s if len(s) <= n else s[:n] + "…"


def _summarise(title: str, problems: list[str]) -> str:
    shown = problems[:_MAX_REPORTED]
    more = len(problems) - len(shown)
    tail = [f"... and {more} more"] if more else []
    return f"{title} ({len(problems)} problem{'s' if len(problems) != 1 else ''}):\n  " + "\n  ".join(
        shown + tail
    )
