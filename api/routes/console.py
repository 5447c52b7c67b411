"""The duty console: static HTML/JS/CSS shipped in ``api/console/`` (no CDN, works offline)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse, RedirectResponse

CONSOLE_DIR = Path(__file__).resolve().parent.parent / "console"
_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
          ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml", ".wav": "audio/wav"}

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; "
       "img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'")
PAGE_HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
                "Referrer-Policy": "no-referrer", "Cache-Control": "no-cache"}

router = APIRouter(include_in_schema=False)


@router.get("/")
def root() -> RedirectResponse:
    return RedirectResponse("/console/")


@router.get("/console/")
def index() -> FileResponse:
    return FileResponse(CONSOLE_DIR / "index.html", media_type=_TYPES[".html"],
                        headers=PAGE_HEADERS)


@router.get("/t/{token}")
def task_page(token: str) -> FileResponse:
    """The volunteer's personal task page (the token is read by the page's script)."""
    return FileResponse(CONSOLE_DIR / "task.html", media_type=_TYPES[".html"],
                        headers={**PAGE_HEADERS, "Cache-Control": "no-store"})


@router.get("/console/{name}")
def asset(name: str) -> FileResponse:
    path = (CONSOLE_DIR / name).resolve()
    if path.parent != CONSOLE_DIR or path.suffix not in _TYPES or not path.is_file():
        raise HTTPException(404, "not found")
    return FileResponse(path, media_type=_TYPES[path.suffix],
                        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"})
