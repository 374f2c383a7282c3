"""Latency and throughput of a running service over HTTP.

    python -m api.bench --url http://127.0.0.1:8000 --gold eval/gold/dev.jsonl
    python -m api.bench --url http://127.0.0.1:8000 --gold eval/gold/dev.jsonl \
        --concurrency 1,8,32,64 --while-indexing 1000000 --out eval/results/bench/serve.json

Only the ``question`` field of each JSONL line is read. Without ``--concurrency`` requests are sent one
at a time (a single user's view of latency, end to end: client, loopback, server, engine), after a
few warm-up requests.

With ``--concurrency`` one run reports, in order: the bare embedder's queries/s in this process at
batch 1 and 32 (the server idle meanwhile), then for each concurrency p50/p95/p99 latency, throughput
and errors of ``/search`` and ``/ask``; and with ``--while-indexing BYTES`` the same at concurrency 8
while a document of about that size (seed sentences reshuffled, so nothing comes from the embedding
cache) is being indexed in the background, which is cancelled afterwards (the index is left as it
was; needs write access). Every request's question is made unique (a numbered suffix), so the server's
query cache serves none of them: the numbers are those of new questions.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import httpx


def load_questions(path: Path) -> list[str]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            q = json.loads(line).get("question", "")
            if q.strip():
                out.append(q)
    return out


def summarize(ms: list[float]) -> dict[str, float]:
    if not ms:
        return {"n": 0}
    cuts = statistics.quantiles(ms, n=100, method="inclusive") if len(ms) > 1 else [ms[0]] * 99
    return {
        "n": len(ms),
        "p50": round(cuts[49], 1),
        "p95": round(cuts[94], 1),
        "mean": round(statistics.fmean(ms), 1),
        "max": round(max(ms), 1),
    }


def run(
    url: str, questions: list[str], k: int = 10, warmup: int = 3, timeout: float = 300.0
) -> dict[str, Any]:
    timings: dict[str, list[float]] = {"/search": [], "/ask": []}
    server: dict[str, list[float]] = {"/search": [], "/ask": []}  # the engine's own timings_ms.total
    errors: dict[str, int] = {"/search": 0, "/ask": 0}
    with httpx.Client(base_url=url, timeout=timeout) as http:
        http.get("/readyz").raise_for_status()
        for q in questions[:warmup]:  # first requests pay for lazy initialisation: not measured
            http.post("/search", json={"query": q, "k": k})
            http.post("/ask", json={"question": q})
        for q in questions:
            for route, body in (("/search", {"query": q, "k": k}), ("/ask", {"question": q})):
                t0 = time.perf_counter()
                r = http.post(route, json=body)
                ms = (time.perf_counter() - t0) * 1000
                if r.status_code == 200:
                    timings[route].append(ms)
                    server[route].append(float(r.json().get("timings_ms", {}).get("total", 0.0)))
                else:
                    errors[route] += 1
    return {
        "url": url,
        "questions": len(questions),
        "routes": {
            route: {**summarize(ms), "errors": errors[route], "server": summarize(server[route])}
            for route, ms in timings.items()
        },
    }


def bare_embedder(questions: list[str], batch: int, n: int = 96) -> float:
    """Queries per second of the configured embedder in this process (``RAG_*`` settings)."""
    from rag.engine import build_embedder
    from rag.settings import Settings

    emb = build_embedder(Settings())
    qs = [f"{questions[i % len(questions)]} ({i})" for i in range(n)]
    emb.encode_query(qs[:batch])  # warm-up
    t0 = time.perf_counter()
    for i in range(0, n, batch):
        emb.encode_query(qs[i : i + batch])
    return round(n / (time.perf_counter() - t0), 1)


async def _load(
    url: str, route: str, questions: list[str], concurrency: int, n: int, k: int, offset: int
) -> dict[str, Any]:
    import asyncio

    ms: list[float] = []
    errors = 0
    counter = iter(range(n))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=300.0, limits=limits) as http:

        async def worker() -> None:
            nonlocal errors
            for i in counter:
                q = f"{questions[i % len(questions)]} ({offset + i})"
                body = {"query": q, "k": k} if route == "/search" else {"question": q}
                t0 = time.perf_counter()
                try:
                    r = await http.post(route, json=body)
                    ok = r.status_code == 200
                except httpx.HTTPError:
                    ok = False
                if ok:
                    ms.append((time.perf_counter() - t0) * 1000)
                else:
                    errors += 1

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - t0
    out = summarize(ms)
    if len(ms) > 1:
        out["p99"] = round(statistics.quantiles(ms, n=100, method="inclusive")[98], 1)
    return {**out, "errors": errors, "throughput": round(len(ms) / wall, 1), "seconds": round(wall, 2)}


def load_run(
    url: str,
    questions: list[str],
    concurrency: int,
    k: int = 10,
    requests: int | None = None,
    offset: int = 0,
) -> dict[str, Any]:
    """Both routes at one concurrency, ``requests`` each (default: 4 per client, at least 64)."""
    import asyncio

    n = requests or max(64, 4 * concurrency)
    return {
        route: asyncio.run(_load(url, route, questions, concurrency, n, k, offset + j * n))
        for j, route in enumerate(("/search", "/ask"))
    }


def synthetic_document(size: int, seed: int = 0) -> str:
    """About ``size`` bytes of the seed corpus's lines, reshuffled and numbered (so every chunk is new)."""
    import random

    from rag.settings import Settings

    lines = [
        ln.strip()
        for f in sorted(Path(Settings().corpus).glob("*"))
        if f.is_file()
        for ln in f.read_text(encoding="utf-8").splitlines()
        if len(ln.strip()) > 20
    ]
    rng = random.Random(seed)
    out: list[str] = []
    total = 0
    i = 0
    while total < size and lines:
        ln = f"{rng.choice(lines)} ({seed}-{i})"
        out.append(ln)
        total += len(ln.encode()) + 1
        i += 1
    return "\n".join(out) + "\n"


def concurrency_run(
    url: str,
    questions: list[str],
    levels: list[int],
    k: int = 10,
    requests: int | None = None,
    while_indexing: int = 0,
    api_key: str = "",
) -> dict[str, Any]:
    result: dict[str, Any] = {
        "url": url,
        "embedder": {f"batch_{b}_qps": bare_embedder(questions, b) for b in (1, 32)},
        "levels": {},
    }
    with httpx.Client(base_url=url, timeout=300.0) as http:
        http.get("/readyz").raise_for_status()
        for q in questions[:3]:
            http.post("/search", json={"query": q, "k": k})
            http.post("/ask", json={"question": q})
    offset = 0
    for c in levels:
        result["levels"][str(c)] = load_run(url, questions, c, k, requests, offset)
        offset += 10_000
    if while_indexing:
        result["indexing"] = _while_indexing(url, questions, k, requests, while_indexing, api_key, offset)
    return result


def _while_indexing(
    url: str, questions: list[str], k: int, requests: int | None, size: int, api_key: str, offset: int
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    doc = synthetic_document(size, seed=int(time.time()))
    with httpx.Client(base_url=url, timeout=300.0, headers=headers) as http:
        t0 = time.perf_counter()
        r = http.post("/documents", files={"file": ("bench-indexing.txt", doc.encode())})
        accepted_ms = round((time.perf_counter() - t0) * 1000, 1)
        r.raise_for_status()
        job = r.json()
        while job["state"] in ("queued", "parsing"):
            time.sleep(0.2)
            job = http.get(f"/jobs/{job['id']}").json()
        before = job.get("done", 0)
        t1 = time.perf_counter()
        runs = load_run(url, questions, 8, k, requests, offset)
        job = http.get(f"/jobs/{job['id']}").json()
        rate = (job.get("done", 0) - before) / (time.perf_counter() - t1)
        if job["state"] not in ("done", "failed", "cancelled"):
            http.delete(f"/jobs/{job['id']}")
        elif job["state"] == "done":
            http.delete("/documents/bench-indexing.txt")  # the index is left as it was
    return {
        "document_bytes": len(doc.encode()),
        "accepted_ms": accepted_ms,
        "job_state": job["state"],
        "chunks_total": job.get("total", 0),
        "chunks_per_s_during_load": round(rate, 2),
        "8": runs,
    }


def print_concurrency(result: dict[str, Any]) -> None:
    e = result["embedder"]
    print(f"bare embedder: {e['batch_1_qps']} queries/s one at a time, {e['batch_32_qps']} in batches of 32")
    head = f"{'concurrency':<14} {'route':<8} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'req/s':>7} {'errors':>6}"
    print(head)
    rows = [(c, r) for c, r in result["levels"].items()]
    if "indexing" in result:
        rows.append(("8 + indexing", result["indexing"]["8"]))
    for c, routes in rows:
        for route, s in routes.items():
            print(
                f"{c:<14} {route:<8} {s.get('n', 0):>5} {s.get('p50', 0):>8} {s.get('p95', 0):>8} "
                f"{s.get('p99', 0):>8} {s['throughput']:>7} {s['errors']:>6}"
            )
    if "indexing" in result:
        ix = result["indexing"]
        print(
            f"indexing: {ix['document_bytes']} bytes accepted in {ix['accepted_ms']} ms (202), "
            f"{ix['chunks_total']} chunks, {ix['chunks_per_s_during_load']} chunks/s under load, job {ix['job_state']}"
        )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m api.bench", description=__doc__.split("\n")[0])
    p.add_argument("--url", default="http://127.0.0.1:8000")
    p.add_argument("--gold", type=Path, required=True, help="JSONL with a 'question' field per line")
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--concurrency", help="comma-separated client counts, e.g. 1,8,32,64")
    p.add_argument("--requests", type=int, help="requests per route and level (default 4 per client, >= 64)")
    p.add_argument(
        "--while-indexing",
        type=int,
        default=0,
        metavar="BYTES",
        help="also measure concurrency 8 while a document of about BYTES is indexed",
    )
    p.add_argument(
        "--api-key",
        default="",
        help="for the upload of --while-indexing: RAG_API_KEY, or the service's key in DATA_DIR/api-key",
    )
    p.add_argument("--out", type=Path, help="write the JSON result here (and a plot beside it, .png)")
    args = p.parse_args(argv)
    questions = load_questions(args.gold)
    if not questions:
        print(f"no questions in {args.gold}", file=sys.stderr)
        return 2
    if args.concurrency:
        try:
            levels = [int(x) for x in args.concurrency.split(",") if x.strip()]
            if not levels or min(levels) < 1:
                raise ValueError
        except ValueError:
            print(
                f"--concurrency takes positive integers, e.g. 1,8,32: {args.concurrency!r}", file=sys.stderr
            )
            return 2
        try:
            result = concurrency_run(
                args.url, questions, levels, args.k, args.requests, args.while_indexing, args.api_key
            )
        except httpx.HTTPError as e:
            print(f"cannot benchmark {args.url}: {e}", file=sys.stderr)
            return 1
        if args.out:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
            plot(result, args.out.with_suffix(".png"))
        if args.json:
            print(json.dumps(result, indent=1))
        else:
            print_concurrency(result)
        return 0
    try:
        result = run(args.url, questions, k=args.k, warmup=args.warmup)
    except httpx.HTTPError as e:
        print(f"cannot benchmark {args.url}: {e}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(result, indent=1))
        return 0
    print(f"{result['questions']} questions against {args.url} (sequential, over HTTP)")
    head = f"{'route':<8} {'n':>4} {'p50 ms':>9} {'p95 ms':>9} {'mean ms':>9} {'max ms':>9} {'errors':>6}"
    print(head + f" {'engine p50':>11} {'engine p95':>11}")
    for route, s in result["routes"].items():
        eng = s["server"]
        print(
            f"{route:<8} {s['n']:>4} {s.get('p50', 0):>9} {s.get('p95', 0):>9} "
            f"{s.get('mean', 0):>9} {s.get('max', 0):>9} {s['errors']:>6} {eng.get('p50', 0):>11} {eng.get('p95', 0):>11}"
        )
    return 0


def plot(result: dict[str, Any], path: Path) -> None:
    """Throughput and p95 latency against concurrency, the bare embedder's batched rate for scale."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    levels = [int(c) for c in result["levels"]]
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    for route in ("/search", "/ask"):
        a.plot(levels, [result["levels"][str(c)][route]["throughput"] for c in levels], "o-", label=route)
        b.plot(levels, [result["levels"][str(c)][route].get("p95", 0) for c in levels], "o-", label=route)
    a.axhline(result["embedder"]["batch_32_qps"], ls="--", c="gray", label="bare embedder, batch 32")
    a.axhline(result["embedder"]["batch_1_qps"], ls=":", c="gray", label="bare embedder, batch 1")
    a.set(xscale="log", xlabel="concurrent clients", ylabel="requests/s", title="throughput")
    b.set(xscale="log", yscale="log", xlabel="concurrent clients", ylabel="ms", title="p95 latency")
    if "indexing" in result:
        b.plot([8], [result["indexing"]["8"]["/search"].get("p95", 0)], "rx", label="/search while indexing")
    a.legend(fontsize=8)
    b.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
