"""The service on PostgreSQL: the migrations, the API flow, many workers in two processes
completing every job exactly once, and a job whose worker is killed finished once by
another worker.

Needs ``THREATROOM_TEST_POSTGRES_URL`` (``.ci/run`` starts a throwaway PostgreSQL and
sets it). Each test works in a schema of its own, dropped at the end, so runs (and
reruns after a crash) do not see each other's tables.
"""

from __future__ import annotations

import signal
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from .service_helpers import big_model_yaml, flask_blog_text, kill_group, postgres_url, running_worker, wait_for, worker_pid

pytestmark = pytest.mark.skipif(
    postgres_url() is None,
    reason="THREATROOM_TEST_POSTGRES_URL is unset: no PostgreSQL for the service tests (.ci/run starts one and sets it)",
)

TABLES = {"tenants", "api_keys", "jobs", "artifacts", "events", "alembic_version"}


@dataclass(frozen=True)
class Schema:
    name: str
    url: str  # the test database, with this schema first on the search path


@pytest.fixture
def pg() -> Iterator[Schema]:
    from sqlalchemy import create_engine, make_url, text

    base = postgres_url()
    assert base is not None
    name = f"t_{uuid.uuid4().hex[:16]}"
    url = make_url(base).update_query_dict({"options": f"-csearch_path={name}"}).render_as_string(hide_password=False)
    admin = create_engine(base)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{name}"'))
        yield Schema(name, url)
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{name}" CASCADE'))
    finally:
        admin.dispose()


def _job(db, job_id: str):  # type: ignore[no-untyped-def]
    from threatroom.service.tables import Job

    with db.session() as s:
        job = s.get(Job, job_id)
        assert job is not None
        return job


def _all_jobs(db):  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from threatroom.service.tables import Job

    with db.session() as s:
        return list(s.scalars(select(Job)))


def test_migrations_apply_to_head(pg: Schema) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from sqlalchemy import inspect, text

    from threatroom.service.db import MIGRATIONS, Database
    from threatroom.service.tables import Base

    db = Database(pg.url)
    try:
        assert db.dialect == "postgresql"
        db.migrate()
        db.migrate()  # a second run is a no-op
        assert TABLES <= set(inspect(db.engine).get_table_names(schema=pg.name))
        head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [head]
            assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []  # the tables match the models
    finally:
        db.engine.dispose()


def test_api_flow(pg: Schema) -> None:
    from fastapi.testclient import TestClient

    from threatroom.service.app import create_app
    from threatroom.service.config import ServiceSettings
    from threatroom.service.jobs import FINISHED

    app = create_app(ServiceSettings(database_url=pg.url, workers=2))
    try:
        with TestClient(app) as client:
            r = client.post("/v1/analyses", json={"text": flask_blog_text(), "name": "flask-blog"})
            assert r.status_code == 202, r.text
            job_id = r.json()["id"]
            job = wait_for(lambda: (j := client.get(f"/v1/analyses/{job_id}").json())["status"] in FINISHED and j, 60,
                           what="the analysis to finish")
            assert (job["status"], job["error"], job["attempts"]) == ("succeeded", None, 1)
            r = client.get(f"/v1/analyses/{job_id}/threats")
            assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
            threats = r.json()["threats"]
            assert threats and all(t["id"] for t in threats)
            r = client.get(f"/v1/analyses/{job_id}/report.html")
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
            assert "<html" in r.text.lower() and "flask-blog" in r.text
            page = client.get("/v1/analyses").json()
            assert [j["id"] for j in page["items"]] == [job_id]
        assert _job(app.state.db, job_id).completions == 1
    finally:
        app.state.db.engine.dispose()


def test_jobs_complete_once_across_threads_and_processes(pg: Schema, tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from threatroom.service import jobs
    from threatroom.service.app import create_app
    from threatroom.service.config import ServiceSettings
    from threatroom.service.db import Database
    from threatroom.service.pipeline import AnalysisRequest

    text = flask_blog_text()
    db = Database(pg.url)
    db.migrate()  # before the worker starts, so the two do not both create the tables
    app = None
    try:
        with running_worker(pg.url, concurrency=2, log=tmp_path / "worker.log") as proc:
            # A first job shows the worker process is up and polling before the rush.
            probe, _ = jobs.submit(db, "local", AnalysisRequest(text=text, name="probe", formats=["json"], agents=False))
            wait_for(lambda: _job(db, probe.id).status == "succeeded", 60, what="the worker process to take a job", watch=[proc])
            app = create_app(ServiceSettings(database_url=pg.url, workers=4))
            with TestClient(app) as client:
                ids = []
                for n in range(20):
                    r = client.post("/v1/analyses", json={"text": text, "name": f"blog-{n}", "formats": ["json"]})
                    assert r.status_code == 202, r.text
                    ids.append(r.json()["id"])
                wait_for(lambda: all(_job(db, i).status in jobs.FINISHED for i in ids), 120, what="20 jobs to finish",
                         watch=[proc])
        rows = {j.id: j for j in _all_jobs(db)}
        assert set(rows) == {*ids, probe.id}
        bad = {i: (j.status, j.completions, j.attempts, j.error) for i, j in rows.items()
               if (j.status, j.completions, j.attempts) != ("succeeded", 1, 1)}
        assert not bad, bad
        pids = {worker_pid(rows[i].lease_owner) for i in ids}
        assert proc.pid in pids and len(pids) == 2, f"both processes should have run jobs: {pids}"
    finally:
        db.engine.dispose()
        if app is not None:
            app.state.db.engine.dispose()


def test_job_of_a_killed_worker_completes_once(pg: Schema, tmp_path: Path) -> None:
    from sqlalchemy import select

    from threatroom.service import jobs
    from threatroom.service.db import Database
    from threatroom.service.pipeline import AnalysisRequest
    from threatroom.service.tables import Artifact, Event

    env = {"THREATROOM_LEASE_SECONDS": "2"}
    db = Database(pg.url)
    db.migrate()
    try:
        job, _ = jobs.submit(db, "local", AnalysisRequest(model=big_model_yaml(), name="big"))
        with running_worker(pg.url, concurrency=1, env=env, log=tmp_path / "first.log") as first:
            running = wait_for(lambda: (j := _job(db, job.id)).status == "running" and j, 60, interval=0.02,
                               what="the big job to start", watch=[first])
            assert worker_pid(running.lease_owner) == first.pid
            kill_group(first, signal.SIGKILL)
            first.wait(timeout=10)
            assert _job(db, job.id).status == "running", "the job finished before its worker was killed: make it bigger"
        with running_worker(pg.url, concurrency=1, env=env, log=tmp_path / "second.log") as second:
            wait_for(lambda: _job(db, job.id).status in jobs.FINISHED, 120, what="the second worker to finish the job",
                     watch=[second])
        done = _job(db, job.id)
        assert (done.status, done.completions, done.attempts, done.error) == ("succeeded", 1, 2, None)
        assert worker_pid(done.lease_owner) == second.pid
        with db.session() as s:
            names = list(s.scalars(select(Artifact.name).where(Artifact.job_id == job.id)))
            attempts = set(s.scalars(select(Event.attempt).where(Event.job_id == job.id)))
        assert len(names) == len(set(names)) and {"threats.json", "report.html"} <= set(names)
        assert {1, 2} <= attempts  # events of the killed attempt and of the retry
    finally:
        db.engine.dispose()
