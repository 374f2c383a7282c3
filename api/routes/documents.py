"""Documents: list, read (whole or a span, to show a cited passage in context), upload, delete."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, HTTPException, Query, Response, UploadFile

from api.deps import EngineDep, JobsDep, SettingsDep, WriteAccess
from api.schemas import (
    ERROR_RESPONSES,
    WRITE_ERROR_RESPONSES,
    DocumentList,
    DocumentOut,
    DocumentText,
    JobOut,
)
from index.build import check_doc_id
from index.errors import InputError
from index.extract import EXTRACTED_SUFFIXES, extract_text, suffix_of

router = APIRouter(tags=["documents"])


@router.get("/documents", response_model=DocumentList)
def list_documents(engine: EngineDep) -> dict[str, Any]:
    return {"documents": [d.to_dict() for d in engine.documents()]}


@router.get("/documents/{doc_id:path}", response_model=DocumentText, responses=ERROR_RESPONSES)
def get_document(
    doc_id: str,
    engine: EngineDep,
    start: Annotated[int | None, Query(ge=0, description="first character (default 0)")] = None,
    end: Annotated[int | None, Query(ge=0, description="end character, exclusive (default: the end)")] = None,
) -> dict[str, Any]:
    """Citations carry offsets into exactly this text: ``text[quote_start:quote_end] == quote``."""
    info = engine.document_info(doc_id)
    text = engine.document_text(doc_id)
    s = 0 if start is None else start
    e = len(text) if end is None else end
    if s > e or e > len(text):
        raise InputError(f"the span {s}..{e} is not inside the document (0..{len(text)})")
    return {
        "id": info.doc,
        "chars": len(text),
        "titles": list(info.titles),
        "text": text[s:e],
        "start": s,
        "end": e,
    }


@router.post(
    "/documents",
    status_code=202,
    response_model=JobOut | DocumentOut,
    responses={**WRITE_ERROR_RESPONSES, 201: {"model": DocumentOut, "description": "indexed (?wait=true)"}},
    dependencies=[WriteAccess],
)
def upload_document(
    file: Annotated[UploadFile, File(description="a UTF-8 .txt or .md file, or a .pdf, .docx or .html file")],
    engine: EngineDep,
    settings: SettingsDep,
    jobs: JobsDep,
    response: Response,
    wait: Annotated[bool, Query(description="index before answering (201 with the document)")] = False,
) -> dict[str, Any]:
    """Checked at once (name, size, encoding), then indexed in the background: 202 with the job,
    ``Location: /jobs/{id}`` to follow it. With ``?wait=true`` indexed before the call returns (201),
    so the new text is searchable as soon as the client gets the answer."""
    name = check_doc_id(file.filename or "")  # rejects traversal-style names and unsupported types
    data = file.file.read(settings.max_upload_bytes + 1)
    if len(data) > settings.max_upload_bytes:
        raise HTTPException(
            status_code=413,
            detail=f"the upload is larger than {settings.max_upload_bytes} bytes (RAG_MAX_UPLOAD_BYTES)",
        )
    if suffix_of(name) in EXTRACTED_SUFFIXES:
        text = extract_text(name, data)  # a PDF without a text layer, a damaged file: a 4xx that says so
    else:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as e:
            raise InputError(f"{name} is not UTF-8 text (byte {e.start} is invalid)") from None
    if "\x00" in text:
        raise InputError(f"{name} looks binary (it contains NUL characters)")
    if not text.strip():
        raise InputError(f"{name}: the document is empty")
    if wait:
        response.status_code = 201
        return engine.add_document(name, text).to_dict()
    job = jobs.submit(name, text)
    response.headers["Location"] = f"/jobs/{job.id}"
    return job.to_dict()


@router.delete(
    "/documents/{doc_id:path}", status_code=204, responses=WRITE_ERROR_RESPONSES, dependencies=[WriteAccess]
)
def delete_document(doc_id: str, engine: EngineDep) -> Response:
    engine.delete_document(doc_id)
    return Response(status_code=204)
