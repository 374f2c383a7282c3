"""Latency of a running service over HTTP: p50/p95 of ``/search`` and ``/ask`` over a question set.

    python -m api.bench --url http://127.0.0.1:8000 --gold eval/gold/dev.jsonl

Only the ``question`` field of each JSONL line is read. Requests are sent one at a time (a single
user's view of latency, end to end: client, loopback, server, engine), after a few warm-up requests.
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


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m api.bench", description=__doc__.split("\n")[0])
    p.add_argument("--url", default="http://127.0.0.1:8000")
    p.add_argument("--gold", type=Path, required=True, help="JSONL with a 'question' field per line")
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    args = p.parse_args(argv)
    questions = load_questions(args.gold)
    if not questions:
        print(f"no questions in {args.gold}", file=sys.stderr)
        return 2
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


if __name__ == "__main__":
    sys.exit(main())
