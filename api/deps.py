"""Dependencies shared by the routes: the engine and settings from ``app.state``, and the write guard.

Everything comes from the app the request belongs to (set up in the lifespan), never from module
globals, so several apps with different engines can live in one process (as the tests do).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request

from api.auth import WritePolicy
from api.jobs import JobRunner
from index.errors import InputError
from rag.engine import Engine
from rag.settings import Settings


def get_engine(request: Request) -> Engine:
    engine: Engine | None = getattr(request.app.state, "engine", None)
    if engine is None:
        raise HTTPException(status_code=503, detail="the index is not loaded yet")
    return engine


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_jobs(request: Request) -> JobRunner:
    """The app's job runner, made on the first request that needs one (the engine may still be
    loading when the app is created); two first requests at once still get one runner."""
    engine = get_engine(request)  # 503 while loading
    with request.app.state.jobs_lock:
        jobs: JobRunner | None = getattr(request.app.state, "jobs", None)
        if jobs is None:
            settings: Settings = request.app.state.settings
            jobs = request.app.state.jobs = JobRunner(
                engine, settings.data_dir / "jobs" / settings.index_name
            )
    return jobs


EngineDep = Annotated[Engine, Depends(get_engine)]
JobsDep = Annotated[JobRunner, Depends(get_jobs)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def require_api_key(request: Request) -> None:
    """The app's write policy (api/auth.py) once more, at the route: ``WriteAuthMiddleware`` applies
    it before the body is read, but only to the paths it knows as writes."""
    policy: WritePolicy | None = getattr(request.app.state, "write_policy", None)
    refusal = (
        (403, "writes are disabled")
        if policy is None
        else policy.refusal(request.headers.get("authorization", ""))
    )
    if refusal is not None:
        status, message = refusal
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        raise HTTPException(status_code=status, detail=message, headers=headers)


WriteAccess = Depends(require_api_key)


def check_text(text: str, what: str = "the question") -> str:
    """Text that cannot be written as UTF-8 (a lone surrogate such as ``\\ud800``, which JSON can
    carry) is a 400 here, not a 500 from whatever touches it first."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        raise InputError(
            f"{what} contains invalid Unicode at character {e.start} (a lone surrogate)"
        ) from None
    return text


def check_question(text: str, settings: Settings, what: str = "the question") -> str:
    """The configured length limit (the schema only has a hard ceiling); blank is the engine's call."""
    check_text(text, what)
    if len(text) > settings.max_question_chars:
        raise InputError(f"{what} is {len(text)} characters long; the limit is {settings.max_question_chars}")
    return text
