"""Jobs in the database: submit (idempotent), read per tenant, cancel, claim under a
lease, record events, and finish exactly once.

A worker claims a job by setting itself as lease owner with a deadline; it renews the
lease while it runs. A job whose lease runs out (its worker died) is claimed again by
another worker. Finishing is a conditional update on (job, owner, running): if two
workers ever raced, only one can finish, and the artifacts are written in the same
transaction as the final status, so a half-finished attempt leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .db import Database
from .keys import ensure_tenant
from .pipeline import AnalysisRequest, Artifacts
from .tables import Artifact, Event, Job, now

FINISHED = frozenset({"succeeded", "failed", "cancelled"})


class IdempotencyConflict(Exception):
    """The Idempotency-Key was used before with a different request."""


@dataclass(frozen=True)
class Claim:
    job_id: str
    attempt: int
    request: AnalysisRequest


def submit(db: Database, tenant: str, req: AnalysisRequest, idempotency_key: str | None = None) -> tuple[Job, bool]:
    """The new job (created=True), or the one this Idempotency-Key already made."""
    idempotency_key = (idempotency_key or "").strip() or None
    try:
        return _submit(db, tenant, req, idempotency_key)
    except IntegrityError:  # the same key, submitted twice at once: the other request won
        if idempotency_key is None:
            raise
        return _submit(db, tenant, req, idempotency_key)


def _submit(db: Database, tenant: str, req: AnalysisRequest, idempotency_key: str | None) -> tuple[Job, bool]:
    digest = req.digest()
    with db.session() as s:
        ensure_tenant(s, tenant)
        if idempotency_key:
            old = s.scalar(select(Job).where(Job.tenant_id == tenant, Job.idempotency_key == idempotency_key))
            if old is not None:
                if old.request_digest != digest:
                    raise IdempotencyConflict("this Idempotency-Key was used with a different request")
                return old, False
        job = Job(id=uuid.uuid4().hex, tenant_id=tenant, name=req.name, based_on=req.based_on, request=req.model_dump_json(), request_digest=digest,
                  idempotency_key=idempotency_key, status="queued", stage="queued", progress=0, attempts=0, completions=0,
                  cancel_requested=False)
        s.add(job)
        s.flush()
        _event(s, job.id, 0, "status", {"status": "queued"})
        return job, True


def get(db: Database, tenant: str, job_id: str) -> Job | None:
    with db.session() as s:
        job = s.get(Job, job_id)
        return job if job is not None and job.tenant_id == tenant else None


def page(db: Database, tenant: str, limit: int, before: str | None) -> list[Job]:
    """Newest first; ``before`` is the id of the last job of the previous page."""
    with db.session() as s:
        q = select(Job).where(Job.tenant_id == tenant)
        if before:
            anchor = s.get(Job, before)
            if anchor is not None and anchor.tenant_id == tenant:
                q = q.where(or_(Job.created_at < anchor.created_at, (Job.created_at == anchor.created_at) & (Job.id < anchor.id)))
        return list(s.scalars(q.order_by(Job.created_at.desc(), Job.id.desc()).limit(limit)))


def cancel(db: Database, tenant: str, job_id: str) -> Job | None:
    with db.session() as s:
        job = s.get(Job, job_id, with_for_update=db.dialect == "postgresql")
        if job is None or job.tenant_id != tenant:
            return None
        if job.status == "queued":
            job.status, job.stage, job.finished_at = "cancelled", "cancelled", now()
            _event(s, job.id, job.attempts, "status", {"status": "cancelled"})
        elif job.status == "running":
            job.cancel_requested = True
        return job


def artifact(db: Database, tenant: str, job_id: str, name: str) -> Artifact | None:
    with db.session() as s:
        job = s.get(Job, job_id)
        if job is None or job.tenant_id != tenant:
            return None
        return s.scalar(select(Artifact).where(Artifact.job_id == job_id, Artifact.name == name))


def events_after(db: Database, tenant: str, job_id: str, seq: int) -> tuple[list[Event], str | None]:
    with db.session() as s:
        job = s.get(Job, job_id)
        if job is None or job.tenant_id != tenant:
            return [], None
        rows = list(s.scalars(select(Event).where(Event.job_id == job_id, Event.seq > seq).order_by(Event.seq).limit(500)))
        return rows, job.status


# --- workers -------------------------------------------------------------------------------


def claim(db: Database, worker: str, lease: float, max_attempts: int, job_id: str | None = None) -> Claim | None:
    """Take the oldest queued job (or ``job_id``), or one whose lease ran out."""
    t = now()
    with db.session() as s:
        q = select(Job).where(or_(Job.status == "queued", (Job.status == "running") & (Job.lease_until < t)))
        if job_id is not None:
            q = q.where(Job.id == job_id)
        q = q.order_by(Job.created_at).limit(1)
        if db.dialect == "postgresql":
            q = q.with_for_update(skip_locked=True)
        job = s.scalar(q)
        if job is None:
            return None
        if job.attempts >= max_attempts:
            job.status, job.stage, job.finished_at = "failed", "failed", t
            job.error = f"the job was tried {job.attempts} times and its worker stopped each time"
            _event(s, job.id, job.attempts, "status", {"status": "failed", "error": job.error})
            return None
        if job.cancel_requested:
            job.status, job.stage, job.finished_at = "cancelled", "cancelled", t
            _event(s, job.id, job.attempts, "status", {"status": "cancelled"})
            return None
        retried = job.status == "running"
        job.status, job.stage, job.lease_owner = "running", "starting", worker
        job.lease_until = t + timedelta(seconds=lease)
        job.attempts += 1
        job.started_at = job.started_at or t
        _event(s, job.id, job.attempts, "status", {"status": "running", "attempt": job.attempts, "retry": retried})
        return Claim(job.id, job.attempts, AnalysisRequest.model_validate_json(job.request))


def heartbeat(db: Database, job_id: str, worker: str, lease: float) -> tuple[bool, bool]:
    """Renew the lease: (still ours, cancel requested)."""
    with db.session() as s:
        res = s.execute(update(Job).where(Job.id == job_id, Job.lease_owner == worker, Job.status == "running")
                        .values(lease_until=now() + timedelta(seconds=lease)))
        if res.rowcount != 1:  # type: ignore[attr-defined]
            return False, True
        return True, _cancel_flag(s, job_id)


def cancel_requested(db: Database, job_id: str) -> bool:
    with db.session() as s:
        return _cancel_flag(s, job_id)


def _cancel_flag(s: Session, job_id: str) -> bool:
    return bool(s.scalar(select(Job.cancel_requested).where(Job.id == job_id)))


def emit(db: Database, job_id: str, attempt: int, kind: str, data: dict[str, Any], worker: str) -> None:
    with db.session() as s:
        if kind == "progress":
            s.execute(update(Job).where(Job.id == job_id, Job.lease_owner == worker)
                      .values(stage=str(data.get("stage", ""))[:64], progress=int(data.get("progress", 0))))
        _event(s, job_id, attempt, kind, data)


def finish(db: Database, job_id: str, worker: str, status: str, *, artifacts: Artifacts | None = None, error: str | None = None) -> bool:
    """Set the final status once, with the artifacts; False if the job is no longer ours."""
    with db.session() as s:
        error = error.replace("\x00", "")[:4000] if error else None
        values: dict[str, Any] = {"status": status, "stage": status, "finished_at": now(), "error": error, "lease_until": None}
        if status == "succeeded":
            values.update(progress=100, completions=Job.completions + 1)
        res = s.execute(update(Job).where(Job.id == job_id, Job.lease_owner == worker, Job.status == "running").values(**values))
        if res.rowcount != 1:  # type: ignore[attr-defined]
            return False
        if artifacts:
            s.execute(delete(Artifact).where(Artifact.job_id == job_id))
            for name, (media, data) in artifacts.items():
                s.add(Artifact(job_id=job_id, name=name, media_type=media, sha256=hashlib.sha256(data).hexdigest(), size=len(data), data=data))
        attempt = s.scalar(select(Job.attempts).where(Job.id == job_id)) or 0
        _event(s, job_id, attempt, "status", {"status": status, **({"error": error} if error else {})})
        return True


def _event(s: Session, job_id: str, attempt: int, kind: str, data: dict[str, Any]) -> None:
    seq = (s.scalar(select(func.max(Event.seq)).where(Event.job_id == job_id)) or 0) + 1
    s.add(Event(job_id=job_id, seq=seq, attempt=attempt, kind=kind, data=json.dumps(data, default=str)))
    s.flush()


def stats(db: Database) -> dict[str, int]:
    with db.session() as s:
        return {k: v for k, v in s.execute(select(Job.status, func.count()).group_by(Job.status)).all()}


def is_finished(job: Job) -> bool:
    return job.status in FINISHED


__all__ = ["FINISHED", "Claim", "IdempotencyConflict", "artifact", "cancel", "claim", "emit", "events_after", "finish", "get",
           "heartbeat", "is_finished", "page", "stats", "submit"]

