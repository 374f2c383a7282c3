"""Answer text in small streaming deltas: exact slices, words and a few Chinese characters, whole markers."""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Sequence

import pytest

from rag.deltas import CJK_PIECE, deltas

# a citation marker as any client would link it: [1], [12], [1][2], [1, 2], [1，2]
MARKER_RE = re.compile(r"(?:\[\s*\d+(?:\s*[,，、]\s*\d+)*\s*\])+")


def check_deltas(parts: Sequence[str], content: str, min_line: int = 24) -> list[list[str]]:
    """Assert that ``parts`` stream ``content`` as the service promises; returns the deltas line by line.

    Joined they are the content; no delta is empty; none cuts a citation marker; a line ends a delta
    (lines arrive whole, in order); a line of ``min_line`` characters or more comes in several deltas.
    """
    assert all(isinstance(p, str) and p for p in parts), parts
    assert "".join(parts) == content
    cuts = set(itertools.accumulate(len(p) for p in parts))
    for m in MARKER_RE.finditer(content):
        assert not any(m.start() < c < m.end() for c in cuts), f"a delta cuts {m.group()!r}: {parts}"
    lines: list[list[str]] = [[]]
    for p in parts:
        assert "\n" not in p.rstrip("\n"), f"a delta spans two lines: {p!r}"
        lines[-1].append(p)
        if p.endswith("\n"):
            lines.append([])
    if not lines[-1]:
        lines.pop()
    for line in lines:
        if len("".join(line).strip()) >= min_line:
            assert len(line) > 1, f"a long line in one delta: {line}"
    return lines


@pytest.mark.parametrize(
    "text",
    [
        "US$115–135 billion [1]\nAccording to 智通财经网 (2026-02-03): Meta预计2026年资本支出将在1150亿美元"
        "至1350亿美元之间,最高位几乎是其2025年资本支出的两倍 [1]",
        "Read as: What is Microsoft's 2026 capex guidance?\nUS$37.5 billion [1]\nIt rose 66% [1][2].",
        "1150至1350亿美元 [1]\n据智通财经网 (2026-02-03):Meta预计资本支出同比增长66%[2]。下一句[1, 3]。",
        "The documents do not answer this question.",
        "文档中没有这个问题的答案。",
        "",
        "  leading and trailing space  \n\n",
    ],
)
def test_deltas_are_exact_small_slices(text: str) -> None:
    parts = list(deltas(text))
    check_deltas(parts, text)


def test_latin_words_and_cjk_runs() -> None:
    parts = list(
        deltas("Meta guided capex of $115-135 billion [1]. 资本支出将在1150亿美元至1350亿美元之间。")
    )
    assert parts[:5] == ["Meta ", "guided ", "capex ", "of ", "$115-135 "]
    assert "billion [1]. " in parts  # the marker arrives with the claim's last word
    cjk = [p for p in parts if re.search(r"[\u4e00-\u9fff]", p)]
    assert all(len(re.findall(r"[\u4e00-\u9fff]", p)) <= CJK_PIECE for p in cjk)
    assert parts[-1] == "间。"  # punctuation stays with what it ends
    assert list(deltas("增长66%[2]。下")) == ["增长", "66%[2]。", "下"]


@pytest.mark.parametrize(
    "cluster",
    [
        "e\u0301",  # e + combining acute
        "\U0001f469\u200d\U0001f4bb",  # woman technologist (ZWJ sequence)
        "\U0001f44d\U0001f3fd",  # thumbs up, skin tone
        "\U0001f1e8\U0001f1f3",  # flag: two regional indicators
        "\u845b\U000e0100",  # a CJK character with an ideographic variation selector
        "\r\n",
    ],
)
def test_a_character_made_of_several_code_points_is_never_cut(cluster: str) -> None:
    # long runs of it, inside CJK (cut every few characters) and Latin (cut at spaces) text
    for text in ("数据" * 3 + cluster * 7 + "资本支出", "word " + cluster * 9 + " next", cluster * 30):
        parts = list(deltas(text))
        assert "".join(parts) == text
        for p in parts:
            assert not unicodedata.category(p[0]).startswith("M") and not p.startswith("\u200d"), parts
            assert not p.endswith("\u200d"), parts
        cuts = set(itertools.accumulate(len(p) for p in parts))
        starts = {m.start() for m in re.finditer(re.escape(cluster), text)}
        for s in starts:
            assert not any(s < c < s + len(cluster) for c in cuts), (cluster, parts)


def test_brackets_that_are_not_markers_are_text() -> None:
    text = "See [a] and [12] [3,4]"
    parts = list(deltas(text))
    check_deltas(parts, text)
    assert parts[-1].endswith("[12] [3,4]")
