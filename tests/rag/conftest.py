"""A small bilingual corpus and an engine over it, built with the fake embedder."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.engine import Engine
from rag.settings import Settings

DIGEST = """Workflow
AI商业化
icon
搜索文档
Meta四季度业绩超预期
智通财经网· 2026-02-03 14:56
业绩要点 - Meta预计2026年资本支出将在1150亿美元至1350亿美元之间 [1] - 第四季度营收598.9亿美元,同比增长24% [2]
阶跃星辰完成新一轮融资
36氪· 2026-01-27 08:25
融资情况 - 阶跃星辰获得超过50亿元人民币的新一轮融资 [1] - 团队来自旷视科技 [2]
黄金价格再创新高
券商中国· 2026-01-20 09:00
市场表现 - 现货黄金价格突破每盎司4000美元 [1] - 资金涌入黄金白银等避险资产 [2]
"""
DUPLICATE = """# 转载

业绩要点 - Meta预计2026年资本支出将在1150亿美元至1350亿美元之间 [1] - 第四季度营收598.9亿美元,同比增长24%
"""
TRADITIONAL = """#科技
輝達H20重返中國市場
輝達獲准恢復向中國銷售H20晶片,業界認為此舉意在維持中國市場份額。
"""
ENGLISH = """# Cloud note

Google Cloud revenue grew 32% to $13.6 billion in 2Q25.

The backlog reached $106 billion, up 38% year over year.
"""


def write_corpus(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "digest.txt").write_text(DIGEST, encoding="utf-8")
    (root / "dup.md").write_text(DUPLICATE, encoding="utf-8")
    (root / "trad.txt").write_text(TRADITIONAL, encoding="utf-8")
    (root / "cloud.md").write_text(ENGLISH, encoding="utf-8")
    return root


@pytest.fixture(scope="session")
def small_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_corpus(tmp_path_factory.mktemp("corpus"))


@pytest.fixture
def settings(tmp_path: Path, small_corpus: Path, shared_cache: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", corpus=small_corpus, cache=shared_cache)


@pytest.fixture
def engine(settings: Settings, fake_embedder) -> Engine:  # type: ignore[no-untyped-def]
    return Engine.open(settings, embedder=fake_embedder)
