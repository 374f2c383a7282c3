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
        ("價格約為9800日元到14800日元", "JPY 9800–14800", "9800至14800日元"),
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
