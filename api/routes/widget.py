"""The embeddable chat widget and its demo page.

Both are static files shipped inside the package (``api/static``), so embedding the widget needs no build
step: a page adds ``<script src=".../widget.js" data-api="..."></script>`` and the script talks to this API.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"

router = APIRouter(tags=["widget"])

# Short cache: host pages pick up a new widget soon after a deploy, while repeat page views stay cheap
# (FileResponse also sends ETag/Last-Modified, so revalidation is a 304).
_CACHE = {"Cache-Control": "public, max-age=300"}


@router.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)
def demo_page() -> FileResponse:
    """A page that embeds the widget, with example questions in English and Chinese."""
    return FileResponse(STATIC_DIR / "index.html", media_type="text/html; charset=utf-8", headers=_CACHE)


@router.api_route("/widget.js", methods=["GET", "HEAD"], include_in_schema=False)
def widget_script() -> FileResponse:
    """The widget itself: one plain-JavaScript file that any page can load with a script tag."""
    return FileResponse(STATIC_DIR / "widget.js", media_type="text/javascript; charset=utf-8", headers=_CACHE)
