import argparse
import json
from pathlib import Path

import pytest

import rag.engine
from eval import cli
from rag.settings import Settings
from tests.eval.test_harness import QA, QB, A, B, engine


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="rag")
    cli.add_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["eval", *argv])


def gold_file(tmp_path: Path) -> Path:
    lines = [
        {
            "id": "q1",
            "question": "What is Meta's capex?",
            "lang": "en",
            "type": "numeric",
            "answerable": True,
            "answer": "",
            "facts": [["115 billion"]],
            "evidence": [{"doc": "a.txt", "quote": QA}],
        },
        {
            "id": "q2",
            "question": "阿里云收入增长多少?",
            "lang": "zh-Hans",
            "type": "factoid",
            "answerable": True,
            "answer": "",
            "facts": [["34%"]],
            "evidence": [{"doc": "b.txt", "quote": QB}],
        },
        {
            "id": "q3",
            "question": "Meta 2030 capex?",
            "lang": "en",
            "type": "near-miss",
            "answerable": False,
            "answer": "",
            "facts": [],
            "evidence": [],
        },
    ]
    p = tmp_path / "gold.jsonl"
    p.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in lines), encoding="utf-8")
    return p


class Opened:
    """Replaces ``Engine``: records the settings it was opened with and returns the scripted engine."""

    settings: Settings | None = None

    @classmethod
    def open(cls, settings, embedder=None, progress=False):
        cls.settings = settings
        return engine()


@pytest.fixture
def fake_engine(monkeypatch):
    Opened.settings = None
    monkeypatch.setattr(rag.engine, "Engine", Opened, raising=False)
    return Opened


def test_parser_defaults():
    args = parse(["--gold", "g.jsonl"])
    assert args.k == 10 and args.corpus is None and args.func is cli.run and args.progress is True
    with pytest.raises(SystemExit):
        parse(["--gold", "g.jsonl", "--k", "0"])


def test_missing_corpus_dir_is_a_clear_error(tmp_path, capsys, fake_engine):
    code = cli.run(
        parse(["--gold", str(gold_file(tmp_path)), "--corpus", str(tmp_path / "nope")]),
        settings=Settings(data_dir=tmp_path),
    )
    assert code == 2
    assert f"corpus directory not found: {tmp_path / 'nope'}" in capsys.readouterr().err
    assert fake_engine.settings is None


def test_malformed_gold_line_exits_2_naming_the_line(tmp_path, capsys):
    p = tmp_path / "g.jsonl"
    p.write_text('{"id": "x"}\n', encoding="utf-8")
    assert cli.run(parse(["--gold", str(p)]), settings=Settings(data_dir=tmp_path)) == 2
    err = capsys.readouterr().err
    assert f"{p}:1: 'question' must be a non-empty string (missing)" in err


def test_settings_for_corpus_and_index_dir(tmp_path):
    corpus = tmp_path / "docs"
    corpus.mkdir()
    base = Settings(data_dir=tmp_path / "data")
    s = cli.settings_for(base, corpus, None)
    assert s.corpus == corpus.resolve()
    assert s.index_name == cli.corpus_index_name(corpus) and s.index_name.startswith("corpus-")
    assert cli.corpus_index_name(tmp_path / "docs" / ".." / "docs") == s.index_name  # by resolved path
    assert s.index_dir == tmp_path / "data" / "indexes" / s.index_name
    assert cli.settings_for(base, None, None) is base

    pinned = cli.settings_for(base, corpus, tmp_path / "elsewhere" / "idx")
    assert pinned.index_dir == (tmp_path / "elsewhere" / "idx").resolve()
    assert pinned.corpus == corpus.resolve() and pinned.cache_dir == base.cache_dir
    only_dir = cli.settings_for(base, None, tmp_path / "idx")
    assert only_dir.index_dir == (tmp_path / "idx").resolve() and only_dir.corpus == base.corpus


def test_run_writes_json_report_and_plot(tmp_path, capsys, fake_engine):
    corpus = tmp_path / "docs"
    corpus.mkdir()
    (corpus / "a.txt").write_text(A, encoding="utf-8")
    (corpus / "b.txt").write_text(B, encoding="utf-8")
    out = tmp_path / "out"
    args = parse(
        [
            "--gold",
            str(gold_file(tmp_path)),
            "--corpus",
            str(corpus),
            "--no-progress",
            "--json",
            str(out / "r.json"),
            "--report",
            str(out / "r.md"),
            "--plot",
            str(out / "r.png"),
        ]
    )
    assert cli.run(args, settings=Settings(data_dir=tmp_path / "data")) == 0
    assert fake_engine.settings.corpus == corpus.resolve()

    r = json.loads((out / "r.json").read_text(encoding="utf-8"))
    assert r["n"] == 3 and r["n_answerable"] == 2 and r["meta"]["name"] == f"{tmp_path.name}/gold"
    assert set(r["retrieval"]) >= {"recall@1", "recall@5", "recall@10", "mrr@10", "ndcg@10"}
    assert r["answer"]["abstention_accuracy"] == 1.0
    assert "![retrievers compared](r.png)" in (out / "r.md").read_text(encoding="utf-8")
    assert (out / "r.png").stat().st_size > 1000
    stdout = capsys.readouterr().out
    assert "full pipeline (hybrid)" in stdout and f"wrote {out / 'r.json'}" in stdout
