import json

import pytest

from eval.harness import evaluate
from eval.report import (
    END,
    START,
    main,
    plot_baselines,
    render_files,
    render_markdown,
    results_table,
    update_readme,
)
from index.errors import InputError
from tests.eval.test_harness import ITEMS, engine


@pytest.fixture(scope="module")
def result():
    r = evaluate(engine(), ITEMS, progress=False)
    r["meta"] = {"name": "tiny"}
    return r


def test_markdown_report_has_every_section(result):
    md = render_markdown(result, title="Evaluation: tiny", plot="tiny.png")
    for heading in (
        "# Evaluation: tiny",
        "## Overall",
        "## Retrievers on the same chunks",
        "## By language",
        "## By type",
        "## Latency",
        "## Failures (3 of 4)",
    ):
        assert heading in md
    assert "![retrievers compared](tiny.png)" in md
    assert "| full pipeline (hybrid) | 0.500 | 1.000 | 1.000 | 0.667 | 0.750 |" in md
    assert "| zh-Hant | 1 | 0 | – |" in md  # no answerable zh-Hant item: a dash, not a zero
    assert "answered an unanswerable question" in md and "missing facts; irrelevant citation" in md


def test_plot_is_a_png(result, tmp_path):
    out = plot_baselines(result, tmp_path / "sub" / "chart.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_results_table_and_readme_update(result, tmp_path):
    res = tmp_path / "eval" / "results"
    res.mkdir(parents=True)
    (res / "tiny.json").write_text(json.dumps(result), encoding="utf-8")
    (res / "tiny.md").write_text("report", encoding="utf-8")
    table = results_table(res)
    assert "| [tiny](tiny.md) | 4 (2) | 0.500 | 1.000 |" in table

    readme = tmp_path / "README.md"
    readme.write_text(f"# Project\n\nBefore.\n{START}\nold table\n{END}\nAfter.\n", encoding="utf-8")
    update_readme(readme, res)
    text = readme.read_text(encoding="utf-8")
    assert "old table" not in text and "Before." in text and "After." in text
    assert "[tiny](eval/results/tiny.md)" in text
    update_readme(readme, res)  # idempotent
    assert readme.read_text(encoding="utf-8") == text


def test_readme_without_markers_or_results_is_an_error(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("# no markers\n", encoding="utf-8")
    with pytest.raises(InputError, match="no results"):
        results_table(tmp_path)
    (tmp_path / "x.json").write_text("{}", encoding="utf-8")
    with pytest.raises(InputError, match="not an evaluation result"):
        results_table(tmp_path)
    with pytest.raises(InputError, match="has no"):
        update_readme(readme, tmp_path)


def test_render_files_and_the_module_entry(result, tmp_path, capsys):
    src = tmp_path / "tiny.json"
    src.write_text(json.dumps(result), encoding="utf-8")
    md, png = render_files(src)
    assert md == tmp_path / "tiny.md" and "![retrievers compared](tiny.png)" in md.read_text(encoding="utf-8")
    assert png.read_bytes()[:4] == b"\x89PNG"

    readme = tmp_path / "README.md"
    readme.write_text(f"{START}\n{END}\n", encoding="utf-8")
    assert main([str(readme), str(tmp_path)]) == 0
    assert "[tiny](tiny.md)" in readme.read_text(encoding="utf-8")
    assert main([]) == 2 and main([str(tmp_path / "missing.md"), str(tmp_path)]) == 2
    assert "README not found" in capsys.readouterr().err
