"""Upload jobs: follow one (state, chunks embedded of the total, the document once done), list them,
cancel one."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.deps import JobsDep, WriteAccess
from api.schemas import ERROR_RESPONSES, WRITE_ERROR_RESPONSES, JobList, JobOut

router = APIRouter(tags=["jobs"])


@router.get("/jobs", response_model=JobList)
def list_jobs(jobs: JobsDep) -> dict[str, Any]:
    """The most recent jobs first (finished ones are kept up to a limit)."""
    return {"jobs": [j.to_dict() for j in jobs.list()]}


@router.get("/jobs/{job_id}", response_model=JobOut, responses=ERROR_RESPONSES)
def get_job(job_id: str, jobs: JobsDep) -> dict[str, Any]:
    return jobs.get(job_id).to_dict()


@router.delete(
    "/jobs/{job_id}", response_model=JobOut, responses=WRITE_ERROR_RESPONSES, dependencies=[WriteAccess]
)
def cancel_job(job_id: str, jobs: JobsDep) -> dict[str, Any]:
    """Cancel a queued or running job: the index stays as it was. A finished job is a 409."""
    return jobs.cancel(job_id).to_dict()
