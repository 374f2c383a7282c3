"""The `rag` command: index summary, search, ask (human and JSON), and clear errors with exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import rag.engine as engine_mod
from rag.cli import main


@pytest.fixture
def cli_env(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, small_corpus: Path, shared_cache: Path, fake_embedder
):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("RAG_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("RAG_CORPUS", str(small_corpus))
    monkeypatch.setenv("RAG_CACHE", str(shared_cache))
    # the CLI builds its embedder from settings; tests swap in the fake one
    monkeypatch.setattr(engine_mod, "build_embedder", lambda settings: fake_embedder)
    return tmp_path


def test_index_prints_a_summary_and_reindex_embeds_nothing(
    cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["index", "--json"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["files"] == 4 and first["chunks"] > 0
    # the session shares one embedding cache: earlier tests may already have embedded these texts
    assert first["embedded"] + first["reused"] == first["chunks"]
    assert first["articles"] >= 4 and "seconds" in first
    assert main(["index"]) == 0
    out = capsys.readouterr().out
    assert "embedded 0" in out and "0 new or changed" in out


def test_ask_builds_the_index_on_first_use(
    cli_env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # a private embedding cache: every chunk is embedded, so progress has something to report
    monkeypatch.setenv("RAG_CACHE", str(cli_env / "own-cache"))
    assert main(["ask", "阶跃星辰融资多少?"]) == 0
    captured = capsys.readouterr()
    out = captured.out
    assert "50亿元" in out and "[1]" in out and "Sources:" in out and "36氪" in out
    # no terminal here: what is happening is said in plain lines, not a progress bar
    err = captured.err
    assert "no index yet: indexing" in err and "indexed in" in err
    lines = [ln for ln in err.splitlines() if ln.startswith("embedding: ")]
    assert lines and lines[-1].split()[1].split("/")[0] == lines[-1].split()[1].split("/")[1]
    # later runs reuse the index and say nothing about indexing
    assert main(["ask", "阶跃星辰融资多少?"]) == 0
    assert "indexing" not in capsys.readouterr().err


def test_ask_json_and_search(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", "阶跃星辰融资多少?", "--json"]) == 0
    ans = json.loads(capsys.readouterr().out)
    assert ans["abstained"] is False and ans["citations"][0]["doc"] == "digest.txt"
    assert {"n", "doc", "title", "source", "date", "start", "end", "quote"} <= set(ans["citations"][0])
    assert main(["search", "Google Cloud backlog", "--k", "2", "--json"]) == 0
    hits = json.loads(capsys.readouterr().out)
    assert len(hits) == 2 and hits[0]["doc"] == "cloud.md"
    assert main(["search", "融资", "--source", "36氪"]) == 0
    assert "36氪" in capsys.readouterr().out


def test_unanswerable_question_abstains(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", "What is the boiling point of liquid nitrogen on Titan?", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["abstained"] is True


def test_errors_have_messages_and_exit_codes(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", "   "]) == 2
    assert "empty" in capsys.readouterr().err
    assert main(["index", str(cli_env / "missing")]) == 3
    assert "no such file" in capsys.readouterr().err
    bad = cli_env / "bad.txt"
    bad.write_bytes("标题".encode("gbk"))
    assert main(["index", str(bad)]) == 2
    assert "UTF-8" in capsys.readouterr().err


def test_a_bad_setting_is_one_line_naming_the_variable(monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("RAG_TOP_K", "abc")
    assert main(["search", "anything"]) == 5
    err = capsys.readouterr().err.strip()
    assert err.startswith("rag: error: RAG_TOP_K:") and "'abc'" in err and "\n" not in err


def test_ask_follow_up_reads_the_question_against_the_conversation(
    cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ask", "阶跃星辰融资多少?"]) == 0
    capsys.readouterr()
    assert main(["ask", "--follow-up", "那Meta的资本支出呢?", "--json"]) == 0
    ans = json.loads(capsys.readouterr().out)
    assert ans["read_as"] == "Meta的资本支出?"
    assert "1150亿美元" in " ".join(c["quote"] for c in ans["citations"])
    assert main(["ask", "--follow-up", "它的团队来自哪里?"]) == 0  # the plain output says how it read it
    assert capsys.readouterr().out.startswith("Read as: Meta的团队来自哪里?")
    # without --follow-up a question starts a new conversation: nothing is carried over
    assert main(["ask", "那它的营收呢?", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["read_as"] is None


def test_index_takes_a_pdf_and_ask_shows_the_page(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.index.test_extract import PAGE1, PAGE2, chinese_pdf, scanned_pdf

    pdf = cli_env / "cmbi.pdf"
    pdf.write_bytes(chinese_pdf([PAGE1, PAGE2]))
    assert main(["index", str(pdf)]) == 0
    capsys.readouterr()
    assert main(["ask", "豆包大模型日均Tokens使用量达到多少?"]) == 0
    assert "(cmbi.pdf p. 2:" in capsys.readouterr().out
    scan = cli_env / "scan.pdf"
    scan.write_bytes(scanned_pdf())
    assert main(["index", str(scan)]) == 2
    assert "no text layer" in capsys.readouterr().err
