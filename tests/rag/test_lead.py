from __future__ import annotations

import pytest

from rag.figures import unsupported_figures
from rag.lead import asked_figure, figures, lead_line


@pytest.mark.parametrize(
    ("quote", "en", "zh"),
    [
        ("Meta预计2026年资本支出将在1150亿美元至1350亿美元之间", "US$115–135 billion", "1150至1350亿美元"),
        ("Meta预计2026年资本开支达1,150至1,350亿美元", "US$115–135 billion", "1150至1350亿美元"),
        ("微软资本支出达到375亿美元", "US$37.5 billion", "375亿美元"),
        ("基金规模3.5万亿元", "RMB 3.5 trillion", "3.5万亿元"),
        ("The backlog reached $106 billion.", "US$106 billion", "1060亿美元"),
        ("营收增长66%", "66%", "66%"),
        ("2026年第一季度营收", "Q1 2026", "2026年第1季度"),
        ("revenue in 2Q25 grew", "Q2 2025", "2025年第2季度"),
        # a range in the unit both ends reach, not fractions of a larger one
        ("價格約為9800日元到14800日元", "JPY 9,800–14,800", "9800至14800日元"),
    ],
)
def test_figures_render_in_both_languages_and_keep_their_value(quote: str, en: str, zh: str) -> None:
    (fig,) = figures(quote)
    assert fig.rendered == {"en": en, "zh": zh}
    if fig.kind != "quarter":
        # every number of either rendering is the quote's by value
        assert unsupported_figures(en, [quote]) == [] and unsupported_figures(zh, [quote]) == []


def test_the_lead_states_the_figure_asked_for_with_its_citation() -> None:
    quote = "微软2026财年第二财季资本支出达到375亿美元,同比增长66%"
    assert lead_line("How much did Microsoft spend on capex?", "en", quote, 2) == "US$37.5 billion [2]"
    assert lead_line("How fast did Microsoft's capex grow?", "en", quote, 1) == "66% [1]"
    assert (
        lead_line("谷歌云的订单积压是多少?", "zh", "The backlog reached $106 billion.", 1) == "1060亿美元 [1]"
    )


def test_no_lead_when_the_figure_is_not_one_or_not_asked() -> None:
    two = "Meta资本支出700亿美元,微软资本支出375亿美元"
    assert lead_line("How much is the capex?", "en", two, 1) is None  # which one: never a guess
    assert lead_line("Why did Anthropic cut its forecast?", "en", "毛利率下调至40%", 1) is None
    assert lead_line("What is Meta's capex?", "en", "Meta资本支出大幅增加", 1) is None
    # a figure the question itself gives is not the answer
    assert (
        lead_line("Which company spent US$37.5 billion on capex?", "en", "微软资本支出375亿美元", 1) is None
    )


def test_asked_figure() -> None:
    assert asked_figure("What is Meta's 2026 capex guidance?") == "money"
    assert asked_figure("毛利率是多少?") == "percent"
    assert asked_figure("Which quarter did revenue peak?") == "quarter"
    assert asked_figure("Who founded StepFun?") is None
    # a reason or a manner is asked, not a figure
    assert asked_figure("Why did Anthropic cut its 2025 gross margin forecast?") is None
    assert asked_figure("How did the company grow its revenue?") is None
    assert asked_figure("毛利率为什么下调?") is None
    assert asked_figure("How much revenue did it report?") == "money"


def test_figures_in_traditional_script_are_read_by_value() -> None:
    # a lead rendered for a traditional-script question says 萬/億: still the quote's amount
    quote = "耗費世界摔角聯盟估計有5,000,000美元"
    assert unsupported_figures("500萬美元", [quote]) == []
    assert unsupported_figures("600萬美元", [quote]) == ["600萬"]
    assert unsupported_figures("1.38萬億元", ["市場規模將達1.38万亿元"]) == []


@pytest.mark.parametrize(
    ("question", "quote", "lead"),
    [
        # currencies beyond the big five, Indian English magnitudes
        ("How large was the penalty?", "维持了对WhatsApp处以21.3亿印度卢比罚款的决定", "₹2.13 billion [1]"),
        ("How large was the fine?", "The regulator imposed a fine of ₹213 crore.", "₹2.13 billion [1]"),
        # an amount of unnamed kind: the one the quote states
        ("How big a stake did Buffett buy?", "巴菲特悄悄出手買了43億美元Google股票", "US$4.3 billion [1]"),
        ("By how much does the PPU undercut the H20 on cost?", "PPU單卡成本較進口H20下降40%", "40% [1]"),
        # dates, halves and spans, in the asker's language
        (
            "On what timeline will Broadcom deploy the racks?",
            "项目周期计划自 2026 年下半年启动,至 2029 年底完成全量交付。",
            "second half of 2026 to end of 2029 [1]",
        ),
        (
            "When did BSkyB announce it?",
            "2007年2月8日 ，BskyB宣布，计划以4个订阅频道取代",
            "8 February 2007 [1]",
        ),
        (
            "Sky Digital是什么时候推出的?",
            "When Sky Digital was launched in 1998 the service used Astra 2A.",
            "1998年 [1]",
        ),
        ("西德在什麼時候多了270萬居民?", "在1950年代有270萬東德居民越境到西德", "1950年代 [1]"),
    ],
)
def test_leads_for_more_currencies_unnamed_amounts_and_dates(question: str, quote: str, lead: str) -> None:
    assert lead_line(question, "en" if question.isascii() else "zh", quote, 1) == lead
    assert unsupported_figures(lead.rsplit(" [", 1)[0], [quote]) == []


def test_no_date_lead_when_the_passage_says_when_more_than_once() -> None:
    # a subordinate "when" asks no date
    assert (
        lead_line("What satellite was used when Sky Digital was launched?", "en", "launched in 1998", 1)
        is None
    )
    # a bare year beside the one with 年: which one is the answer is a guess
    quote = "他们最著名的歌曲“泰恩河上的雾”（ 1971 ）于1990年由前足球运动员演唱。"
    assert lead_line("这首歌是哪一年发行的?", "zh", quote, 1) is None
    # the best sentence states one year, its passage another event's day
    passage = "此外, 10 月 13 日, OpenAI 宣布了与博通的合作计划: 双方拟于 2026 年推出定制芯片"
    assert (
        lead_line("On what timeline will Broadcom deploy?", "en", "双方拟于 2026 年推出定制芯片", 1, passage)
        is None
    )
    # "2026年中国…" is the year 2026, not mid-2026
    assert lead_line("When was it founded?", "en", "2026年中国芯片公司", 1) == "2026 [1]"
    # a count is not an amount
    assert lead_line("有多少家公司上市?", "zh", "3家公司上市,募资50亿元", 1) is None


def test_no_lead_for_a_name_or_a_share_stated_otherwise() -> None:
    # a "which company" question asks a name: the quote's figures are not the answer
    quote = "中國移動通信擁有全球第一的行動通訊網路規模和客戶規模,市場份額60%"
    assert lead_line("全球第一的網路規模是哪一家電信公司?", "zh", quote, 1) is None
    assert lead_line("Which company holds a 60% share?", "en", "China Mobile holds 60%", 1) is None
    # the share asked may be the one written as a fraction
    assert lead_line("德國失去了多少比例人口?", "zh", "俄國失去了1/3的人口,90%的煤產地", 1) is None
    assert lead_line("非華人占總人口多少比例?", "zh", "非華人佔總人口大約三成,其中25%為馬來人", 1) is None


def _words(*words: str):  # type: ignore[no-untyped-def]
    """A focus that counts which of ``words`` a clause writes (the engine's reads them through the
    question's terms and the dictionary)."""
    return lambda clause: float(sum(w in clause for w in words))


def test_clauses_divide_at_commas_and_bullets_but_not_inside_a_number() -> None:
    from rag.lead import clauses

    assert clauses("营收598.9亿美元(同比增长24%),净利润227.7亿美元 - 黄金突破4,000美元") == [
        "营收598.9亿美元(同比增长24%)",
        "净利润227.7亿美元",
        "黄金突破4,000美元",
    ]


def test_of_several_figures_the_lead_takes_the_one_whose_clause_says_what_is_asked() -> None:
    quote = "Meta第四季度营收598.9亿美元(同比增长24%),净利润227.7亿美元,均超预期"
    q = "What net income did Meta report?"
    assert lead_line(q, "en", quote, 1) is None  # no focus: two amounts, no guess
    assert lead_line(q, "en", quote, 1, focus=_words("净利润")) == "US$22.77 billion [1]"
    # two clauses saying as much: never a guess
    assert lead_line(q, "en", quote, 1, focus=_words("亿美元")) is None
    # the clause that says most states two figures of the kind: no guess either, unless they are a
    # change's two ends (the value now is the second; the first, when asked what it was before)
    spans = "谷歌云利润率约17%、AWS约24%,相比之下Azure利润率约为35%"
    assert lead_line("谷歌云的利润率是多少?", "zh", spans, 1, focus=_words("谷歌云", "利润率")) is None
    spans = "谷歌云利润率从约17%扩大至24%,相比之下AWS利润率约为35%"
    assert lead_line("谷歌云的利润率是多少?", "zh", spans, 1, focus=_words("谷歌云", "利润率")) == "24% [1]"
    earlier = lead_line("谷歌云此前的利润率是多少?", "zh", spans, 1, focus=_words("谷歌云", "利润率"))
    assert earlier == "约17% [1]"


def test_of_a_forecasts_two_ends_the_lead_takes_the_one_for_the_year_asked() -> None:
    quote = "中国AI推理芯片市场规模将从2025年的3106亿元增长至2029年的1.38万亿元,复合增速为45%"
    focus = _words("市场规模")
    assert lead_line("How big will the market be by 2029?", "en", quote, 1, focus=focus) == (
        "RMB 1.38 trillion [1]"
    )
    assert lead_line("2025年市场规模是多少?", "zh", quote, 1, focus=focus) == "3106亿元 [1]"
    # no year asked, or both ends asked: never a guess
    assert lead_line("How big will the market be?", "en", quote, 1, focus=focus) is None
    assert lead_line("How big was it in 2025 and in 2029?", "en", quote, 1, focus=focus) is None
    # English writes the year after the figure; a part of a question is asked for the whole one's years
    en = "Sales will rise from $12 billion in 2025 to $30 billion in 2030"
    assert lead_line("What sales are expected?", "en", en, 1, focus=_words("Sales"), years={"2030"}) == (
        "US$30 billion [1]"
    )


@pytest.mark.parametrize(
    ("question", "script", "quote", "lead"),
    [
        (
            "How much did StepFun raise?",
            "en",
            "阶跃星辰获得超过50亿元人民币的新一轮融资",
            "over RMB 5 billion [1]",
        ),
        ("阶跃星辰融资多少?", "zh", "阶跃星辰获得超过50亿元人民币的新一轮融资", "超过50亿元 [1]"),
        ("阶跃星辰融资多少?", "zh-Hant", "階躍星辰獲得超過50億元人民幣的新一輪融資", "超過50億元 [1]"),
        ("How much went to AI chips?", "en", "其中将近1000亿元投入AI芯片", "nearly RMB 100 billion [1]"),
        ("How much was capex?", "en", "资本开支1600亿元左右", "about RMB 160 billion [1]"),
        ("How much was capex?", "en", "Capex was about $115 billion", "about US$115 billion [1]"),
        ("What was the growth rate?", "en", "同比增长超过30%", "over 30% [1]"),
        # a word before the figure that bounds nothing: none
        ("How much was capex?", "en", "近5年资本开支为1600亿元", "RMB 160 billion [1]"),
    ],
)
def test_a_lead_keeps_the_qualifier_its_quote_gives_the_figure(
    question: str, script: str, quote: str, lead: str
) -> None:
    from rag.lead import to_traditional

    line = lead_line(question, "zh" if script == "zh-Hant" else script, quote, 1)
    assert (to_traditional(line) if script == "zh-Hant" and line else line) == lead


def test_clauses_saying_as_much_are_told_apart_by_their_sentences_subject() -> None:
    context = (
        "小度眼镜正式开售,售价2299元,优惠价格为2199元。夸克眼镜于12月发货,售价为4699元,优惠价格为3329元。"
    )
    sentence = "夸克眼镜于12月发货,售价为4699元,优惠价格为3329元。"
    subject = _words("小度", "眼镜", "售价", "优惠")
    line = lead_line("优惠后是多少钱?", "zh", sentence, 1, context, _words("优惠"), subject)
    assert line == "2199元 [1]"
    # without the subject the two offers tie: none
    assert lead_line("优惠后是多少钱?", "zh", sentence, 1, context, _words("优惠"), _words("眼镜")) is None


@pytest.mark.parametrize(
    ("question", "parts"),
    [
        ("What revenue and net income did Meta report for Q4 2025?", ["revenue", "net income"]),
        (
            "What were Meta's revenue and growth rate in the fourth quarter?",
            ["Meta's revenue", "growth rate"],
        ),
        ("Meta第四季度的营收和净利润分别是多少?", ["营收", "净利润"]),
        # names joined by "and" are the subject, not two measures
        ("How large was the penalty imposed on WhatsApp and Meta?", []),
        ("What is Meta's 2026 capex guidance?", []),
    ],
)
def test_conjuncts(question: str, parts: list[str]) -> None:
    from rag.lead import conjuncts

    assert conjuncts(question) == parts


def test_a_question_asking_two_measures_leads_with_each_labelled_and_cited() -> None:
    from rag.lead import conjunct_lead

    quotes = [(1, "事件:Meta发布第四季度财报,营收598.9亿美元(同比增长24%),净利润227.7亿美元,均超预期。")]
    by_words = {"revenue": _words("营收"), "net income": _words("净利润")}

    def focus_of(words: str):  # type: ignore[no-untyped-def]
        return by_words.get(words, _words("营收", "净利润"))

    lead = conjunct_lead("What revenue and net income did Meta report?", "en", quotes, focus_of)
    assert lead == "revenue: US$59.89 billion [1]; net income: US$22.77 billion [1]"
    # each figure from the quote that says it, with that quote's number
    split = [(1, "营收598.9亿美元,同比增长24%"), (2, "净利润227.7亿美元,均超预期")]
    lead = conjunct_lead("What revenue and net income did Meta report?", "en", split, focus_of)
    assert lead == "revenue: US$59.89 billion [1]; net income: US$22.77 billion [2]"
    # a measure no clause says: no lead at all (half a pair would read as the whole answer)
    by_words["net income"] = _words("现金流")
    assert conjunct_lead("What revenue and net income did Meta report?", "en", quotes, focus_of) is None


@pytest.mark.parametrize(
    ("question", "parts"),
    [
        (
            "How does Tencent Cloud's gross margin compare with Huawei Cloud's?",
            ["Tencent Cloud's gross margin", "Huawei Cloud's gross margin"],
        ),
        (
            "How does Tencent Cloud's gross margin compare with Azure?",
            ["Tencent Cloud's gross margin", "Azure's gross margin"],
        ),
        ("腾讯云的毛利率与华为云相比如何?", ["腾讯云的毛利率", "华为云的毛利率"]),
        ("腾讯云和华为云的毛利率相比如何？", ["腾讯云的毛利率", "华为云的毛利率"]),
        ("How did Tencent Cloud grow last year?", []),
    ],
)
def test_comparison_parts(question: str, parts: list[str]) -> None:
    from rag.lead import comparison_parts

    assert comparison_parts(question) == parts


def test_a_comparison_leads_with_each_sides_figure_and_a_changes_end_is_its_value_now() -> None:
    from rag.lead import conjunct_lead

    quotes = [(1, "腾讯云的毛利率从一年前的约20%提升至最近季度的略高于31%,而华为云的毛利率约为27%。")]
    by_words = {
        "Tencent Cloud's gross margin": _words("腾讯云", "毛利率"),
        "Huawei Cloud's gross margin": _words("华为云", "毛利率"),
    }

    def focus_of(words: str):  # type: ignore[no-untyped-def]
        return by_words.get(words, _words("毛利率"))

    lead = conjunct_lead(
        "How does Tencent Cloud's gross margin compare with Huawei Cloud's?", "en", quotes, focus_of
    )
    assert (
        lead == "Tencent Cloud's gross margin: just over 31% [1]; Huawei Cloud's gross margin: about 27% [1]"
    )


@pytest.mark.parametrize(
    ("question", "script", "quotes", "lead"),
    [
        (
            "How did UBS revise its year-end copper price forecast?",
            "en",
            [
                (1, "瑞银表示铜价仍有上行空间。"),
                (2, "瑞银将年底铜价预测上调至11500美元/吨,此前预测为10200美元。"),
            ],
            "raised to US$11,500/t (from US$10,200) [2]",
        ),
        (
            "瑞银如何调整铜价预测?",
            "zh-Hans",
            [(1, "UBS lowered its year-end copper forecast to $9,800 per tonne from $10,500.")],
            "下调至9800美元/吨(此前为1.05万美元) [1]",
        ),
        (
            "Why did the airline cut its 2025 margin forecast, and to what level?",
            "en",
            [(1, "历史对比:2024年利润率为负5%"), (2, "该航空公司将2025年利润率预期下调至8% 同行预计约为11%")],
            "cut to 8% [2]",
        ),
        # a revision without the figure it leads to: no lead
        ("How did UBS revise its copper forecast?", "en", [(1, "瑞银上调了铜价预测。")], None),
        # not a question about a revision
        ("What is UBS's copper forecast?", "en", [(1, "瑞银将铜价预测上调至11500美元/吨。")], None),
    ],
)
def test_a_revision_question_leads_with_the_new_figure_and_the_one_it_replaces(
    question: str, script: str, quotes: list[tuple[int, str]], lead: str | None
) -> None:
    from rag.lead import revision_lead

    assert revision_lead(question, script, quotes) == lead


@pytest.mark.parametrize(
    ("question", "lead"),
    [
        ("What annualized run rate have its ad tools reached?", "US$60 billion [1]"),
        ("其广告工具的年化运行率是多少?", "600亿美元 [1]"),
    ],
)
def test_a_run_rate_is_an_amount_not_a_percentage(question: str, lead: str) -> None:
    from rag.lead import lead_line

    quote = "其AI广告工具的年化收入运行率达到600亿美元,同比增长26%。"
    assert lead_line(question, "en" if question.isascii() else "zh-Hans", quote, 1) == lead


def test_a_question_asking_which_companies_leads_with_the_names_and_tickers_of_the_sentence() -> None:
    from rag.lead import listed_lead

    sentence = "半导体板块中,建议关注产能持续扩张的中芯国际(981 HK),及估值仍有提升空间的华虹半导体(1347 HK)、Lattice(LSCC US)。"
    assert listed_lead("Which chip stocks does the broker recommend?", "en", sentence, 2) == (
        "中芯国际 (981 HK), 华虹半导体 (1347 HK), Lattice (LSCC US) [2]"
    )
    assert listed_lead("该券商推荐哪些芯片股?", "zh-Hans", sentence, 1) == (
        "中芯国际 (981 HK)、华虹半导体 (1347 HK)、Lattice (LSCC US) [1]"
    )
    # one asked, several named: which one is a guess; not a "which" question: no list
    assert listed_lead("Which chip stock does the broker like most?", "en", sentence, 1) is None
    assert listed_lead("Why does the broker like chip stocks?", "en", sentence, 1) is None
    assert (
        listed_lead("Which stock does it prefer?", "en", "首选中芯国际(981 HK)。", 1)
        == "中芯国际 (981 HK) [1]"
    )
    assert listed_lead("Which stock does it prefer?", "en", "首选宁德时代(300750.SZ)。", 1) == (
        "宁德时代 (300750.SZ) [1]"
    )
    # an acronym in brackets is no ticker
    tar = "the Third Assessment Report (TAR) and the Fourth (AR4)"
    assert listed_lead("Which reports did it cite?", "en", tar, 1) is None


def test_a_semicolon_ends_the_item_whose_subject_tells_equal_clauses_apart() -> None:
    from rag.lead import lead_line

    quote = "华为在手订单达到820亿元,同比增长41%;储能业务收入达到95亿元,同比增长12%"
    lead = lead_line(
        "how fast is it growing year over year",
        "en",
        quote,
        1,
        focus=_words("同比增长"),
        subject=_words("订单", "同比增长"),
    )
    assert lead == "41% [1]"


@pytest.mark.parametrize(
    ("question", "sentence", "lead"),
    [
        (
            "Which two models did Zhipu open-source in March?",
            "3月12日,智谱GLM-5、智谱GLM-5V发布并开源,参数规模达到300B。",
            "智谱GLM-5, 智谱GLM-5V [1]",
        ),
        (
            "OpenAI发布了哪两款模型?",
            "OpenAI发布了GPT-5和GPT-5 mini,并下调了API价格。",
            "GPT-5、GPT-5 mini [1]",
        ),
        # as many names as asked, or no lead; English text: no names stand out by their letters
        ("Which three models did Zhipu open-source?", "智谱GLM-5、智谱GLM-5V发布并开源。", None),
        ("Which two models were released?", "OpenAI released GPT-5 and GPT-5 mini on Thursday.", None),
        ("Which models did Zhipu open-source?", "智谱GLM-5、智谱GLM-5V发布并开源。", None),
        # letters are no names: two types of one bus
        ("这条巴士线来往于哪两个地方?", "来往乐富及尖沙咀码头。50年代初引入首批双层巴士丹拿A、B型。", None),
    ],
)
def test_a_question_asking_which_two_names_leads_with_the_enumeration_of_two(
    question: str, sentence: str, lead: str | None
) -> None:
    from rag.lead import listed_lead

    assert listed_lead(question, "en" if question.isascii() else "zh-Hans", sentence, 1) == lead


def test_the_enumeration_may_be_in_the_quote_around_the_best_sentence() -> None:
    from rag.lead import listed_lead

    best = "3月14日,智谱图像2.0正式发布并开源。"
    quote = best + "两天前的3月12日,智谱GLM-5、智谱GLM-5V发布并开源。"
    question = "Which two models did Zhipu open-source on March 12?"
    assert listed_lead(question, "en", best, 1) is None
    assert listed_lead(question, "en", best, 1, quote) == "智谱GLM-5, 智谱GLM-5V [1]"


def test_answering_kinds() -> None:
    from rag.lead import answering_kinds

    assert answering_kinds("What is Meta's 2026 capex guidance?") == ("money",)
    # a change in money may be stated as a share of it
    assert answering_kinds("By how much does the PPU undercut the H20's cost?") == ("money", "percent")
    assert answering_kinds("What share of Nvidia's revenue came from China?") == ("percent",)
    assert answering_kinds("Why did Hong Kong stocks fall?") == ()
    assert answering_kinds("When was the round announced?") == ()
    assert answering_kinds("2010年杰克逊维尔市的人口是多少?") == ()
