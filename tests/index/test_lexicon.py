"""CC-CEDICT lexicon plus the glossary of names the dictionary lacks."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.errors import ConfigError
from index.lexicon import NAMES_GLOSSARY, TERMS_GLOSSARY, Lexicon, english_stems, read_glossary


@pytest.fixture(scope="module")
def lexicon(shared_cache: Path) -> Lexicon:
    lex = Lexicon.load(shared_cache)
    lex.add_glossary(read_glossary(TERMS_GLOSSARY))
    lex.add_glossary(read_glossary(NAMES_GLOSSARY), names=True)
    return lex


def test_bundled_glossaries_read_and_are_broad() -> None:
    names, terms = read_glossary(NAMES_GLOSSARY), read_glossary(TERMS_GLOSSARY)
    assert len(names) > 150 and len(terms) > 50
    assert {"36Kr", "Moore Threads", "CATL"} <= {e for e, _ in names}
    assert {"Hong Kong stocks", "CPM"} <= {e for e, _ in terms}
    assert all(forms for _, forms in names + terms)


def test_names_form_a_gazetteer_and_terms_do_not(lexicon: Lexicon) -> None:
    assert {"微软", "36氪", "阶跃星辰"} <= lexicon.name_forms
    assert "港股" not in lexicon.name_forms


def test_glossary_names_translate_and_win_over_dictionary_noise(lexicon: Lexicon) -> None:
    assert lexicon.translate(english_stems("36Kr"))[0][0] == "36氪"
    assert [w for w, _ in lexicon.translate(english_stems("36Kr"))] == ["36氪"]
    assert lexicon.translate(english_stems("Moore Threads"))[0][0] == "摩尔线程"
    assert lexicon.has_phrase(english_stems("Moore Threads"))
    # a phrase beats its words: "Hong Kong stocks" is 港股, not 香港 + 股票
    assert lexicon.translate(english_stems("Why did Hong Kong stocks fall"))[0][0] == "港股"


def test_glossary_forms_are_normalised(tmp_path: Path, shared_cache: Path) -> None:
    p = tmp_path / "g.tsv"
    p.write_text("# names\n\nFoo Bar Labs\t富貴實驗室\t富贵\n", encoding="utf-8")
    lex = Lexicon.load(shared_cache)
    assert lex.translate(english_stems("Foo Bar Labs")) != [("富贵实验室", 1.0)]
    lex.add_glossary(read_glossary(p))
    assert lex.translate(english_stems("Foo Bar Labs"))[:2] == [("富贵实验室", 1.5), ("富贵", 1.5)]


@pytest.mark.parametrize("line", ["no tab here", "\t港股", "Name\t\t"])
def test_malformed_glossary_line_is_a_config_error(tmp_path: Path, line: str) -> None:
    p = tmp_path / "bad.tsv"
    p.write_text(f"Good\t好\n{line}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad.tsv:2"):
        read_glossary(p)


def test_unreadable_glossary_is_a_config_error(tmp_path: Path) -> None:
    p = tmp_path / "latin1.tsv"
    p.write_bytes(b"Caf\xe9\t\xbf\xa7\n")
    with pytest.raises(ConfigError, match="cannot read the glossary"):
        read_glossary(p)
    with pytest.raises(ConfigError):
        read_glossary(tmp_path / "missing.tsv")


def test_names_and_their_transliterations_share_a_sound() -> None:
    from index.lexicon import english_sound, pinyin_sound

    assert english_sound("Twigg") == pinyin_sound(["te", "wei", "ge"]) == "TWK"
    assert english_sound("Charles") == "JLS" and english_sound("Phillips") == "FLPS"
    assert pinyin_sound(["dan", "ni", "er"]) == english_sound("Daniel")  # 尔 writes r and l
    # a qu is a k-syllable (魁北克), a v a w-syllable (维), or an f-syllable at the end (夫)
    assert english_sound("Quebec") == pinyin_sound(["kui", "bei", "ke"])
    assert english_sound("Jacksonville") == pinyin_sound(["jie", "ke", "xun", "wei", "er"])
    assert english_sound("Steve") == pinyin_sound(["shi", "di", "fu"])


def test_transliteration_characters_come_from_the_dictionary(lexicon: Lexicon) -> None:
    chars = lexicon.transliteration_chars
    assert {"斯", "尔", "克", "特", "威", "格"} <= chars
    assert not {"是", "资", "京"} & chars  # everyday and Chinese-name characters are not


def test_sound_index_finds_a_transliterated_name_and_nothing_far(lexicon: Lexicon) -> None:
    from index.lexicon import build_sound_index, sound_matches

    idx = build_sound_index(["特威格", "林迪斯法恩", "资本支出", "北京", "微软"], lexicon)
    assert sound_matches("Twigg", idx) == ("特威格",)
    assert sound_matches("Lindisfarne", idx) == ("林迪斯法恩",)  # one class apart: the r is dropped
    assert sound_matches("Microsoft", idx) == ()  # ordinary words are not in the index
    assert sound_matches("Netflix", idx) == ()
    assert "资本支出" not in {w for ws in idx.values() for w in ws}


def test_a_chinese_question_writes_an_english_name_by_sound(lexicon: Lexicon) -> None:
    from index.lexicon import build_english_sound_index, chinese_sound_matches

    idx = build_english_sound_index(["fresno", "shelbrook", "valley", "road", "the", "ab"], lexicon)
    words = {w for ws in idx.values() for w in ws}
    assert words == {"fresno", "shelbrook"}  # dictionary words and short ones are not names to match
    found = chinese_sound_matches("哪条路连接弗雷斯诺和加州中央山谷", lexicon, idx)
    assert found == [("弗雷斯诺", ("fresno",))]
    # jieba splits the name apart; the run of transliteration characters is read whole
    assert chinese_sound_matches("谢尔布鲁克建议什么", lexicon, idx) == [("谢尔布鲁克", ("shelbrook",))]
    assert chinese_sound_matches("资本开支是多少", lexicon, idx) == []


def test_a_word_the_dictionary_never_reads_as_a_name_is_common(lexicon: Lexicon) -> None:
    # a segmenter's tagger calls these places or people; CC-CEDICT writes them in lower case
    assert all(lexicon.is_common_chinese(w) for w in ("城市", "东西", "范畴"))
    # names: capitalised in the dictionary, unknown to it, or named by a glossary (苹果 for Apple)
    assert not any(lexicon.is_common_chinese(w) for w in ("中国", "匹兹堡", "张天霖", "阿里巴巴"))
    lexicon.add_glossary([("Apple", ["苹果"])], names=True)
    assert not lexicon.is_common_chinese("苹果")


def test_a_misspelt_name_finds_the_corpus_word_one_edit_away(lexicon: Lexicon) -> None:
    from index.lexicon import build_spelling_index, spelling_matches

    idx = build_spelling_index(
        ["quenneville", "moravians", "rope", "harbourside", "赛德", "navy", "apply", "applies"], lexicon
    )
    assert spelling_matches("apple", idx) == ()  # dictionary words are not names to match
    assert spelling_matches("quenenville", idx) == ("quenneville",)  # two neighbours swapped
    assert spelling_matches("moravian", idx) == ("moravians",)  # a letter dropped
    assert spelling_matches("harboursde", idx) == ("harbourside",)
    assert spelling_matches("quennevilla", idx) == ("quenneville",)  # a letter changed
    assert spelling_matches("quenneville", idx) == ()  # written as the corpus writes it: not misspelt
    assert spelling_matches("quanevelle", idx) == ()  # more than one edit off
    assert spelling_matches("kuenneville", idx) == ()  # the first letter is kept
    assert spelling_matches("ropes", idx) == ()  # short words are too alike to tell


def test_a_dictionary_word_the_segmenter_cuts_apart_is_found_whole(lexicon: Lexicon) -> None:
    # jieba cuts 四分卫 into 四分 / 卫; the dictionary has the whole word ("quarterback")
    split = dict(lexicon.split_words("谁是球队的四分卫?"))
    assert split.get("四分卫") == ("四分", "卫")
    assert "quarterback" in lexicon.gloss("四分卫")
    # words the segmenter keeps whole, and pieces that make no dictionary word, give nothing
    assert lexicon.split_words("资本支出是多少") == []
