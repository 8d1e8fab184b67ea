"""The job table's rules, without HTTP: leases, take-over, attempts, exactly-once finish,
job timeout, and many workers on one SQLite file."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from sqlalchemy import select

from threatroom.service import jobs
from threatroom.service.config import ServiceSettings
from threatroom.service.db import Database
from threatroom.service.pipeline import AnalysisRequest
from threatroom.service.tables import Event, Job
from threatroom.service.worker import Worker

from .conftest import SHARED

BLOG = (SHARED / "examples" / "flask-blog.txt").read_text()


def db_at(tmp_path: Path) -> Database:
    db = Database(f"sqlite:///{tmp_path / 'jobs.db'}")
    db.migrate()
    return db


def row(db: Database, job_id: str) -> Job:
    with db.session() as s:
        return s.get(Job, job_id)


def test_a_lapsed_lease_is_taken_over_and_only_the_owner_finishes(tmp_path: Path) -> None:
    db = db_at(tmp_path)
    job, _ = jobs.submit(db, "t", AnalysisRequest(text=BLOG))
    first = jobs.claim(db, "w1", 0.2, 3)
    assert first is not None and first.attempt == 1
    assert jobs.claim(db, "w2", 0.2, 3) is None  # still leased
    time.sleep(0.3)
    second = jobs.claim(db, "w2", 30, 3)  # w1 stopped renewing: w2 takes over
    assert second is not None and second.attempt == 2
    assert jobs.heartbeat(db, job.id, "w1", 30) == (False, True)  # w1 learns it lost the job
    assert jobs.finish(db, job.id, "w1", "succeeded", artifacts={"a": ("text/plain", b"w1")}) is False
    assert jobs.finish(db, job.id, "w2", "succeeded", artifacts={"a": ("text/plain", b"w2")}) is True
    assert jobs.finish(db, job.id, "w2", "succeeded") is False  # once
    r = row(db, job.id)
    assert (r.status, r.completions, r.attempts) == ("succeeded", 1, 2)
    art = jobs.artifact(db, "t", job.id, "a")
    assert art.data == b"w2" and len(art.sha256) == 64
    assert jobs.artifact(db, "other", job.id, "a") is None


def test_a_job_whose_workers_keep_dying_fails_after_max_attempts(tmp_path: Path) -> None:
    db = db_at(tmp_path)
    job, _ = jobs.submit(db, "t", AnalysisRequest(text=BLOG))
    for n in range(2):
        assert jobs.claim(db, f"w{n}", 0.05, 2) is not None
        time.sleep(0.1)
    assert jobs.claim(db, "w9", 30, 2) is None
    r = row(db, job.id)
    assert r.status == "failed" and "tried 2 times" in r.error and r.completions == 0


def test_events_are_ordered_and_tagged_with_the_attempt(tmp_path: Path) -> None:
    db = db_at(tmp_path)
    job, _ = jobs.submit(db, "t", AnalysisRequest(text=BLOG, agents=True, formats=["json"]))
    assert Worker(db, ServiceSettings(database_url="sqlite://", lease_seconds=5)).run_once()
    with db.session() as s:
        evs = list(s.scalars(select(Event).where(Event.job_id == job.id).order_by(Event.seq)))
    assert [e.seq for e in evs] == list(range(1, len(evs) + 1))
    assert evs[0].kind == "status" and evs[-1].kind == "status" and '"succeeded"' in evs[-1].data
    assert {e.attempt for e in evs[1:]} == {1}
    assert sum(e.kind == "message" for e in evs) == 15


def test_the_job_timeout_fails_the_job(tmp_path: Path) -> None:
    db = db_at(tmp_path)
    big = {"components": [{"id": f"svc-{i}", "name": f"Service {i}", "type": "api_service", "technology": "flask"} for i in range(400)],
           "flows": [{"id": f"f{i}", "source": f"svc-{i}", "target": f"svc-{i + 1}"} for i in range(399)]}
    job, _ = jobs.submit(db, "t", AnalysisRequest(model=big, formats=["html", "markdown"]))
    settings = ServiceSettings(database_url="sqlite://", job_timeout=0.3, lease_seconds=0.3)
    assert Worker(db, settings).run_once()
    r = row(db, job.id)
    assert r.status == "failed" and "timed out" in r.error


def test_many_workers_one_file_every_job_once(tmp_path: Path) -> None:
    db = db_at(tmp_path)
    ids = [jobs.submit(db, "t", AnalysisRequest(text=f"{BLOG}\n{i}", agents=False, formats=["json"]))[0].id for i in range(12)]
    settings = ServiceSettings(database_url="sqlite://", poll_interval=0.01)
    stop = threading.Event()
    threads = [threading.Thread(target=Worker(db, settings).run_forever, args=(stop,)) for _ in range(4)]
    for t in threads:
        t.start()
    end = time.monotonic() + 120
    while time.monotonic() < end and any(row(db, i).status != "succeeded" for i in ids):
        time.sleep(0.1)
    stop.set()
    for t in threads:
        t.join(timeout=30)
    rows = [row(db, i) for i in ids]
    assert [r.status for r in rows] == ["succeeded"] * 12
    assert all(r.completions == 1 and r.attempts == 1 for r in rows)
