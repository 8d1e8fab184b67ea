"""The job code: one analysis request in, named artifacts out, progress and every
conversation message reported as it happens. The same code runs in the server's
workers and on Celery workers."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..errors import Cancelled, InputError

Format = Literal["html", "pdf", "markdown", "json", "sarif", "csv"]
MEDIA = {"html": "text/html; charset=utf-8", "pdf": "application/pdf", "markdown": "text/markdown; charset=utf-8",
         "json": "application/json", "sarif": "application/sarif+json", "csv": "text/csv; charset=utf-8",
         "svg": "image/svg+xml"}
REPORT_NAME = {"html": "report.html", "pdf": "report.pdf", "markdown": "report.md", "json": "report.json",
               "sarif": "report.sarif", "csv": "report.csv"}

Emit = Callable[[str, dict[str, Any]], None]
Artifacts = dict[str, tuple[str, bytes]]


class AnalysisRequest(BaseModel):
    """What a client submits: plain words or a structured model, and what to produce."""

    model_config = ConfigDict(extra="forbid")

    text: str | None = Field(default=None, max_length=200_000, description="A plain-words architecture description.")
    model: dict[str, Any] | None = Field(default=None, description="A structured model (the YAML/JSON input format).")
    name: str = Field(default="input", max_length=200, description="Name of the input, shown in reports.")
    formats: list[Format] = Field(default_factory=lambda: ["html", "json"], max_length=6, description="Report formats to produce.")
    agents: bool = Field(default=True, description="Run the stakeholder discussion.")
    llm: str | None = Field(default=None, max_length=200, description="An LLM the server allows (see /v1/info); offline when null.")
    llm_extract: bool = Field(default=False, description="Let the LLM propose components the reader missed (text input only).")
    max_cost: float | None = Field(default=None, gt=0, le=100)
    max_tokens: int | None = Field(default=None, gt=0, le=10_000_000)
    goals: list[str] = Field(default_factory=list, max_length=5, description="Attack-tree goals (default: derived from the assets).")
    based_on: str | None = Field(default=None, pattern=r"^[0-9a-f]{32}$",
                                 description="The id of an earlier analysis of yours this one revises (e.g. with an edited model).")

    @model_validator(mode="after")
    def _one_input(self) -> AnalysisRequest:
        if (self.text is None) == (self.model is None):
            raise ValueError("give exactly one of 'text' or 'model'")
        if self.text is not None and not self.text.strip():
            raise ValueError("'text' is empty")
        if any(len(g) > 200 or not g.strip() for g in self.goals):
            raise ValueError("each goal is 1-200 characters")
        if any("\x00" in x for x in (self.text or "", self.name, *self.goals)):
            raise ValueError("text, name and goals may not contain NUL characters")
        return self

    def digest(self) -> str:
        # based_on is left out when unset, so digests (Idempotency-Key checks) of requests
        # stored before it existed stay the same
        exclude = {"based_on"} if self.based_on is None else None
        return hashlib.sha256(self.model_dump_json(exclude=exclude).encode()).hexdigest()


def run_request(req: AnalysisRequest, emit: Emit, cancelled: Callable[[], bool], *, llm_allowed: list[str]) -> Artifacts:
    """Analyse, discuss and render; raises InputError for bad input, Cancelled when asked to stop."""
    from ..ingest import model_from_data, read_text
    from ..knowledge import load_knowledge

    def stage(name: str, progress: int) -> None:
        if cancelled():
            raise Cancelled("the job was cancelled")
        emit("progress", {"stage": name, "progress": progress})

    stage("reading", 5)
    kb = load_knowledge()
    model = read_text(req.text, kb, req.name) if req.text is not None else model_from_data(req.model or {}, req.name)
    runtime = None
    if req.llm:
        if req.llm not in llm_allowed:
            raise InputError(f"this server allows the LLM models {', '.join(llm_allowed) or 'none'}; not '{req.llm}'", "llm")
        from ..llm import LLMSettings, open_runtime

        runtime = open_runtime(LLMSettings(model=req.llm, max_cost=req.max_cost, max_tokens=req.max_tokens, extract=req.llm_extract))
    try:
        if runtime is not None and req.llm_extract and req.text is not None:
            from ..llm import llm_extract

            stage("extracting", 10)
            model, _ = llm_extract(req.text, model, kb, runtime)
        return _analyse_and_render(req, model, kb, runtime, emit, stage, cancelled)
    finally:
        if runtime is not None:
            runtime.close()


def _analyse_and_render(req: AnalysisRequest, model: Any, kb: Any, runtime: Any, emit: Emit, stage: Callable[[str, int], None],
                        cancelled: Callable[[], bool]) -> Artifacts:
    from ..engine import analyze
    from ..render.report import build_report

    stage("analysing", 20)
    result = analyze(model, kb)
    emit("analysed", {"components": len(result.components), "flows": len(result.flows), "threats": len(result.threats)})
    record = None
    if req.agents:
        stage("discussing", 35)

        def on_message(m: Any) -> None:
            if cancelled():
                raise Cancelled("the job was cancelled")
            emit("message", json.loads(m.model_dump_json()))

        if runtime is not None:
            from ..llm import llm_discuss

            result, record = llm_discuss(result, kb, runtime, on_message=on_message)
        else:
            from ..agents import discuss

            record = discuss(result, kb, on_message=on_message)
    stage("rendering", 70)
    source = req.text if req.text is not None else json.dumps(req.model, indent=2)
    rep = build_report(result, kb, source_name=req.name, source_text=source[:500_000], discussion=record,
                       with_discussion=req.agents, goals=req.goals or None)
    out: Artifacts = {
        "model.json": (MEDIA["json"], model.model_dump_json(indent=2).encode()),
        "threats.json": (MEDIA["json"], result.model_dump_json(indent=2).encode()),
        "conversation.json": (MEDIA["json"], (record.model_dump_json(indent=2) if record else "null").encode()),
    }
    if rep.dfd_svg:
        out["dfd.svg"] = (MEDIA["svg"], rep.dfd_svg.encode())
    for n, tree in enumerate(rep.trees, start=1):
        if tree.svg:
            out[f"attack-trees/{n}.svg"] = (MEDIA["svg"], tree.svg.encode())
    for fmt in req.formats:
        stage(f"rendering {fmt}", 80)
        out[REPORT_NAME[fmt]] = (MEDIA[fmt], render_format(fmt, rep, result, req.name))
    return out


def render_format(fmt: str, rep: Any, result: Any, name: str) -> bytes:
    """One report format; ``rep`` (a built Report) is needed for html, markdown, pdf and json."""
    from ..render.report import to_html, to_json_report, to_markdown_report, to_pdf

    if fmt == "html":
        return to_html(rep).encode()
    if fmt == "markdown":
        return to_markdown_report(rep).encode()
    if fmt == "pdf":
        return to_pdf(rep)
    if fmt == "json":
        return to_json_report(rep).encode()
    if fmt == "sarif":
        from ..render.sarif import to_sarif

        return to_sarif(result, name).encode()
    from ..render.csvout import to_csv

    return to_csv(result).encode()


__all__ = ["MEDIA", "REPORT_NAME", "AnalysisRequest", "Artifacts", "render_format", "run_request"]
