"""The dashboard's HTML pages: `/` → `/ui`, the jobs table and one job's page.

The server renders only what is not data (the layout, the state filters from `JobState`,
the job id from the URL); the JavaScript fills in the rest from `/v1`. That is what lets
these routes skip auth, and why the key never has to travel anywhere but the
Authorization header of API calls.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from batch_service import __version__
from batch_service.limits import MAX_JOBS_PAGE as MAX_PAGE_SIZE  # the API's own limit
from batch_service.models import TERMINAL_STATES, JobState

PACKAGE_DIR = Path(__file__).parent
STATIC_PATH = "/ui/static"
STATIC_NAME = "dashboard-static"
DEFAULT_PAGE_SIZE = 20

# The key lives in sessionStorage, so script injection is the one way to steal it: allow
# only our own files (no inline script or style), and send no Referer anywhere.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}

templates = Jinja2Templates(directory=PACKAGE_DIR / "templates")
templates.env.trim_blocks = templates.env.lstrip_blocks = True
router = APIRouter(include_in_schema=False)


def static_files() -> StaticFiles:
    """The CSS, JavaScript and icon, served from the installed package (no CDN, no build)."""
    return StaticFiles(directory=PACKAGE_DIR / "static")


def _prefix(request: Request) -> str:
    """Where the app is mounted, so links still work behind a path-prefixing proxy."""
    return str(request.scope.get("root_path", "")).rstrip("/")


def _page(request: Request, template: str, **context: Any) -> HTMLResponse:
    prefix = _prefix(request)
    return templates.TemplateResponse(
        request,
        template,
        {
            "prefix": prefix,
            "static": prefix + STATIC_PATH,
            "version": __version__,
            "terminal_states": " ".join(sorted(TERMINAL_STATES)),
            **context,
        },
        headers=SECURITY_HEADERS,
    )


def parse_state(raw: str | None) -> JobState | None:
    """A filter from the address bar; anything unknown means "all" rather than an error page."""
    return JobState(raw) if raw in JobState.__members__ else None


def parse_page_size(raw: str | None) -> int:
    """`?limit=` for the table, kept within what the API accepts."""
    if raw is None or not raw.isdigit():
        return DEFAULT_PAGE_SIZE
    return min(max(int(raw), 1), MAX_PAGE_SIZE)


def state_label(state: JobState) -> str:
    return state.value.replace("_", " ").capitalize()


@router.get("/")
async def root(request: Request) -> RedirectResponse:
    return RedirectResponse(f"{_prefix(request)}/ui")


@router.get("/ui", response_class=HTMLResponse)
async def jobs_page(request: Request, state: str | None = None, limit: str | None = None) -> HTMLResponse:
    page_size = parse_page_size(limit)
    return _page(
        request,
        "jobs.html",
        states=[(s.value, state_label(s)) for s in JobState],
        state=parse_state(state),
        page_size=page_size,
        size_query="" if page_size == DEFAULT_PAGE_SIZE else f"limit={page_size}",
    )


@router.get("/ui/admin", response_class=HTMLResponse)
async def admin_page(request: Request) -> HTMLResponse:
    """Chaos rules with their hits and the journal of calls, read with an admin key."""
    return _page(request, "admin.html")


@router.get("/ui/jobs/{job_id}", response_class=HTMLResponse)
async def job_page(request: Request, job_id: str) -> HTMLResponse:
    return _page(request, "job.html", job_id=job_id)
