"""Normalisation and tokenisation used for matching."""

from __future__ import annotations

from index.normalize import STOPWORDS, is_traditional, normalize, to_simplified, tokenize


def test_traditional_to_simplified_with_regional_terms() -> None:
    # t2s turns 輝達 into 辉达; the curated table then maps it to the mainland name
    assert normalize("輝達") == "英伟达"
    assert normalize("晶片與軟體") == "芯片与软件"
    assert normalize("資料中心") == "数据中心"


def test_simplified_mainland_words_are_untouched() -> None:
    # tw2sp would rewrite these (核心 -> 内核, 整合 -> 集成); we must not
    for word in ("核心", "整合", "建立", "转向量价齐升", "英伟达", "资本支出"):
        assert normalize(word) == word


def test_fullwidth_and_case() -> None:
    assert normalize("ＡＢＣ１２３") == "abc123"
    assert normalize("NVIDIA H20 GPT-4o") == "nvidia h20 gpt-4o"
    assert normalize("Straße") == "strasse"  # casefold, not just lower


def test_tokenize_chinese_words() -> None:
    toks = tokenize("Meta预计2026年资本支出将在1150亿美元至1350亿美元之间")
    assert "资本" in toks and "支出" in toks
    assert "meta" in toks and "2026" in toks and "1150" in toks
    assert "的" not in toks
    assert all(t.strip() for t in toks)


def test_tokenize_traditional_like_simplified() -> None:
    assert tokenize("微軟資本支出創紀錄,輝達晶片") == tokenize("微软资本支出创纪录,英伟达芯片")


def test_tokenize_english_numbers_and_punctuation() -> None:
    toks = tokenize("The H20 and GPT-4o: revenue rose 11.75% to 1,037 EFLOPS!")
    assert toks == ["h20", "gpt", "4o", "revenue", "rose", "11.75", "1037", "eflops"]
    assert tokenize("ＧＰＴ－４ｏ") == ["gpt", "4o"]


def test_tokenize_drops_stopwords_and_is_deterministic() -> None:
    text = "这是英伟达的芯片和阿里的云 and the cloud of AI"
    toks = tokenize(text)
    assert not set(toks) & STOPWORDS
    assert toks == tokenize(text)
    assert tokenize("") == [] and tokenize("，。！ ...") == []


def test_script_detection() -> None:
    assert is_traditional("輝達的營收是多少？")
    assert not is_traditional("英伟达的营收是多少？资料来源，ＡＢＣ")
    assert not is_traditional("What is NVIDIA revenue?")
    assert to_simplified("輝達") == "辉达"
