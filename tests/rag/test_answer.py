"""Extractive answers: cited sentences with exact offsets, and abstention."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from index.types import Chunk
from rag.answer import Sentence, _figures, _merge, question_script, score_sentences, split_sentences
from rag.engine import Engine
from rag.settings import Settings
from tests.conftest import FakeEmbedder
from tests.rag.conftest import write_corpus


def _engine_over(
    tmp_path: Path, shared_cache: Path, fake_embedder: FakeEmbedder, name: str, text: str, data: str = "data"
) -> Engine:
    """An engine over a corpus of one document, ``name`` holding ``text``."""
    return _engine_over_files(tmp_path, shared_cache, fake_embedder, {name: text}, data)


def _engine_over_files(
    tmp_path: Path, shared_cache: Path, fake_embedder: FakeEmbedder, files: dict[str, str], data: str = "data"
) -> Engine:
    """An engine over a corpus of the documents ``files`` (name -> text)."""
    corpus = tmp_path / "corpus"
    corpus.mkdir(exist_ok=True)
    for name, text in files.items():
        (corpus / name).write_text(text, encoding="utf-8")
    return Engine.open(Settings(data_dir=tmp_path / data, corpus=corpus, cache=shared_cache), fake_embedder)


def test_answer_quotes_the_figure_with_an_exact_citation(engine: Engine) -> None:
    ans = engine.ask("Meta预计2026年资本支出是多少?")
    assert not ans.abstained
    assert "1150亿美元" in ans.text and "[1]" in ans.text
    markers = {int(n) for n in re.findall(r"\[(\d+)\]", ans.text)}
    assert markers == {c.n for c in ans.citations}
    for c in ans.citations:
        text = engine.document_text(c.doc)
        assert text[c.quote_start : c.quote_end] == c.quote
        assert c.start <= c.quote_start < c.quote_end <= c.end
    # the source's own reference marks ([1][2]) are not shown as if they were our citations
    assert ans.citations[0].quote in engine.document_text(ans.citations[0].doc)
    assert ans.timings_ms["total"] >= ans.timings_ms["retrieve"]


def test_wrong_year_abstains(engine: Engine) -> None:
    ans = engine.ask("Meta预计2031年资本支出是多少?")
    assert ans.abstained and ans.citations == []
    assert "没有" in ans.text


def test_unrelated_question_abstains_in_the_question_language(engine: Engine) -> None:
    en = engine.ask("What is the boiling point of liquid nitrogen on Titan?")
    assert en.abstained and en.text.startswith("The documents do not answer")
    hant = engine.ask("土衛六上液態氮的沸點是多少?")
    assert hant.abstained and "沒有" in hant.text


def test_stream_yields_text_then_the_answer(engine: Engine) -> None:
    parts = list(engine.ask_stream("阶跃星辰融资多少?"))
    final = parts[-1]
    assert not isinstance(final, str)
    assert "".join(p for p in parts[:-1] if isinstance(p, str)) == final.text
    assert "50亿元" in final.text


def test_question_script() -> None:
    assert question_script("What is it?") == "en"
    assert question_script("资料来源是哪里，多少？") == "zh-Hans"
    assert question_script("輝達的營收是多少?") == "zh-Hant"
    # an English question naming a company in its Chinese form is answered in English
    assert question_script("What did 阶跃星辰 raise in its latest round?") == "en"
    assert question_script("Meta和OpenAI的融资?") == "zh-Hans"


def test_split_sentences_offsets() -> None:
    doc = "前言。要点 - 第一条,营收598.9亿美元 [1][2] - 第二条!\nThird line. Fourth one"
    c = Chunk(
        doc="d", article=0, title="t", source=None, date=None, section="", start=0, end=len(doc), text=doc
    )
    spans = split_sentences(c)
    quotes = [doc[s:e] for s, e in spans]
    assert "第一条,营收598.9亿美元" in quotes  # trailing reference marks trimmed
    assert all(q == q.strip() and not q.startswith("-") for q in quotes)


def test_initials_and_titles_do_not_end_a_sentence() -> None:
    doc = "It was in the USA. Then M. Theo Kearney came. Dr. Mann met Raymond S. Bradley on St. Johns River."
    c = Chunk(
        doc="d", article=0, title="t", source=None, date=None, section="", start=0, end=len(doc), text=doc
    )
    quotes = [doc[s:e] for s, e in split_sentences(c)]
    assert quotes == [
        "It was in the USA.",
        "Then M. Theo Kearney came.",
        "Dr. Mann met Raymond S. Bradley on St. Johns River.",
    ]


def test_english_question_names_a_company_through_the_glossary(engine: Engine) -> None:
    # "StepFun" is not in CC-CEDICT; the bundled glossary knows it as 阶跃星辰
    ans = engine.ask("How much did StepFun raise in its latest funding round?")
    assert not ans.abstained
    assert "50亿元" in ans.text
    assert ans.citations[0].source == "36氪"


def test_user_glossary_teaches_a_new_name(
    settings: Settings, fake_embedder: FakeEmbedder, tmp_path: Path
) -> None:
    question = "How much did Brightleap raise in its latest funding round?"
    assert Engine.open(settings, embedder=fake_embedder).ask(question).abstained  # an unknown name
    glossary = tmp_path / "names.tsv"
    glossary.write_text("Brightleap\t阶跃星辰\n", encoding="utf-8")
    taught = Engine.open(settings.model_copy(update={"glossary": glossary}), embedder=fake_embedder)
    ans = taught.ask(question)
    assert not ans.abstained and "50亿元" in ans.text


def test_english_name_inside_a_chinese_word_satisfies_the_entity_check(
    tmp_path: Path, shared_cache: Path, fake_embedder: FakeEmbedder
) -> None:
    # 港股 glosses as "Hong Kong shares": a question about Hong Kong is answered by it although the
    # passage never writes 香港; a question about Singapore is not
    corpus = write_corpus(tmp_path / "corpus")
    (corpus / "hk.md").write_text(
        "# 市场收盘\n\n10月8日,港股开盘大幅回调。\n\n分析人士认为,美股芯片股大跌是港股回调的主因。\n",
        encoding="utf-8",
    )
    s = Settings(data_dir=tmp_path / "data", corpus=corpus, cache=shared_cache)
    eng = Engine.open(s, embedder=fake_embedder)
    ans = eng.ask("What caused the Hong Kong market to pull back on October 8?")
    assert not ans.abstained and "港股" in ans.text
    assert eng.ask("What caused the Singapore market to pull back on October 8?").abstained


def test_the_source_a_question_quotes_is_met_by_the_passage_not_the_sentence(
    tmp_path: Path, shared_cache: Path, fake_embedder: FakeEmbedder
) -> None:
    from rag.answer import score_sentences
    from rag.query import analyze, attribution_terms

    # Caixin (财新) is the article's outlet: the sentence stating the figure is credited with it as
    # fully as the one that happens to write it
    eng = _engine_over(
        tmp_path,
        shared_cache,
        fake_embedder,
        "profile.txt",
        "阶跃星辰的路径\n财新· 2026-01-27 08:25\n"
        "财新专访阶跃星辰董事长:阶跃星辰选择软硬结合路径。阶跃星辰获得超过50亿元人民币的新一轮融资。\n"
        "斯蒂芬在信中写道:市场正在回暖。\n",
    )
    question = "How much did StepFun raise, according to Caixin?"
    ans = eng.ask(question)
    assert not ans.abstained and ans.lead == "over RMB 5 billion [1]"
    q, snap = eng.analyze(question), eng.snapshot
    texts = {h.chunk.doc: snap.documents[h.chunk.doc].text for h in ans.hits}
    ranked = score_sentences(q, ans.hits, texts, eng.lexicon, snap, eng.answer_params)
    by_text = {r.text: r.covered for r in ranked}
    figure = by_text["阶跃星辰获得超过50亿元人民币的新一轮融资。"]
    naming = by_text["财新专访阶跃星辰董事长:阶跃星辰选择软硬结合路径。"]
    assert figure["caixin"] == naming["caixin"] > 0
    # the glossary writes StepFun 阶跃星辰: 斯蒂芬 ("Stephen") only sounds like it
    assert "斯蒂芬" not in q.forms("stepfun") and "阶跃星辰" in q.forms("stepfun")
    assert attribution_terms(q) >= {"caixin", "财新"} and "stepfun" not in attribution_terms(q)
    assert {"36kr", "profil", "yin", "qi"} <= attribution_terms(
        analyze("How much did StepFun raise, according to 36Kr's profile of Yin Qi?", None)
    )
    assert attribution_terms(analyze("据路透社报道,Meta的资本开支是多少?", None)) >= {"路透社"}
    assert attribution_terms(analyze("What is Meta's capex guidance?", None)) == frozenset()
    assert attribution_terms(analyze("根據2015年的資料統計，香港的女性有多少人?", None)) == frozenset()
    assert "2015" not in attribution_terms(analyze("据路透社2015年的报道,Meta的营收是多少?", None))


def test_acronym_the_corpus_never_writes_abstains(engine: Engine) -> None:
    # CPM is neither written nor translated anywhere in the corpus: the capex passage is no answer
    assert engine.ask("What CPM will Meta charge in 2026?").abstained
    # Q4 is written as 第四季度 (the lexicon expands it): answered
    q4 = engine.ask("What was Meta's Q4 revenue?")
    assert not q4.abstained and "598.9亿美元" in q4.text


def test_query_marks_standalone_acronyms(engine: Engine) -> None:
    q = engine.analyze("Does CMB International (CMBI) rate Meta's CPM and Q4 numbers?")
    assert q.acronyms == ["cmbi", "cpm", "q4"]


def test_overlapping_quotes_merge_into_one_citation_inside_one_chunk() -> None:
    doc = "标题。第一句说了融资。第二句说了金额50亿元。第三句。"

    def chunk(start: int, end: int) -> Chunk:
        return Chunk(
            doc="d",
            article=0,
            title="t",
            source=None,
            date=None,
            section="",
            start=start,
            end=end,
            text=doc[start:end],
        )

    wide, narrow = chunk(0, len(doc)), chunk(3, len(doc))
    a = Sentence(narrow, 1, 11, 24, doc[11:24])  # 第二句… quoted first
    b = Sentence(wide, 2, 3, 24, doc[3:24])  # 第一句… extended into it
    m = _merge(a, b, doc)
    assert (m.start, m.end, m.text) == (3, 24, doc[3:24])
    assert m.chunk.start <= m.start and m.end <= m.chunk.end
    # a union no single chunk holds is not quoted: the first quote stays
    c = Sentence(chunk(0, 12), 3, 0, 12, doc[0:12])
    assert _merge(a, c, doc) is a


@pytest.fixture
def capex_engine(tmp_path: Path, shared_cache: Path, fake_embedder: FakeEmbedder) -> Engine:
    corpus = write_corpus(tmp_path / "corpus")
    (corpus / "csp.md").write_text(
        "# 北美CSP资本开支指引乐观\n\n"
        "要点 - 微软2026财年第二财季资本支出达到375亿美元,同比增长66% - "
        "Meta预计2026年资本支出将在1150亿美元至1350亿美元之间 - 两家公司均表示算力投入只增不减\n",
        encoding="utf-8",
    )
    (corpus / "weekly.md").write_text(
        "# Meta财报点评\n\n公司宣布2026年资本支出指引为1150亿至1350亿美元,接近2025年实际支出的两倍。\n",
        encoding="utf-8",
    )
    (corpus / "calls.md").write_text(
        "# 强CALL算力的逻辑\n\n"
        "* Meta预计2026年资本开支达1,150至1,350亿美元,用于数据中心 * 微软第四季度资本开支达7,375亿美元\n",
        encoding="utf-8",
    )
    s = Settings(data_dir=tmp_path / "data", corpus=corpus, cache=shared_cache)
    return Engine.open(s, embedder=fake_embedder)


def test_another_source_stating_the_same_figures_is_cited_too(capex_engine: Engine) -> None:
    ans = capex_engine.ask("What is Meta's 2026 capex guidance?")
    assert not ans.abstained
    assert "weekly.md" in {c.doc for c in ans.citations}
    assert len({c.doc for c in ans.citations}) >= 2


def test_sentence_about_another_company_is_not_quoted(capex_engine: Engine) -> None:
    ans = capex_engine.ask("What is Meta's 2026 capex guidance?")
    assert "1150亿美元" in ans.text
    assert "375亿美元" not in ans.text  # Microsoft's figure, beside Meta's in the same bullet list
    # nor is it quoted as the continuation of a quote about Meta
    assert "calls.md" in {c.doc for c in ans.citations}
    assert "7,375亿美元" not in ans.text


def test_years_are_not_the_figures_a_quantity_question_asks_for() -> None:
    assert _figures("从2024-2025年的投资布局来看,重点是AI芯片") == set()
    assert _figures("2025年资本开支1600億,其中2000亿元投向芯片") == {"1600", "2000"}
    assert _figures("revenue of 1,234.5 million in 2024") == {"1234.5"}


def test_quantity_question_ranks_the_sentence_with_the_figure_first(
    tmp_path: Path, shared_cache: Path, fake_embedder: FakeEmbedder
) -> None:
    # the first sentence matches more of the question's words but states only years
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "bytedance.md").write_text(
        "# 投资布局\n\n从2024-2025年的资本开支布局来看,字节跳动主要投向AI芯片产业链。"
        "字节跳动2025年1600亿的开支中,将近千亿投入AI芯片。\n\n# 其他\n\n黄金价格创新高。\n",
        encoding="utf-8",
    )
    eng = Engine.open(
        Settings(data_dir=tmp_path / "data", corpus=corpus, cache=shared_cache), embedder=fake_embedder
    )
    question = "字节跳动2025年的资本开支规模是多少?"
    snap = eng.snapshot
    hits = eng.search(question)
    texts = {h.chunk.doc: snap.documents[h.chunk.doc].text for h in hits}
    ranked = score_sentences(eng.analyze(question), hits, texts, eng.lexicon, snap, eng.answer_params)
    assert "1600亿" in ranked[0].text
    assert "2024-2025" in ranked[1].text


def _hit_with(chunk: Chunk, rank: int, use: float):  # type: ignore[no-untyped-def]
    from rag.types import Hit

    return Hit(chunk=chunk, score=1.0 / rank, rank=rank, scores={"use": use, "fused": 1.0 / rank})


def test_the_abstention_model_weighs_coverage_and_the_aligned_cosine() -> None:
    from dataclasses import replace

    from rag.answer import AnswerParams, confidence, evidence_features

    c = Chunk("d.txt", 0, "t", None, None, "", 0, 20, "巴黎有四万人死于瘟疫。")
    hits = [_hit_with(c, 1, 0.62), _hit_with(c, 2, 0.41)]
    weights = {"巴黎": 1.0, "死": 1.0, "瘟疫": 2.0}
    good = Sentence(c, 1, 0, 11, "巴黎有四万人死于瘟疫。", 0.9, 0.8, {"巴黎": 0.25, "死": 0.25, "瘟疫": 0.5})
    weak = Sentence(c, 1, 0, 11, "巴黎有四万人死于瘟疫。", 0.2, 0.15, {"巴黎": 0.25})
    f_good = evidence_features(good, [good], hits, weights)
    f_weak = evidence_features(weak, [weak], hits, weights)
    assert f_good["aligned_top"] == 0.62 and abs(f_good["aligned_margin"] - 0.21) < 1e-9
    # what the passage never mentions: nothing for the one, the heaviest term (瘟疫) for the other
    assert f_good["missing_max"] == 0.0 and f_weak["missing_max"] == 0.5
    assert abs(f_weak["passage_coverage"] - 0.25) < 1e-9
    p = AnswerParams()
    # without the sentence's cosines (no embedder to ask) the model does not apply
    assert confidence(f_good, p) is None
    f_good |= {"sentence_e5": 0.9, "sentence_use": 0.6}
    f_weak |= {"sentence_e5": 0.8, "sentence_use": 0.3}
    hi, lo = confidence(f_good, p), confidence(f_weak, p)
    assert hi is not None and lo is not None and hi > p.min_confidence > lo
    # without the aligned model's scores (another embedder) the model does not apply
    plain = [_without_aligned(h) for h in hits]
    f_plain = evidence_features(good, [good], plain, weights) | {"sentence_e5": 0.9}
    assert confidence(f_plain, p) is None
    assert confidence(f_good, replace(p, confidence_weights=())) is None


def _without_aligned(h):  # type: ignore[no-untyped-def]
    from rag.types import Hit

    return Hit(chunk=h.chunk, score=h.score, rank=h.rank, scores={"dense": 0.5})


def test_answers_across_languages_are_judged_by_their_own_model() -> None:
    from dataclasses import replace

    from rag.answer import AnswerParams, confidence, evidence_features, is_cross
    from rag.query import Query

    en = Chunk("e.txt", 0, "t", None, None, "", 0, 40, "Forty thousand people died of plague in Paris.")
    zh = Chunk("z.txt", 0, "t", None, None, "", 0, 11, "巴黎有四万人死于瘟疫。")
    top = Sentence(zh, 1, 0, 11, zh.text, 1.0, 0.8)
    best = Sentence(en, 2, 0, 40, en.text, 0.6, 0.5)
    hits = [_hit_with(zh, 1, 0.5), _hit_with(en, 2, 0.6)]
    f = evidence_features(best, [top, best], hits, {"巴黎": 1.0})
    f |= {"sentence_e5": 0.85, "sentence_use": 0.7}
    # the quoted sentence is weaker than the best one overall: the model sees by how much
    assert abs(f["constraint_ratio"] - 0.6) < 1e-9 and f["rank_best"] == 0.5
    question = Query(text="巴黎有多少人死于瘟疫?", lang="zh")
    assert is_cross(question, best) and not is_cross(question, top)
    p = AnswerParams()
    assert confidence(f, p, cross=True) != confidence(f, p, cross=False)
    assert confidence(f, replace(p, cross_confidence_weights=()), cross=True) is None


def test_the_constrained_evidence_is_weighed_against_the_best_sentence_in_its_own_language() -> None:
    from rag.answer import _rival_ratio

    # a Chinese question reaches English text through glosses ("导致" -> "lead"): an English sentence
    # about another subject may outscore the Chinese one that answers, and is not its rival
    en = Chunk("e.txt", 0, "t", None, None, "", 0, 45, "Dinwiddie ordered him to lead a larger force.")
    zh = Chunk("z.txt", 0, "t", None, None, "", 0, 12, "路德的赞美诗受到了民歌的启发。")
    zh2 = Chunk("y.txt", 0, "t", None, None, "", 0, 8, "路德的著作广为流传。")
    other = Sentence(en, 1, 0, 45, en.text, 0.4, 0.4)
    best = Sentence(zh, 2, 0, 12, zh.text, 0.3, 0.3)
    assert _rival_ratio(best, [other, best]) == 1.0
    # in its own language, a stronger sentence it must stand against is still there
    rival = Sentence(zh2, 3, 0, 8, zh2.text, 0.5, 0.5)
    assert abs(_rival_ratio(best, [other, rival, best]) - 0.6) < 1e-9


def test_each_part_of_a_two_part_question_gets_its_quote(
    tmp_path: Path, shared_cache: Path, fake_embedder: FakeEmbedder
) -> None:
    engine = _engine_over(
        tmp_path,
        shared_cache,
        fake_embedder,
        "capex.md",
        "# 字节跳动的投入\n\n字节跳动2025年的资本开支约为1600亿元,同比大幅增加。\n\n"
        "公司在北京新设了研究院,招募大量研究人员。\n\n"
        "市场人士估算,上述投入中将近千亿元投向AI芯片采购。\n",
    )
    a = engine.ask("字节跳动2025年的资本开支是多少?其中多少投向AI芯片?")
    assert not a.abstained
    quotes = " ".join(c.quote for c in a.citations)
    assert "1600亿元" in quotes and "千亿元投向AI芯片" in quotes
    assert "研究院" not in quotes  # the sentence between them answers neither part
    # asked alone, the first part is answered by its own sentence only
    single = engine.ask("字节跳动2025年的资本开支是多少?")
    assert "千亿元投向AI芯片" not in " ".join(c.quote for c in single.citations)


def test_union_coverage_counts_each_question_term_once() -> None:
    from rag.answer import union_coverage

    doc = "ab"
    c = Chunk(doc="d", article=0, title="t", source=None, date=None, section="", start=0, end=2, text=doc)
    a = Sentence(c, 1, 0, 1, "a", covered={"x": 0.3, "y": 0.2})
    b = Sentence(c, 1, 1, 2, "b", covered={"y": 0.1, "z": 0.4})
    assert union_coverage([a, b]) == pytest.approx(0.9)
    assert union_coverage([a]) == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("When did France take control of Algeria?", "time"),
        ("长城是哪个朝代修建的?", "time"),
        ("How many Grammy awards has she won?", "count"),
        ("女神卡卡得过几次格莱美奖?", "count"),
        ("哪几个铁道配属了这款列车?", None),  # which ones: a list, not a count
        ("Why did Anthropic cut its forecast?", None),
    ],
)
def test_the_kind_of_answer_a_question_asks_for(question: str, kind: str | None) -> None:
    from rag.answer import asked_kind

    assert asked_kind(question) == kind


def test_a_sentence_without_a_time_does_not_say_when(
    tmp_path: Path, shared_cache: Path, fake_embedder: FakeEmbedder
) -> None:
    engine = _engine_over(
        tmp_path,
        shared_cache,
        fake_embedder,
        "normandy.md",
        "# Normandy\n\nRollo's army raided Normandy and finally settled along parts of the Atlantic coast.\n",
    )
    assert engine.ask("When did Rollo's army settle in Normandy?").abstained
    assert not engine.ask("Where did Rollo's army settle in Normandy?").abstained
    engine = _engine_over(
        tmp_path,
        shared_cache,
        fake_embedder,
        "normandy.md",
        "# Normandy\n\nIn 911 Rollo's army raided Normandy and finally settled along the Atlantic coast.\n",
        data="data2",
    )
    assert "911" in engine.ask("When did Rollo's army settle in Normandy?").text


def test_an_english_question_over_chinese_text_leads_with_the_figure_in_english(engine: Engine) -> None:
    a = engine.ask("What is Meta's 2026 capex guidance?")
    first = a.text.split("\n")[0]
    assert a.lead == first == "US$115–135 billion [1]"
    assert "1150亿美元至1350亿美元" in a.citations[0].quote
    # the Chinese question gets the figure as the quote writes it, no English
    zh = engine.ask("Meta预计2026年资本支出是多少?")
    assert zh.lead == "1150至1350亿美元 [1]"


def test_a_chinese_question_over_english_text_leads_with_the_figure_in_chinese(engine: Engine) -> None:
    a = engine.ask("谷歌云的营收是多少?")
    assert "$13.6 billion" in a.citations[0].quote
    assert a.lead == "136亿美元 [1]"
    assert a.text.split("\n")[0] == a.lead
    # in the script the question is written in
    assert engine.ask("谷歌雲的營收是多少?").lead == "136億美元 [1]"


def test_a_year_is_met_by_a_period_written_short(engine: Engine) -> None:
    from rag.answer import _full_years

    # "2Q25" is the second quarter of 2025: a question naming the year is answered by it
    a = engine.ask("谷歌云2025年的营收是多少?")
    assert not a.abstained and "2Q25" in a.citations[0].quote and a.lead == "136亿美元 [1]"
    assert engine.ask("What was Google Cloud revenue in 2025?").lead == "US$13.6 billion [1]"
    assert engine.ask("What was Google Cloud revenue in 2024?").abstained
    assert _full_years("3QFY25, Q2'25, 1H26, FY24") == "3QFY25 2025, Q2'25 2025, 1H26 2026, FY24 2024"
    # a chip's model number is no period
    assert _full_years("H200 and H20 chips, up 25% in Q3") == "H200 and H20 chips, up 25% in Q3"


def test_a_question_about_the_article_itself_is_answered_by_its_attribution(engine: Engine) -> None:
    from rag.answer import _term_weights, asks_source

    question = "报道阶跃星辰融资的那篇文章来自哪家媒体?发布于哪一天?"
    assert asks_source(question) and asks_source("Which outlet ran the piece on StepFun's funding?")
    assert not asks_source("阶跃星辰融资多少?") and not asks_source("哪个机构预测了市场规模?")
    # where a team comes from, when a product came out: not questions about the article
    assert not asks_source("阶跃星辰的团队来自哪里?") and not asks_source("混元3D发布于哪一天?")
    assert asks_source("这篇报道发表于哪一天?")
    # the words naming the article and its publication frame the question: the evidence need only
    # be about the funding
    wt, _ = _term_weights(engine.analyze(question), engine.snapshot)
    assert not {"文章", "媒体", "发布", "报道"} & set(wt) and "融资" in wt
    ans = engine.ask(question)
    assert not ans.abstained and "36氪" in ans.text and "2026-01-27" in ans.text
    # the lead states them, the date only when asked
    assert ans.lead == "36氪，2026-01-27 [1]"
    en = engine.ask("Which outlet ran the piece on StepFun's funding?")
    assert not en.abstained and en.lead == "36氪 [1]"


def test_a_quote_stops_at_the_next_bullet_about_something_else(engine: Engine) -> None:
    ans = engine.ask("Meta预计2026年资本支出是多少?")
    assert "1150亿美元" in ans.citations[0].quote
    # "- 第四季度营收598.9亿美元" is the digest's next point: not part of the answer to a capex question
    assert all("598.9" not in c.quote for c in ans.citations)
    # ... but a bullet that answers a part of the question the quote does not is carried on into
    both = engine.ask("Meta预计2026年资本支出是多少?第四季度营收多少?")
    assert any("1150亿美元" in c.quote for c in both.citations)
    assert any("598.9" in c.quote for c in both.citations)


def test_a_question_asking_two_figures_leads_with_each_from_the_quote_about_it(engine: Engine) -> None:
    ans = engine.ask("Meta预计2026年资本支出是多少?第四季度营收多少?")
    assert ans.lead is not None and ans.text.startswith(ans.lead)
    by_n = {c.n: c.quote for c in ans.citations}
    figures = dict(re.findall(r"([^;\[]+?) \[(\d+)\]", ans.lead))
    assert figures, ans.lead
    for text, n in figures.items():
        # each figure is its own quote's, and the quote is about that part
        assert text.strip().split("至")[0].rstrip("亿美元") in by_n[int(n)].replace(",", "")
    assert "1150至1350亿美元" in ans.lead and "598.9亿美元" in ans.lead
    # a question about the article itself leads with its outlet and date, not a figure of it
    assert engine.ask("阶跃星辰融资的报道来自哪家媒体?发布于哪一天?").lead == "36氪，2026-01-27 [1]"


def test_a_question_asking_two_measures_leads_with_each(engine: Engine) -> None:
    ans = engine.ask("What capital expenditure and revenue did Meta report?")
    assert ans.lead == "capital expenditure: US$115–135 billion [1]; revenue: US$59.89 billion [1]", ans.text
    assert "1150亿美元" in ans.citations[0].quote and "598.9亿美元" in ans.citations[0].quote


@pytest.mark.parametrize(
    ("question", "sentence", "states"),
    [
        # the asked unit is found written in either language
        ("How many hours did the strike last?", "The strike lasted 36 hours.", True),
        ("How many hours did the strike last?", "罢工持续了36个小时。", True),
        ("这次罢工持续了多少小时?", "The strike lasted 36 hours.", True),
        ("How many points did the team concede?", "球队本赛季只丢了 275分。", True),
        ("How many points did the team concede?", "The team conceded 275 points.", True),
        ("沪指收盘上涨了多少点?", "沪指收盘上涨42点。", True),
        ("研发投入占营收的比例是多少?", "研发投入969.5亿元,占营收22.7%,同比提升。", True),
        ("What percentage of revenue went to R&D?", "R&D took 22.7% of revenue.", True),
        # a share in words or as a ratio
        ("What percentage of revenue went to R&D?", "R&D took 22.7 per cent of revenue.", True),
        ("男女员工的比例是多少?", "At the plant women outnumber men 3 to 1.", True),
        ("研发投入占营收的比例是多少?", "研发投入约占营收的三成。", True),
        ("研发投入占营收的比例是多少?", "研发投入占营收的百分之二十。", True),
        # a time or a span of years is no ratio
        ("What percentage of revenue went to R&D?", "R&D spending rose from 2024 to 2025.", False),
        ("What percentage of revenue went to R&D?", "The R&D meeting began at 3:30.", False),
        # a figure in another unit, or the unit with no figure, is not the answer
        ("How many hours did the strike last?", "The strike cost 36 million dollars over many hours.", False),
        ("How many hours did the strike last?", "The strike lasted 36 days.", False),
    ],
)
def test_an_asked_unit_is_stated_in_either_language(question: str, sentence: str, states: bool) -> None:
    from rag.answer import _states_unit, asked_unit

    unit = asked_unit(question)
    assert unit is not None and _states_unit(sentence, unit) is states


@pytest.mark.parametrize(
    ("text", "lo", "hi", "states"),
    [
        ("该报在1935年支持绥靖政策。", 1930, 1939, True),
        ("该报在1945年改组。", 1930, 1939, False),
        ("The show toured theatres in 1974.", 70, 79, True),
        ("The show toured theatres in the 1970s.", 70, 79, True),
        ("这部舞台剧在70年代首演。", 1970, 1979, True),
        ("这部舞台剧在80年代首演。", 1970, 1979, False),
        ("The show toured in 1984.", 70, 79, False),
        ("瘟疫在1621年夺去了数千人的生命。", 1620, 1621, True),
    ],
)
def test_a_decade_or_span_asked_is_met_by_a_year_in_it(text: str, lo: int, hi: int, states: bool) -> None:
    from rag.answer import states_year_in

    assert states_year_in(text, lo, hi) is states


def test_a_year_before_1900_or_a_decade_the_passage_lacks_abstains(
    tmp_path: Path, shared_cache: Path, fake_embedder: FakeEmbedder
) -> None:
    engine = _engine_over(
        tmp_path,
        shared_cache,
        fake_embedder,
        "fort.md",
        "# The fort\n\nIn 1754 the governor sent 500 men under Captain Contrecoeur to take the fort.\n",
    )
    assert "Contrecoeur" in engine.ask("Who led the men sent to take the fort in 1754?").text
    assert engine.ask("Who led the men sent to take the fort in 1756?").abstained
    assert "Contrecoeur" in engine.ask("Who led the men sent to take the fort in the 1750s?").text
    assert engine.ask("Who led the men sent to take the fort in the 1760s?").abstained


def test_a_work_named_by_its_title_must_be_the_one_quoted(
    tmp_path: Path, shared_cache: Path, fake_embedder: FakeEmbedder
) -> None:
    engine = _engine_over(
        tmp_path,
        shared_cache,
        fake_embedder,
        "papers.md",
        "# 报纸\n\n《大公报》是中国发行时间最长的中文报纸之一，于1902年在天津创刊。\n",
    )
    assert "1902" in engine.ask("《大公報》於何時創刊?").text  # in either script
    assert engine.ask("《经济部公报》于何时创刊?").abstained


def test_a_sentence_without_a_year_of_its_own_is_in_the_year_its_chunk_last_named(
    tmp_path: Path, shared_cache: Path, fake_embedder: FakeEmbedder
) -> None:
    engine = _engine_over(
        tmp_path,
        shared_cache,
        fake_embedder,
        "xian.md",
        "# 西安事变\n\n1936年12月12日，张学良与杨虎城在西安扣留蒋介石。"
        "12月25日中午，宋子文去新城大楼恳求杨虎城同意放蒋。\n\n"
        "# 学院\n\n于二零零五年七月一日，该大学的电脑学系正式迁移到资讯学院。\n",
    )
    assert "新城大楼" in engine.ask("宋子文曾于1936年至何处恳求杨虎城同意放蒋?").text
    assert engine.ask("宋子文曾于1937年至何处恳求杨虎城同意放蒋?").abstained
    # a year written in Chinese numerals
    assert "资讯学院" in engine.ask("该大学的电脑学系于2005年迁移到哪一个学院?").text


def test_leads_from_the_quote_that_states_what_is_asked(
    tmp_path: Path, shared_cache: Path, fake_embedder: FakeEmbedder
) -> None:
    eng = _engine_over(
        tmp_path,
        shared_cache,
        fake_embedder,
        "grid.txt",
        "国家电网与华为的合作\n财新· 2026-03-02 09:00\n"
        "3月1日,国家电网宣布与华为的合作计划:双方拟于2026年推出储能控制芯片,并规划部署由国家电网设计的"
        "5GW级储能电站。\n"
        "其中,华为将承担储能电站的部署落地责任,项目周期计划自2027年下半年启动,至2030年底完成全量交付。\n"
        "华为的在手订单达到820亿元,同比增长41%;储能业务收入达到95亿元,同比增长12%。\n"
        "瑞银将华为目标价上调至520港元,此前为450港元。\n",
    )
    # the announcement's quote states a date of its own: the quote with the whole schedule leads
    ans = eng.ask("On what timeline will Huawei deploy the 5GW storage plants?")
    assert not ans.abstained and ans.lead is not None
    assert ans.lead.startswith("second half of 2027 to end of 2030 [")
    # a part asking "how fast" of the backlog the part before names: its own item's growth, not the
    # next item's (a semicolon ends an item; a term the glossary translates, 订单 for backlog, counts
    # as the part's)
    ans = eng.ask("How large is Huawei's backlog, and how fast is it growing year over year?")
    assert (
        ans.lead is not None and "RMB 82 billion" in ans.lead and "41%" in ans.lead and "12%" not in ans.lead
    )


def test_no_lead_from_a_quote_that_says_much_less_of_the_question(
    tmp_path: Path, shared_cache: Path, fake_embedder: FakeEmbedder
) -> None:
    eng = _engine_over(
        tmp_path,
        shared_cache,
        fake_embedder,
        "hw.txt",
        "华为的海外扩张\n财新· 2026-03-02 09:00\n"
        "华为于2001年5月和2003年8月先后在德国与英国设立办事处,正式进入欧洲市场。\n\n"
        "华为在1998年开始在欧洲招聘员工。\n",
    )
    ans = eng.ask("华为在哪一年正式进入欧洲市场?")
    assert not ans.abstained and [c.quote for c in ans.citations if "1998年" in c.quote] == [
        "华为在1998年开始在欧洲招聘员工。"
    ]
    # the entry's own sentence states two dates: no lead; the hiring's year is another event's
    assert ans.lead is None


_INVESTMENTS = (
    "中国科技巨头对外投资报告\n\n"
    "图 1: 腾讯: 近两年对外投资情况梳理及被投公司简介\n\n"
    "被投公司简称\t一句话简介\t交易时间\t交易轮次\n"
    "星辰数据\t数据库研发商\t2025-02-11\tA轮\n"
    "云帆智能\t机器人研发商\t2025-03-02\tB轮\n\n"
    "图 2: 字节跳动: 近两年对外投资情况梳理及被投公司简介\n\n"
    "被投公司简称\t一句话简介\t交易时间\t交易轮次\n"
    "昕原半导体\t存储芯片研发商\t2024-03-13\tB+轮\n"
    "影眸科技\t人工智能应用服务商\t2025-08-28\tA+轮\n"
)


def test_whose_table_row_leads_with_the_owner_its_caption_names(
    tmp_path: Path, shared_cache: Path, fake_embedder: FakeEmbedder
) -> None:
    # a table row does not say whose table it is in: its caption does, and the lead names it in
    # the question's language (the glossary's English name, with the Chinese as written)
    e = _engine_over(tmp_path, shared_cache, fake_embedder, "report.txt", _INVESTMENTS)
    a = e.ask("Whose investment table shows a B+ round in memory-chip developer 昕原半导体?")
    assert "昕原半导体" in a.citations[0].quote
    assert a.lead == "ByteDance (字节跳动) [1]"
    assert a.text.startswith("ByteDance (字节跳动) [1]\n图 2: 字节跳动")  # the lead, then the quote
    assert e.ask("哪家公司投资了昕原半导体的B+轮?").lead == "字节跳动 [1]"
    # not asked which organisation: no owner
    assert "字节跳动" not in (e.ask("What does 昕原半导体 develop?").lead or "")


def test_owner_lead_needs_a_captioned_row_and_one_name(
    tmp_path: Path, shared_cache: Path, fake_embedder: FakeEmbedder
) -> None:
    from index.lexicon import Lexicon
    from rag.answer import _owner_lead

    lex = Lexicon.load(shared_cache)
    lex.add_glossary([("ByteDance", ["字节跳动"]), ("Tencent", ["腾讯"])], names=True)
    row = Chunk(
        "d",
        0,
        "T",
        None,
        None,
        "",
        0,
        20,
        "昕原半导体\t存储芯片研发商\tB+轮",
        "T\n图 2: 字节跳动: 投资\nA | B",
    )
    s = Sentence(row, 1, 0, 20, row.text, 1.0, 1.0)

    def quoted(chunk: Chunk) -> list[tuple[int, Sentence]]:
        return [(1, Sentence(chunk, 1, 0, 20, chunk.text, 1.0, 1.0))]

    assert _owner_lead("Whose table lists 昕原半导体?", "en", [(1, s)], 1, lex, lambda q: True) == (
        "ByteDance (字节跳动) [1]"
    )
    # the question names the owner: the caption names no one else
    assert (
        _owner_lead(
            "Did ByteDance invest in 昕原半导体, and who else?", "en", [(1, s)], 1, lex, lambda q: True
        )
        is None
    )
    # two names in the caption: which owns the row is a guess
    two = Chunk("d", 0, "T", None, None, "", 0, 20, row.text, "T\n图 2: 字节跳动与腾讯: 投资")
    assert _owner_lead("Whose table lists 昕原半导体?", "en", quoted(two), 1, lex, lambda q: True) is None
    # not a table row: a paragraph's heading is not its owner
    para = Chunk("d", 0, "T", None, None, "", 0, 20, "昕原半导体完成B+轮融资", "T\n图 2: 字节跳动: 投资")
    assert _owner_lead("Whose table lists 昕原半导体?", "en", quoted(para), 1, lex, lambda q: True) is None


def test_a_figure_asked_gets_a_quote_that_states_one() -> None:
    from rag.answer import _figure_part

    chunk = Chunk("d", 0, "T", None, None, "", 0, 200, "x" * 200)

    def sent(text: str, score: float, start: int) -> Sentence:
        return Sentence(chunk, 1, start, start + len(text), text, score, 0.5)

    event = sent("公司宣布将恢复H20芯片在中国的销售", 0.70, 0)
    cap = sent("英伟达市值突破4万亿美元", 0.52, 20)
    share = sent("中国贡献英伟达全球15%收入", 0.53, 40)
    weak = sent("另一家公司收入占比为9%", 0.30, 60)

    def never(_: str) -> bool:
        return False

    # a share is asked: the market value (money) does not answer it; the sentence stating one does
    assert _figure_part([event, cap], [event, share, cap, weak], never, 0.5, ("percent",)) == [
        event,
        cap,
        share,
    ]
    # one scoring under half the best's is no answer to add
    assert _figure_part([event], [event, weak], never, 0.5, ("percent",)) == [event]
    # a quote already states the kind asked, or no figure is asked: nothing added
    assert _figure_part([event, cap], [event, share], never, 0.5, ("money",)) == [event, cap]
    assert _figure_part([event], [event, share], never, 0.5, ()) == [event]
    # nor a sentence about another subject
    assert _figure_part([event], [event, share], lambda t: "英伟达" in t, 0.5, ("percent",)) == [event]


def test_a_count_is_not_a_date_a_period_or_a_stock_code() -> None:
    from rag.answer import _states_kind, asked_kind

    # "how many investments": a sentence whose only numbers say when or which states no count
    assert not _states_kind("Tencent (700 HK) 2Q25 results: strong games and marketing businesses;", "count")
    assert not _states_kind("伯希和户外\t户外运动及装备品牌商\t2025-03-11\t战略投资", "count")
    assert not _states_kind("该公司成立于2015年", "count")
    assert _states_kind("腾讯 2025 年 YTD 主要投资数量共 17 笔", "count")
    assert _states_kind("三家公司参与了投资", "count")
    # a count of years may be answered by a year
    assert asked_kind("抗日战争是在西元几年的时候结束?") == "years"
    assert asked_kind("How many outside investments has Tencent made so far in 2025?") == "count"
    assert _states_kind("抗日战争于1945年结束", "years")


def test_a_misspelt_name_is_read_as_the_corpus_writes_it(
    tmp_path: Path, shared_cache: Path, fake_embedder: FakeEmbedder
) -> None:
    eng = _engine_over(
        tmp_path,
        shared_cache,
        fake_embedder,
        "mill.txt",
        "The Harbour Street mill\n\nMarisol Quenneville ran the Harbour Street mill from 1902 to 1911.\n\n"
        "The mill later made rope for the navy, and workers could apply for a loom of their own.\n",
    )
    ans = eng.ask("When did Quennevile run the mill?")  # a letter dropped
    assert not ans.abstained and "1902 to 1911" in ans.citations[0].quote
    ans = eng.ask("When did Quenenville run the mill?")  # two letters swapped
    assert not ans.abstained and "1902 to 1911" in ans.citations[0].quote
    # a name two letters off, or one the corpus never writes, is still unknown
    assert eng.ask("When did Quanevelle run the mill?").abstained
    assert eng.ask("When did Tokugawa run the mill?").abstained
    # a dictionary word one letter off a corpus word is another word, not a misspelling of it
    assert eng.ask("When did Apple run the mill?").abstained


def test_an_english_sentence_counts_as_much_as_the_chinese_one_saying_the_same(
    tmp_path: Path, shared_cache: Path, fake_embedder: FakeEmbedder
) -> None:
    from rag.answer import _term_weights, sentence_cover

    # an English question over both languages: the Chinese sentence is credited for writing the
    # question's words' translations (药剂师), the English one for writing the words themselves
    eng = _engine_over(
        tmp_path,
        shared_cache,
        fake_embedder,
        "pharmacy.md",
        "# 药房\n\n药剂师大多在医院工作。\n\nPharmacists mostly work in hospitals.\n",
    )
    q = eng.analyze("Where do pharmacists work?")
    wt, wg = _term_weights(q, eng.snapshot)
    cover = sentence_cover(q, wt, wg, eng.lexicon)
    zh, en = cover("药剂师大多在医院工作。"), cover("Pharmacists mostly work in hospitals.")
    assert {"pharmacist", "work"} <= zh.keys() and any(k.startswith("zh:") for k in zh)
    assert sum(en.values()) >= sum(zh.values())
    # a sentence with only some of the words is not lifted to the full sentence's credit
    assert sum(cover("Pharmacists are trained for years.").values()) < sum(en.values())


def test_a_chinese_question_finds_a_name_written_by_sound_in_an_english_passage(
    tmp_path: Path, shared_cache: Path, fake_embedder: FakeEmbedder
) -> None:
    # 弗雷斯诺 is not in the dictionary: the question's analysis reads it as the corpus's "fresno" by
    # sound, and the passage that writes Fresno names the place the question asks about
    roads = (
        "# Roads\n\nFresno is served by State Route 99, the freeway that connects the city with the "
        "valley towns.\n"
    )
    district = "# 街区\n\n弗雷斯诺的西侧是该市最古老的街区之一。\n"
    eng = _engine_over_files(
        tmp_path, shared_cache, fake_embedder, {"roads.md": roads, "district.md": district}
    )
    ans = eng.ask("哪条公路连接弗雷斯诺和山谷城镇?")
    assert not ans.abstained and "State Route 99" in ans.citations[0].quote


def test_an_english_name_is_read_from_one_chinese_word_not_gathered_across_words(
    tmp_path: Path, shared_cache: Path, fake_embedder: FakeEmbedder
) -> None:
    # "United States" is 美国; a passage with 单位 ("unit") and 国家 ("state") does not name it
    law = "# 学校\n\n1996年的学校法案认可两类学校:国家控制的公立学校和各单位管理的独立学校。\n"
    news = "# 新闻\n\n美国股市今天上涨。\n"
    eng = _engine_over_files(tmp_path, shared_cache, fake_embedder, {"law.md": law, "news.md": news})
    ans = eng.ask("Which law recognised two kinds of schools in the United States?")
    assert all(c.doc != "law.md" for c in ans.citations)
    # the same sentence answers when the question names no place
    assert any(c.doc == "law.md" for c in eng.ask("Which law recognised two kinds of schools?").citations)


def test_a_chinese_question_word_covers_its_pieces_in_an_english_sentence(
    tmp_path: Path, shared_cache: Path, fake_embedder: FakeEmbedder
) -> None:
    from rag.answer import _term_weights, sentence_cover

    # the segmenter gives 环保主义者 and its pieces (环保, 主义者) as question terms; a Chinese
    # sentence writing the word has the pieces too, and so has the English sentence its gloss
    # ("environmentalist") covers: not only the whole word's share
    eng = _engine_over(
        tmp_path,
        shared_cache,
        fake_embedder,
        "forest.md",
        "# Forest\n\nEnvironmentalists are concerned about the loss of biodiversity.\n\n"
        "Amazonian forests hold a great deal of carbon.\n",
    )
    q = eng.analyze("环保主义者担心什么?")
    wt, wg = _term_weights(q, eng.snapshot)
    pieces = [t for t in wt if t != "环保主义者" and t in "环保主义者"]
    assert "环保主义者" in wt and pieces
    covered = sentence_cover(q, wt, wg, eng.lexicon)("Environmentalists are concerned about the loss.")
    assert "环保主义者" in covered and all(t in covered for t in pieces)
    # a sentence without the word gets none of its pieces
    assert not any(t in sentence_cover(q, wt, wg, eng.lexicon)("Forests hold carbon.") for t in pieces)


def test_a_name_the_corpus_knows_is_spelled_whole_by_its_words() -> None:
    from rag.answer import _in_vocabulary

    vocabulary = {"阿": 3, "青海": 2, "海地": 1, "地区": 9, "青海地区": 1, "维基": 4}
    assert _in_vocabulary("青海地区", vocabulary) and _in_vocabulary("维基", vocabulary)
    # the tagger's "阿和" (维基阿和维基解密: 阿, then the conjunction): the corpus has 阿, and the
    # stop word 和 the tokenizer drops is no part of a name it writes
    assert not _in_vocabulary("阿和", vocabulary)
    assert not _in_vocabulary("", vocabulary)
