"""The chat widget in a real browser (Debian's Chromium via Playwright) against a real ``rag serve``.

One server for the module, indexing a single seed file with the real model. The journey: open the widget
from the demo page, ask the Meta capex question, follow a citation chip to the highlighted passage, get an
abstention, get an API error, then stop the server and get the "unreachable" message. Screenshots of the
answer and the opened citation at desktop and phone width go to docs/screenshots/ (shown in the README).
One test runs its own in-process server with a stand-in LLM that pauses mid-reply, to see the answer
appear while it streams.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from api.app import create_app
from tests.api.browser_fixtures import (
    DESKTOP,
    PHONE,
    REPO,
    LiveServer,
    launch_chromium,
    require_cjk_font,
    start_rag_serve,
)
from tests.api.conftest import live_server
from tests.api.llm_stub import Behaviour, llm_stub, passage_number

pytest.importorskip("playwright.sync_api")
from playwright.sync_api import Page, Request, expect  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.timeout(1800)]

SEED = REPO / "seeds" / "002_b61d5e6d8fe08b5d.txt"
SHOTS = REPO / "docs" / "screenshots"
HOST = "rag-chat-widget"  # the element whose shadow root holds the widget
META_Q = "What is Meta's 2026 capex guidance?"
UNANSWERABLE_Q = "Who won the 2022 FIFA World Cup?"

LABELS = {
    "en": {
        "launch": "Ask the documents",
        "title": "Research assistant",
        "question": "Your question",
        "send": "Send",
        "close": "Close chat",
        "abstain": "The documents don't answer this question",
        "error": "The service returned an error",
        "unreachable": "Can't reach the service",
        "back": "Back to the conversation",
    },
    "zh-Hans": {
        "launch": "向文档提问",
        "title": "研究助手",
        "question": "你的问题",
        "send": "发送",
        "close": "关闭对话",
        "abstain": "文档中没有这个问题的答案",
        "error": "服务返回错误",
        "unreachable": "无法连接到服务",
        "back": "返回对话",
    },
    "zh-Hant": {"launch": "向文件提問", "title": "研究助理", "question": "你的問題"},
}


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    # Not tmp_path_factory: pytest prunes old basetemps when other sessions start, and the index build
    # takes minutes, so a concurrent test run could delete the server's data from under it.
    with tempfile.TemporaryDirectory(prefix="rag-widget-test-") as tmp:
        base = Path(tmp)
        corpus = base / "corpus"
        corpus.mkdir()
        shutil.copyfile(SEED, corpus / SEED.name)
        srv = start_rag_serve(corpus=corpus, data_dir=base / "data", log=base / "serve.log")
        try:
            yield srv
        finally:
            srv.stop()


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    with launch_chromium() as browser:
        yield browser


@pytest.fixture
def open_page(chromium: Any) -> Iterator[Callable[..., Page]]:
    """Pages in fresh contexts; uncaught page errors fail the test."""
    contexts: list[Any] = []
    errors: list[str] = []

    def make(viewport: dict[str, int] = DESKTOP) -> Page:
        ctx = chromium.new_context(viewport=viewport, device_scale_factor=1)
        contexts.append(ctx)
        page: Page = ctx.new_page()
        page.on("pageerror", lambda e: errors.append(str(e)))
        return page

    yield make
    for ctx in contexts:
        ctx.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def articles(text: str) -> dict[str, str]:
    """The seed file's articles by title: a title line, a ``source· date`` line, then the body."""
    lines = text.splitlines(keepends=True)
    starts = [
        i - 1 for i, ln in enumerate(lines) if i and re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}\s*$", ln)
    ]
    out = {}
    for a, b in zip(starts, [*starts[1:], len(lines)], strict=True):
        out[lines[a].strip()] = "".join(lines[a:b])
    return out


def widget(page: Page, css: str) -> Any:
    return page.locator(f"{HOST} {css}")


def open_widget(page: Page, labels: dict[str, str]) -> Any:
    launcher = page.get_by_role("button", name=labels["launch"])
    expect(launcher).to_have_attribute("aria-expanded", "false")
    launcher.click()
    expect(page.get_by_role("dialog", name=labels["title"])).to_be_visible()
    expect(launcher).to_have_attribute("aria-expanded", "true")
    box = page.get_by_role("textbox", name=labels["question"])
    expect(box).to_be_focused()
    return box


def ask(page: Page, box: Any, question: str) -> Any:
    """Type a question, press Enter, and return the assistant's message once it has finished."""
    box.fill(question)
    box.press("Enter")
    expect(box).to_have_value("")
    msg = widget(page, ".msg.bot").last
    expect(msg).to_have_attribute("aria-busy", "false", timeout=180_000)
    return msg


@pytest.mark.parametrize(
    ("viewport", "lang", "name"),
    [(DESKTOP, "en", "desktop"), (PHONE, "zh-Hans", "phone")],
    ids=["desktop", "phone"],
)
def test_answer_cites_and_opens_highlighted_passage(
    server: LiveServer, open_page: Callable[..., Page], viewport: dict[str, int], lang: str, name: str
) -> None:
    labels = LABELS[lang]
    page = open_page(viewport)
    asked: list[Any] = []

    def record(request: Request) -> None:
        if request.url.endswith("/ask"):
            asked.append(request.post_data_json)

    page.on("request", record)
    page.goto(server.url + ("/" if lang == "en" else f"/?lang={lang}"))

    box = open_widget(page, labels)
    msg = ask(page, box, META_Q)

    assert asked and asked[-1] == {"question": META_Q, "stream": True, "history": []}
    text = msg.locator(".text").inner_text()
    assert "1150亿" in text and "1350亿" in text, text
    chips = msg.locator(".chip")
    assert chips.count() >= 1
    # every chip refers to a numbered source listed under the answer: "title · source · date"
    sources = msg.locator("ol .src")
    assert sources.count() >= 1
    assert re.search(r"\d{4}-\d{2}-\d{2}", sources.first.inner_text())
    chip_numbers = {chips.nth(i).inner_text() for i in range(chips.count())}
    source_numbers = {sources.nth(i).locator(".num").inner_text().strip("[]") for i in range(sources.count())}
    assert chip_numbers <= source_numbers
    require_cjk_font()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"widget-answer-{name}.png"))

    # the chip right after the sentence with the figures
    at = chips.evaluate_all(
        "cs => cs.findIndex(c => (c.previousSibling?.textContent || '').includes('1150亿'))"
    )
    assert at >= 0, "no citation chip follows the sentence with the figures"
    chip = chips.nth(at)
    chip.click()
    mark = widget(page, ".passage mark")
    expect(mark).to_be_visible(timeout=30_000)
    expect(mark).to_contain_text("1150亿")
    expect(page.get_by_role("button", name=labels["back"])).to_be_focused()
    quote = mark.inner_text()
    title = widget(page, ".phead h3").inner_text()
    by_title = articles(SEED.read_text(encoding="utf-8"))
    assert title in by_title, f"passage title {title!r} is not an article of the cited file"
    assert len(quote) >= 10 and quote in by_title[title], quote
    expect(widget(page, ".ptext")).to_contain_text(quote)
    page.screenshot(path=str(SHOTS / f"widget-citation-{name}.png"))

    # Escape leaves the passage (focus back on the chip), a second Escape closes the panel (focus on launcher)
    page.keyboard.press("Escape")
    expect(mark).to_be_hidden()
    expect(chip).to_be_focused()
    page.keyboard.press("Escape")
    launcher = page.get_by_role("button", name=labels["launch"])
    expect(launcher).to_be_focused()
    expect(launcher).to_have_attribute("aria-expanded", "false")
    expect(page.get_by_role("dialog")).to_be_hidden()
    # the conversation survives closing and reopening
    launcher.press("Enter")
    expect(widget(page, ".msg.user")).to_have_text([re.compile(re.escape(META_Q))])
    expect(widget(page, ".msg.bot .chip").first).to_be_visible()


def test_keyboard_labels_and_isolation(server: LiveServer, open_page: Callable[..., Page]) -> None:
    page = open_page(DESKTOP)
    page.goto(server.url + "/")
    # the host page's CSS does not reach into the widget
    page.add_style_tag(content="* { color: rgb(255, 0, 0) !important; } button { display: none !important; }")
    labels = LABELS["en"]
    launcher = page.get_by_role("button", name=labels["launch"])
    expect(launcher).to_be_visible()
    assert launcher.evaluate("b => getComputedStyle(b).color") == "rgb(255, 255, 255)"
    box = open_widget(page, labels)
    dialog = page.get_by_role("dialog", name=labels["title"])
    expect(widget(page, "[role=log]")).to_have_attribute("aria-live", "polite")

    # Shift+Enter adds a line instead of sending; Tab moves on to Send
    box.type("first line")
    box.press("Shift+Enter")
    box.type("second line")
    expect(box).to_have_value("first line\nsecond line")
    expect(widget(page, ".msg.user")).to_have_count(0)
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name=labels["send"])).to_be_focused()
    page.keyboard.press("Shift+Tab")
    expect(box).to_be_focused()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(launcher).to_be_focused()

    # labels follow <html lang>: simplified, traditional (zh-TW maps to it), anything else -> English
    for query, lang in (("zh-Hans", "zh-Hans"), ("zh-CN", "zh-Hans"), ("zh-TW", "zh-Hant"), ("fr", "en")):
        p = open_page(PHONE)
        p.goto(f"{server.url}/?lang={query}")
        want = LABELS[lang]
        p.get_by_role("button", name=want["launch"]).click()
        expect(p.get_by_role("dialog", name=want["title"])).to_be_visible()
        expect(p.get_by_role("textbox", name=want["question"])).to_be_focused()
        # at phone width the panel takes the whole screen
        box_size = p.get_by_role("dialog").bounding_box()
        assert box_size and box_size["width"] == PHONE["width"]


def test_abstention_and_error_messages(server: LiveServer, open_page: Callable[..., Page]) -> None:
    page = open_page(DESKTOP)
    page.goto(server.url + "/")
    labels = LABELS["en"]
    box = open_widget(page, labels)

    msg = ask(page, box, UNANSWERABLE_Q)
    expect(msg).to_contain_text(labels["abstain"])
    expect(msg.locator(".chip")).to_have_count(0)
    expect(msg.locator("ol")).to_have_count(0)

    # a question the API refuses (too long): its error message is shown, not a blank bubble
    msg = ask(page, box, "why? " * 500)
    expect(msg.get_by_role("alert")).to_contain_text(labels["error"])


def test_a_follow_up_is_read_against_the_conversation(
    server: LiveServer, open_page: Callable[..., Page]
) -> None:
    page = open_page(DESKTOP)
    asked: list[Any] = []
    page.on("request", lambda r: asked.append(r.post_data_json) if r.url.endswith("/ask") else None)
    page.goto(server.url + "/")
    box = open_widget(page, LABELS["en"])
    ask(page, box, META_Q)
    msg = ask(page, box, "And Microsoft's?")
    # the widget sends the conversation, and shows how the service read the follow-up
    assert asked[-1] == {"question": "And Microsoft's?", "stream": True, "history": [META_Q]}
    expect(msg.locator(".readas")).to_have_text("Read as: What is Microsoft's 2026 capex guidance?")
    expect(msg.locator(".text")).to_contain_text("375亿")
    expect(msg.locator(".chip").first).to_be_visible()


def test_the_answer_shows_while_it_streams(make_engine: Any, open_page: Callable[..., Page]) -> None:
    """With an LLM that stops after its first sentence: the widget shows that sentence while the
    answer is unfinished, then the whole answer with its markers as citation links."""
    first = "Meta guided 2026 capital expenditures of $115-135 billion [1]."
    then = "The top end is nearly twice its 2025 capex [1]."
    with llm_stub() as (url, stub):
        # the small test corpus and the fake embedder: no model to load, the LLM path is what counts
        engine = make_engine(llm_url=url, llm_model="stub-model", llm_timeout_s=60.0)

        def script(req: dict[str, Any]) -> Behaviour:
            # cite the passage that holds the figures, whatever its number in this prompt
            n = passage_number(req, "1150亿美元") or 99
            a, b = first.replace("[1]", f"[{n}]"), then.replace("[1]", f"[{n}]")
            return Behaviour(pieces=[a[:25], a[25:] + " ", b[:7], b[7:]], hold_after_pieces=3)

        stub.script = script
        try:
            with live_server(create_app(engine.settings, engine)) as base:
                page = open_page(DESKTOP)
                page.goto(base + "/")
                box = open_widget(page, LABELS["en"])
                box.fill(META_Q)
                box.press("Enter")
                msg = widget(page, ".msg.bot").last
                expect(msg.locator(".text")).to_have_text(first, timeout=30_000)
                expect(msg).to_have_attribute("aria-busy", "true")
                assert not stub.last_piece_sent.is_set()  # the LLM is still writing
                expect(msg.locator(".chip")).to_have_count(0)  # markers become links with the final answer
                stub.release.set()
                expect(msg).to_have_attribute("aria-busy", "false", timeout=30_000)
                expect(msg.locator(".text")).to_have_text(
                    re.compile(r"^Meta guided .* twice its 2025 capex\s*1\.$")
                )
                expect(msg.locator(".chip")).to_have_count(2)
                expect(msg.locator("ol .src")).to_have_count(1)
                # a follow-up: its reading shows as a reading line while the answer streams
                stub.release.clear()
                stub.last_piece_sent.clear()
                box.fill("And Microsoft's?")
                box.press("Enter")
                msg = widget(page, ".msg.bot").last
                expect(msg.locator(".text")).to_have_text(first, timeout=30_000)
                expect(msg.locator(".readas")).to_have_text(
                    "Read as: What is Microsoft's 2026 capex guidance?"
                )
                expect(msg).to_have_attribute("aria-busy", "true")
                stub.release.set()
                expect(msg).to_have_attribute("aria-busy", "false", timeout=30_000)
                expect(msg.locator(".readas")).to_have_text(
                    "Read as: What is Microsoft's 2026 capex guidance?"
                )
                expect(msg.locator(".chip")).to_have_count(2)
        finally:
            stub.release.set()


def test_unreachable_service_message(server: LiveServer, open_page: Callable[..., Page]) -> None:
    """Runs last in this module: it stops the shared server."""
    page = open_page(PHONE)
    page.goto(server.url + "/?lang=zh-Hans")
    labels = LABELS["zh-Hans"]
    box = open_widget(page, labels)
    server.stop()
    msg = ask(page, box, META_Q)
    expect(msg.get_by_role("alert")).to_contain_text(labels["unreachable"])
    # the question stays in the conversation and the box is ready for another try
    expect(widget(page, ".msg.user")).to_have_count(1)
    expect(page.get_by_role("button", name=labels["send"])).to_be_enabled()
