from __future__ import annotations

from pathlib import Path

import pytest

from index.lexicon import Lexicon, build_english_sound_index
from rag.query import analyze, is_multipart


@pytest.fixture(scope="module")
def lexicon(shared_cache: Path) -> Lexicon:
    return Lexicon.load(shared_cache)


@pytest.mark.parametrize(
    "question",
    [
        "报道Anthropic下调毛利率指引的那篇文章来自哪家媒体?发布于哪一天?",
        "Anthropic和OpenAI对2025年毛利率的预期分别是多少?",
        "What was Google Cloud's backlog in 2Q25, and how fast was it growing?",
        "Which company has earmarked more money for AI, Alibaba or Baidu?",
        "How do results in private schools compare to public ones?",
    ],
)
def test_questions_asking_several_things_are_multipart(question: str) -> None:
    assert is_multipart(question)


@pytest.mark.parametrize(
    "question",
    [
        "What is Meta's 2026 capex guidance?",
        "麻省理工一周的上课课程包含了讲堂、辅导课、测试以及什么?",  # one missing item of a list
        "How did the company grow its revenue?",
        "字节跳动2025年的资本开支规模是多少?",
    ],
)
def test_questions_asking_one_thing_are_not(question: str) -> None:
    assert not is_multipart(question)


def test_a_name_written_by_sound_is_glossed_with_the_corpus_word(lexicon: Lexicon) -> None:
    idx = build_english_sound_index(["fresno", "valley", "road"], lexicon)
    q = analyze("哪条路连接弗雷斯诺和加州中央山谷?", lexicon, english_sound_index=idx)
    assert "fresno" in q.glosses["弗雷斯诺"]
    # jieba's pieces of the name carry the gloss too: coverage is counted over them
    pieces = [t for t in q.text_terms if t in "弗雷斯诺"]
    assert pieces and all("fresno" in q.glosses[t] for t in pieces)
    assert q.gloss_terms["fresno"] > 0
    assert "fresno" not in analyze("哪条路连接弗雷斯诺和加州中央山谷?", lexicon).glosses.get("弗雷斯诺", ())


@pytest.mark.parametrize(
    ("question", "names"),
    [
        # an ordinary word capitalised for standing first is no name
        ("Highways in Kenya were financed by which lender?", ["kenya"]),
        ("Boycotts of the brand began in what year?", []),
        ("Early reports put the loss at how much?", []),
        # a name stays one wherever it stands: capitalised in the dictionary, possessive, or not first
        ("Paris hosted the summit in which year?", ["paris"]),
        ("Apple's revenue grew by how much?", ["apple"]),
        ("Which early investor backed Highways Ltd?", ["highways", "ltd"]),
        ("Apple在2025年的营收是多少?", ["apple"]),
        # the first of two capitalised words: a person's name in pinyin, family name first
        ("Pan Shicheng was born in which city?", ["pan", "shicheng"]),
    ],
)
def test_a_questions_first_word_is_a_name_only_if_it_is_one(
    lexicon: Lexicon, question: str, names: list[str]
) -> None:
    assert analyze(question, lexicon).names == names


def test_without_a_dictionary_a_capitalised_first_word_is_taken_for_a_name() -> None:
    assert analyze("Highways in Kenya were financed by which lender?", None).names == ["highways", "kenya"]


@pytest.mark.parametrize(
    ("question", "years", "spans"),
    [
        ("2026年资本开支指引是多少?", ["2026"], []),
        ("根据IDC数据,2024年市场份额是多少?", ["2024"], []),
        # a year before 1900 reads as one with 年 after it or "in/since/by" before it
        ("1562年谁绘制了这条河的地图?", ["1562"], []),
        ("Who mapped the river in 1562?", ["1562"], []),
        ("How many of the 1500 soldiers died?", [], []),
        ("公司裁员约1000人", [], []),
        ("海拔1000至1500米的植物", [], []),
        # a decade or a range: one year of it answers
        ("1930年代该报纸的总编是谁?", [], [(1930, 1939)]),
        ("What debuted on the network in the 1980s?", [], [(1980, 1989)]),
        ("Who played the part on stage in the 70's?", [], [(70, 79)]),
        ("从80年代开始演出的舞台剧叫什么?", [], [(80, 89)]),
        ("1870年至1900年期間,工業有何變化?", [], [(1870, 1900)]),
        ("在1620-21年间有多少人死亡?", [], [(1620, 1621)]),
        ("How much forest was lost between 1991 and 2000?", [], [(1991, 2000)]),
        # two years asked side by side are both asked
        ("What was revenue in 2024 and 2025?", ["2024", "2025"], []),
        ("US$2025 million", [], []),
    ],
)
def test_the_years_a_question_pins_down(
    question: str, years: list[str], spans: list[tuple[int, int]]
) -> None:
    from rag.query import time_constraints

    assert time_constraints(question) == (years, spans)


def test_titles_of_works_are_read_from_their_brackets() -> None:
    q = analyze("《大公報》和《南华早报》分别创刊于哪一年?", None)
    assert q.titles == ["大公报", "南华早报"]


def test_a_chinese_common_word_tagged_as_a_name_is_no_entity(lexicon: Lexicon) -> None:
    q = analyze("2004年的奥运会是在哪一个城市举行的?", lexicon)
    assert "城市" not in q.entities
    assert "匹兹堡" in analyze("匹兹堡隶属于美国的哪一个州?", lexicon).entities


def test_a_chinese_name_is_also_written_without_the_kind_of_place_or_body_it_names() -> None:
    from rag.query import Query

    q = Query(text="", lang="zh")
    assert "曼尼托巴" in q.forms("曼尼托巴省")
    assert "阿里巴巴" in q.forms("阿里巴巴集团")
    assert "青海" in q.forms("青海地区")  # "the Qinghai region" is Qinghai
    assert q.forms("美国") == ("美国",)  # one character left is no name
    assert q.forms("北京大学") == ("北京大学",)  # a university is not its city


def test_a_word_cut_apart_by_the_segmenter_is_glossed_whole(lexicon: Lexicon) -> None:
    # 四分卫 reaches an English text as "quarterback", not as a quarter and a guard
    q = analyze("谁是球队的四分卫?", lexicon)
    assert "quarterback" in q.glosses["四分"] and "quarterback" in q.glosses["卫"]
    assert "quarterback" in q.gloss_terms


def test_an_acronym_is_not_matched_by_sound(lexicon: Lexicon) -> None:
    from index.lexicon import build_sound_index

    # 博格 (Borg) has the consonants of IPCC, which is read by its letters, not as a word
    idx = build_sound_index(["博格", "特威格"], lexicon)
    assert analyze("Whose goals oppose the IPCC?", lexicon, sound_index=idx).name_words == {}
    assert analyze("What does Graham Twigg propose?", lexicon, sound_index=idx).name_words == {
        "twigg": ("特威格",)
    }


def test_a_two_word_name_the_dictionary_knows_is_one_name(lexicon: Lexicon) -> None:
    from index.lexicon import build_pinyin_index, build_sound_index

    # "United" alone sounds like 印度 (India): the question names the United States, 美国
    pinyin = build_pinyin_index(["美国", "香港"], lexicon)
    sound = build_sound_index(["印度", "安迪"], lexicon)
    q = analyze(
        "What court case desegregated schools in the United States?", lexicon, pinyin, sound_index=sound
    )
    assert q.names == ["united states"] and "美国" in q.forms("united states")
    assert q.name_words == {}
    assert (
        analyze("Where did Yin Qi study?", lexicon, build_pinyin_index(["印奇"], lexicon)).names[-1]
        == "yinqi"
    )
