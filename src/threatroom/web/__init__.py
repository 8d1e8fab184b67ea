"""The web UI: server-rendered page shells; the data comes from the JSON API through
static/app.js, which sends the API key (if any) as a Bearer header on every fetch."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from fastapi import APIRouter, FastAPI, HTTPException
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import BaseModel, Field

from ..errors import InputError
from ..ingest import parse_document
from ..service.app import Who

HERE = Path(__file__).parent
STATIC = HERE / "static"
EXAMPLES = HERE / "examples.yaml"
JOB_ID = re.compile(r"^[0-9a-f]{32}$")
CSP = ("default-src 'self'; img-src 'self' blob: data:; style-src 'self'; script-src 'self'; "
       "connect-src 'self'; frame-ancestors 'none'")
PAGE_HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
                "X-Frame-Options": "DENY", "Cache-Control": "no-store"}

env = Environment(loader=FileSystemLoader(str(HERE / "templates")), autoescape=select_autoescape(["html", "j2"]))
router = APIRouter(include_in_schema=False)


@lru_cache(maxsize=1)
def load_examples() -> list[dict[str, str]]:
    """The example architectures offered on the new-analysis page."""
    data = yaml.safe_load(EXAMPLES.read_text(encoding="utf-8"))
    return [{"id": str(e["id"]), "name": str(e["name"]), "text": str(e["text"]).strip()} for e in data["examples"]]


def _page(template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    html = env.get_template(template).render(**context)
    return HTMLResponse(html, status_code=status_code, headers=PAGE_HEADERS)


@router.get("/", response_class=HTMLResponse)
def new_analysis() -> HTMLResponse:
    return _page("new.html", page="new", examples=load_examples())


@router.get("/analyses", response_class=HTMLResponse)
def history() -> HTMLResponse:
    return _page("history.html", page="history")


@router.get("/analyses/{job_id}", response_class=HTMLResponse)
def job_page(job_id: str) -> HTMLResponse:
    if not JOB_ID.match(job_id):
        return _page("missing.html", status_code=404, page="job")
    return _page("job.html", page="job", job_id=job_id)


@router.get("/analyses/{job_id}/compare/{other_id}", response_class=HTMLResponse)
def compare_page(job_id: str, other_id: str) -> HTMLResponse:
    if not (JOB_ID.match(job_id) and JOB_ID.match(other_id)):
        return _page("missing.html", status_code=404, page="compare")
    return _page("compare.html", page="compare", job_id=job_id, other_id=other_id)


class ModelText(BaseModel):
    text: str = Field(max_length=900_000)


@router.post("/web/parse-model")
def parse_model(body: ModelText, _who: Who) -> dict[str, Any]:
    """Parse an uploaded YAML/JSON model into the JSON the API takes as 'model' (same auth as the API)."""
    try:
        return parse_document(body.text, "upload")
    except InputError as exc:
        raise HTTPException(422, str(exc)) from None


def mount(app: FastAPI) -> None:
    """Add the pages and /static to the API app."""
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")


__all__ = ["CSP", "load_examples", "mount", "router"]
