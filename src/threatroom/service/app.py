"""The HTTP API (FastAPI). Every job belongs to the tenant of the key that created it;
any other tenant gets 404 for it, on every endpoint."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Header, HTTPException, Query, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field

from .. import __version__
from . import jobs
from .config import ServiceSettings
from .db import Database
from .keys import LOCAL_TENANT, Principal, any_keys, authenticate
from .limits import BodyLimit, RateLimiter
from .pipeline import REPORT_NAME, AnalysisRequest
from .tables import Job
from ..model.threats import Triage as TriageOut
from ..model.threats import TriageStatus

log = logging.getLogger("threatroom.service")
REPORT_SUFFIX = {"html": "html", "pdf": "pdf", "md": "markdown", "json": "json", "sarif": "sarif", "csv": "csv"}
JOB_ID = re.compile(r"^[0-9a-f]{32}$")
MAX_SEQ = 2**31 - 1
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing or invalid API key"},
    404: {"description": "No such analysis for this tenant"},
    429: {"description": "Rate limit reached (see Retry-After)"},
}
SECURITY_HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}


class JobOut(BaseModel):
    id: str
    name: str = Field(description="The input's name, as submitted.")
    based_on: str | None = Field(description="The earlier analysis this one revises, if any.")
    status: Literal["queued", "running", "succeeded", "failed", "cancelled"]
    stage: str
    progress: int = Field(ge=0, le=100)
    error: str | None
    attempts: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    links: dict[str, str]


class TriageIn(BaseModel):
    status: TriageStatus
    note: str = Field(default="", max_length=2_000)


class JobPage(BaseModel):
    items: list[JobOut]
    next: str | None = Field(description="Pass as ?before= for the next page; null at the end.")


def principal(
    request: Request,
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
    x_api_key: Annotated[str | None, Header(alias="X-API-Key", include_in_schema=False)] = None,
) -> Principal:
    """The caller's tenant, from its API key; anonymous only on a loopback server with no keys."""
    db: Database = request.app.state.db
    settings: ServiceSettings = request.app.state.settings
    token = x_api_key or (authorization[7:] if authorization and authorization.lower().startswith("bearer ") else None)
    with db.session() as s:
        if token:
            who = authenticate(s, token)
            if who is None:
                raise HTTPException(401, "invalid API key", headers={"WWW-Authenticate": "Bearer"})
        elif settings.loopback and not any_keys(s):
            who = Principal(LOCAL_TENANT, None)
        else:
            raise HTTPException(401, "an API key is required (Authorization: Bearer <key>)", headers={"WWW-Authenticate": "Bearer"})
    wait = request.app.state.limiter.take((who.tenant, who.key_name))
    if wait:
        raise HTTPException(429, "rate limit reached", headers={"Retry-After": str(max(1, round(wait)))})
    return who


Who = Annotated[Principal, Depends(principal)]


def _out(job: Job) -> JobOut:
    base = f"/v1/analyses/{job.id}"
    links = {"self": base, "events": f"{base}/events", "request": f"{base}/request"}
    if job.status == "succeeded":
        links.update(model=f"{base}/model", model_yaml=f"{base}/model.yaml", threats=f"{base}/threats", conversation=f"{base}/conversation", dfd=f"{base}/dfd.svg")
    return JobOut(id=job.id, name=job.name, based_on=job.based_on, status=job.status, stage=job.stage, progress=job.progress, error=job.error,  # type: ignore[arg-type]
                  attempts=job.attempts, created_at=job.created_at, started_at=job.started_at, finished_at=job.finished_at, links=links)


def create_app(settings: ServiceSettings | None = None, *, database: Database | None = None, executor: Any = None,
               start_workers: bool = True) -> FastAPI:
    settings = settings or ServiceSettings.from_env()
    db = database or Database(settings.database_url)
    db.migrate()
    if executor is None:
        if settings.executor == "celery":
            from .celery_executor import CeleryExecutor

            executor = CeleryExecutor(settings)
        else:
            from .worker import LocalExecutor

            executor = LocalExecutor(db, settings)
    limiter = RateLimiter(settings.rate_per_minute)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if start_workers:
            executor.start()
        try:
            yield
        finally:
            executor.shutdown()

    app = FastAPI(title="threatroom", version=__version__, lifespan=lifespan,
                  description="Threat models as a service: submit an architecture, follow the job, fetch the register and reports.")
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    app.state.db, app.state.settings, app.state.executor, app.state.limiter = db, settings, executor, limiter


    def owned(job_id: str, who: Principal) -> Job:
        job = jobs.get(db, who.tenant, job_id) if JOB_ID.match(job_id) else None
        if job is None:
            raise HTTPException(404, "no such analysis")
        return job

    @app.post("/v1/analyses", responses={**ERRORS, 409: {"description": "Idempotency-Key reused with another request"},
                                         413: {"description": "Request body too large"}}, status_code=202, response_model=JobOut, summary="Submit an analysis")
    def submit(req: AnalysisRequest, who: Who, response: Response,
               idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)] = None) -> JobOut:
        if req.llm and req.llm not in settings.llm_models:
            raise HTTPException(422, f"this server allows the LLM models: {', '.join(settings.llm_models) or 'none'}")
        if req.based_on and jobs.get(db, who.tenant, req.based_on) is None:
            raise HTTPException(422, "based_on: you have no analysis with that id")
        try:
            job, created = jobs.submit(db, who.tenant, req, idempotency_key)
        except jobs.IdempotencyConflict as exc:
            raise HTTPException(409, str(exc)) from None
        if created:
            executor.notify(job.id)
            log.info("job %s queued for tenant %s", job.id, who.tenant)
        else:
            response.status_code = 200
            response.headers["Idempotent-Replayed"] = "true"
        return _out(job)

    @app.get("/v1/analyses", responses=ERRORS, response_model=JobPage, summary="List your analyses, newest first")
    def listing(who: Who, limit: Annotated[int, Query(ge=1, le=100)] = 20, before: Annotated[str | None, Query(max_length=64)] = None) -> JobPage:
        rows = jobs.page(db, who.tenant, limit + 1, before if before and JOB_ID.match(before) else None)
        return JobPage(items=[_out(j) for j in rows[:limit]], next=rows[limit - 1].id if len(rows) > limit else None)

    @app.get("/v1/analyses/{job_id}", responses=ERRORS, response_model=JobOut, summary="Status, progress and failure reason")
    def status(job_id: str, who: Who) -> JobOut:
        return _out(owned(job_id, who))

    @app.delete("/v1/analyses/{job_id}", responses=ERRORS, status_code=202, response_model=JobOut, summary="Cancel an analysis")
    def cancel(job_id: str, who: Who) -> JobOut:
        owned(job_id, who)
        job = jobs.cancel(db, who.tenant, job_id)
        assert job is not None
        return _out(job)

    def _artifact(job_id: str, who: Principal, name: str) -> Response:
        job = owned(job_id, who)
        if job.status != "succeeded":
            raise HTTPException(409, f"the analysis is {job.status}; results exist once it has succeeded")
        from . import triage

        fresh = triage.render(db, who.tenant, job_id, name)
        art = jobs.artifact(db, who.tenant, job_id, name) if fresh is None else None
        if fresh is None and art is None:
            raise HTTPException(404, f"this analysis has no {name} (ask for it in 'formats')")
        if fresh is not None:  # triaged since: rendered again with the decisions
            media, data = fresh
            art = type("Rendered", (), {"data": data, "media_type": media, "sha256": hashlib.sha256(data).hexdigest()})()
        headers = {**SECURITY_HEADERS, "ETag": f'"{art.sha256}"', "X-Checksum-SHA256": art.sha256,
                   "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"}
        if art.media_type == "application/pdf":
            headers["Content-Disposition"] = f'attachment; filename="{job_id}.pdf"'
        return Response(art.data, media_type=art.media_type, headers=headers)

    @app.get("/v1/analyses/{job_id}/model", responses=ERRORS, summary="The extracted model (JSON)")
    def model(job_id: str, who: Who) -> Response:
        return _artifact(job_id, who, "model.json")

    @app.get("/v1/analyses/{job_id}/model.yaml", responses=ERRORS, summary="The extracted model as YAML to correct and submit again")
    def model_yaml(job_id: str, who: Who) -> Response:
        from ..model.system import SystemModel
        from ..render.yamlout import to_yaml

        job = owned(job_id, who)
        art = jobs.artifact(db, who.tenant, job_id, "model.json") if job.status == "succeeded" else None
        if art is None:
            raise HTTPException(409, f"the analysis is {job.status}; the model exists once it has succeeded")
        text = to_yaml(SystemModel.model_validate_json(art.data), job.name)
        return Response(text, media_type="application/yaml; charset=utf-8", headers=SECURITY_HEADERS)

    @app.get("/v1/analyses/{job_id}/request", responses=ERRORS, response_model=AnalysisRequest, summary="The request as submitted")
    def request_of(job_id: str, who: Who) -> Response:
        job = owned(job_id, who)
        return Response(job.request, media_type="application/json", headers=SECURITY_HEADERS)

    @app.get("/v1/analyses/{job_id}/threats", responses=ERRORS, summary="The threat register (the JSON contract)")
    def threats(job_id: str, who: Who) -> Response:
        return _artifact(job_id, who, "threats.json")

    @app.get("/v1/analyses/{job_id}/conversation", responses=ERRORS, summary="The stakeholder discussion record (JSON)")
    def conversation(job_id: str, who: Who) -> Response:
        return _artifact(job_id, who, "conversation.json")

    @app.get("/v1/analyses/{job_id}/report.{suffix}", responses={**ERRORS, 409: {"description": "The analysis has not succeeded"}}, summary="A report: html, pdf, md, json, sarif or csv")
    def report(job_id: str, suffix: Literal["html", "pdf", "md", "json", "sarif", "csv"], who: Who) -> Response:
        return _artifact(job_id, who, REPORT_NAME[REPORT_SUFFIX[suffix]])

    @app.get("/v1/analyses/{job_id}/dfd.svg", responses=ERRORS, summary="The data-flow diagram")
    def dfd(job_id: str, who: Who) -> Response:
        return _artifact(job_id, who, "dfd.svg")

    @app.get("/v1/analyses/{job_id}/attack-trees/{n}.svg", responses=ERRORS, summary="Attack tree n (1-based)")
    def tree(job_id: str, n: Annotated[int, Field(ge=1, le=100)], who: Who) -> Response:
        return _artifact(job_id, who, f"attack-trees/{n}.svg")

    @app.get("/v1/analyses/{job_id}/events", summary="Server-sent events: progress and each message as it happens",
             response_class=StreamingResponse, responses={**ERRORS, 200: {"content": {"text/event-stream": {}}}})
    async def events(job_id: str, who: Who, request: Request,
                     last_event_id: Annotated[str | None, Header(alias="Last-Event-ID", max_length=20)] = None) -> StreamingResponse:
        owned(job_id, who)
        start = min(int(last_event_id), MAX_SEQ) if last_event_id and re.fullmatch(r"[0-9]{1,12}", last_event_id) else 0

        async def stream() -> AsyncIterator[bytes]:
            seq, idle = start, 0.0
            while True:
                rows, state = await asyncio.to_thread(jobs.events_after, db, who.tenant, job_id, seq)
                for ev in rows:
                    seq = ev.seq
                    yield f"id: {ev.seq}\nevent: {ev.kind}\ndata: {ev.data}\n\n".encode()
                if state is None or (not rows and state in jobs.FINISHED):
                    yield b"event: end\ndata: {}\n\n"
                    return
                if await request.is_disconnected():
                    return
                if rows:
                    idle = 0.0
                else:
                    idle += 0.25
                    if idle >= 15:
                        idle = 0.0
                        yield b": keep-alive\n\n"
                    await asyncio.sleep(0.25)

        return StreamingResponse(stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    @app.put("/v1/analyses/{job_id}/threats/{threat_id}/triage", responses={**ERRORS, 409: {"description": "The analysis has not succeeded"}},
             response_model=TriageOut, summary="Set a threat's triage status and note (shown in later exports)")
    def put_triage(job_id: str, threat_id: str, body: TriageIn, who: Who) -> TriageOut:
        from . import triage

        job = owned(job_id, who)
        if "\x00" in threat_id or len(threat_id) > 300:
            raise HTTPException(404, "no such threat in this analysis")
        if job.status != "succeeded":
            raise HTTPException(409, f"the analysis is {job.status}; threats can be triaged once it has succeeded")
        try:
            return triage.set_triage(db, who.tenant, job_id, threat_id, body.status, body.note.replace("\x00", ""), who.key_name or who.tenant)
        except triage.UnknownThreat:
            raise HTTPException(404, "no such threat in this analysis") from None

    @app.get("/v1/analyses/{job_id}/triage", responses=ERRORS, response_model=dict[str, TriageOut], summary="Every triage decision, by threat id (with those carried over from the runs this one revises)")
    def get_triage(job_id: str, who: Who) -> dict[str, TriageOut]:
        from . import triage

        owned(job_id, who)
        return triage.effective(db, who.tenant, job_id, triage.register(db, who.tenant, job_id))

    @app.get("/v1/analyses/{job_id}/compare/{other_id}", responses={**ERRORS, 409: {"description": "Both analyses must have succeeded"}},
             summary="Compare two runs: threats new in this one, resolved since the other, and changed")
    def compare(job_id: str, other_id: str, who: Who) -> dict[str, Any]:
        from . import triage

        now_job, then_job = owned(job_id, who), owned(other_id, who)
        if now_job.status != "succeeded" or then_job.status != "succeeded":
            raise HTTPException(409, "both analyses must have succeeded to be compared")
        before, after = triage.register(db, who.tenant, other_id), triage.register(db, who.tenant, job_id)
        assert before is not None and after is not None
        return {"base": other_id, "analysis": job_id, **triage.compare(before, after)}

    @app.get("/v1/info", responses=ERRORS, summary="What this server offers")
    def info(who: Who) -> dict[str, Any]:
        return {"version": __version__, "tenant": who.tenant, "llm_models": settings.llm_models,
                "formats": sorted(REPORT_SUFFIX), "max_body_bytes": settings.max_body_bytes}

    @app.get("/healthz", summary="The process is up")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", summary="The database answers and the workers run")
    def readyz() -> JSONResponse:
        try:
            counts = jobs.stats(db)
        except Exception as exc:  # noqa: BLE001 - report, do not crash
            return JSONResponse({"status": "unavailable", "reason": type(exc).__name__}, status_code=503)
        return JSONResponse({"status": "ready", "executor": settings.executor, "jobs": counts})

    from ..web import mount as _mount_web

    _mount_web(app)
    return app


def json_dumps(data: Any) -> str:
    return json.dumps(data, default=str)


__all__ = ["JobOut", "JobPage", "create_app"]
