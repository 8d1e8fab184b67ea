"""The Celery executor against a real Redis: jobs sent by the server run on a separate
``threatroom worker --executor celery`` process, each exactly once, and a job whose
worker is killed in the middle is finished by another worker, once.

Needs ``THREATROOM_TEST_REDIS_URL`` (``.ci/run`` starts a Redis and sets it).
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from .service_helpers import big_model_yaml, flask_blog_text, kill_group, redis_url, running_worker, wait_for, worker_pid

pytestmark = pytest.mark.skipif(
    redis_url() is None,
    reason="THREATROOM_TEST_REDIS_URL is unset: no Redis for the Celery executor tests (.ci/run starts one and sets it)",
)

LEASE = 2


@pytest.fixture
def broker() -> str:
    """The test Redis, its database emptied so no message of an earlier run is delivered."""
    import redis

    url = redis_url()
    assert url is not None
    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    finally:
        client.close()
    return url


@pytest.fixture
def service(tmp_path: Path, broker: str) -> Iterator[tuple[object, str]]:
    """A server app with the Celery executor on a SQLite file, and the database URL."""
    from threatroom.service.app import create_app
    from threatroom.service.config import ServiceSettings

    db_url = f"sqlite:///{tmp_path / 'jobs.db'}"
    app = create_app(ServiceSettings(database_url=db_url, executor="celery", broker_url=broker, lease_seconds=LEASE),
                     start_workers=True)
    try:
        yield app, db_url
    finally:
        executor = app.state.executor
        executor.shutdown()
        executor.celery.close()
        executor.db.engine.dispose()
        app.state.db.engine.dispose()


def _job(app: object, job_id: str):  # type: ignore[no-untyped-def]
    from threatroom.service.tables import Job

    with app.state.db.session() as s:  # type: ignore[attr-defined]
        job = s.get(Job, job_id)
        assert job is not None
        return job


def _worker(db_url: str, broker: str, log: Path):  # type: ignore[no-untyped-def]
    return running_worker(db_url, executor="celery", broker=broker, env={"THREATROOM_LEASE_SECONDS": str(LEASE)}, log=log)


def test_celery_worker_runs_every_job_once(service: tuple[object, str], broker: str, tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from threatroom.service.jobs import FINISHED

    app, db_url = service
    text = flask_blog_text()
    with TestClient(app) as client, _worker(db_url, broker, tmp_path / "worker.log") as proc:  # type: ignore[arg-type]
        ids = []
        for n in range(5):
            r = client.post("/v1/analyses", json={"text": text, "name": f"flask-blog-{n}", "formats": ["json"]})
            assert r.status_code == 202, r.text
            ids.append(r.json()["id"])
        wait_for(lambda: all(_job(app, i).status in FINISHED for i in ids), 90, what="5 jobs to finish on the Celery worker",
                 watch=[proc])
        for i in ids:
            r = client.get(f"/v1/analyses/{i}/threats")
            assert r.status_code == 200, r.text
            assert r.json()["threats"]
    for i in ids:
        job = _job(app, i)
        assert (job.status, job.completions, job.error) == ("succeeded", 1, None), i
        assert worker_pid(job.lease_owner) == proc.pid  # run by the Celery worker, not by the server


def test_celery_job_of_a_killed_worker_completes_once(service: tuple[object, str], broker: str, tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from threatroom.service.jobs import FINISHED

    app, db_url = service
    with TestClient(app) as client:  # type: ignore[arg-type]
        with _worker(db_url, broker, tmp_path / "first.log") as first:
            r = client.post("/v1/analyses", json={"model": big_model_yaml(), "name": "big"})
            assert r.status_code == 202, r.text
            job_id = r.json()["id"]
            running = wait_for(lambda: (j := _job(app, job_id)).status == "running" and j, 60,
                               interval=0.02, what="the big job to start", watch=[first])
            assert worker_pid(running.lease_owner) == first.pid
            kill_group(first, signal.SIGKILL)
            first.wait(timeout=10)
            assert _job(app, job_id).status == "running", "the job finished before its worker was killed: make it bigger"
        # The server's sweeper re-sends the job once the dead worker's lease runs out.
        with _worker(db_url, broker, tmp_path / "second.log") as second:
            wait_for(lambda: _job(app, job_id).status in FINISHED, 120, what="the job to finish on the second worker",
                     watch=[second])
            assert client.get(f"/v1/analyses/{job_id}").json()["status"] == "succeeded"
    job = _job(app, job_id)
    assert (job.status, job.completions, job.error) == ("succeeded", 1, None)
    assert job.attempts >= 2
    assert worker_pid(job.lease_owner) == second.pid
