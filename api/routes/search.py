"""``POST /search``: ranked passages with scores, offsets and article metadata."""

from __future__ import annotations

import time

from fastapi import APIRouter

from api.deps import EngineDep, SettingsDep, check_question
from api.schemas import ERROR_RESPONSES, SearchRequest, SearchResponse, to_filters

router = APIRouter(tags=["search"])


@router.post("/search", response_model=SearchResponse, responses=ERROR_RESPONSES)
def search(body: SearchRequest, engine: EngineDep, settings: SettingsDep) -> dict:
    """Sync on purpose: FastAPI runs it in the thread pool, so searches run beside index updates."""
    check_question(body.query, settings)
    t0 = time.perf_counter()
    hits = engine.search(body.query, k=body.k, filters=to_filters(body.filters), mode=body.mode)
    ms = round((time.perf_counter() - t0) * 1000, 2)
    return {
        "query": body.query,
        "hits": [h.to_dict() for h in hits],
        "timings_ms": {"search": ms, "total": ms},
    }
