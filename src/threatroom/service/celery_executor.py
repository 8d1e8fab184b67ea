"""The Celery executor: the server sends each job id to a Redis-backed queue; ``threatroom
worker --executor celery`` consumes it on any machine and runs the same job code.

The database stays the source of truth. A task only claims its job; a redelivered or
duplicated task finds it claimed or finished and does nothing, so a job completes once.
Tasks are acknowledged late and rejected when their worker is lost, so a job whose
worker dies is delivered again; a sweeper re-sends jobs whose lease ran out, in case the
broker lost the message.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

from sqlalchemy import or_, select

from .config import ServiceSettings
from .db import Database
from .tables import Job, now

QUEUE = "threatroom"
TASK = "threatroom.run_job"


def make_celery(settings: ServiceSettings) -> Any:
    from celery import Celery

    app = Celery("threatroom", broker=settings.broker_url)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_default_queue=QUEUE,
        task_serializer="json",
        accept_content=["json"],
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
    )
    state: dict[str, Any] = {}

    @app.task(name=TASK, bind=True, max_retries=None)
    def run_job(task: Any, job_id: str) -> str:
        from .worker import Worker

        db = state.setdefault("db", Database(settings.database_url))
        if Worker(db, settings).run_once(job_id):
            return "ran"
        with db.session() as s:
            job = s.get(Job, job_id)
            busy = job is not None and job.status == "running"
        if busy:  # running elsewhere; if that worker died, its lease will run out
            raise task.retry(countdown=settings.lease_seconds)
        return "nothing to do"

    return app


def expired(db: Database, grace: float) -> list[str]:
    """Jobs no worker holds: queued for a while, or running with a lapsed lease."""
    t = now()
    with db.session() as s:
        rows = s.scalars(select(Job.id).where(or_(
            (Job.status == "queued") & (Job.created_at < t - timedelta(seconds=grace)),
            (Job.status == "running") & (Job.lease_until < t),
        )).limit(100))
        return list(rows)


class CeleryExecutor:
    def __init__(self, settings: ServiceSettings, database: Database | None = None) -> None:
        self.settings = settings
        self.celery = make_celery(settings)
        self.db = database or Database(settings.database_url)
        self.stop = threading.Event()
        self.sweeper: threading.Thread | None = None

    def start(self) -> None:
        def sweep() -> None:
            while not self.stop.wait(self.settings.lease_seconds):
                try:
                    for job_id in expired(self.db, self.settings.lease_seconds):
                        self.notify(job_id)
                except Exception:  # noqa: BLE001 - the next sweep tries again
                    continue

        self.sweeper = threading.Thread(target=sweep, name="threatroom-sweeper", daemon=True)
        self.sweeper.start()

    def notify(self, job_id: str) -> None:
        self.celery.send_task(TASK, args=[job_id], queue=QUEUE)

    def shutdown(self) -> None:
        self.stop.set()


def run_celery_worker(settings: ServiceSettings, concurrency: int) -> None:
    app = make_celery(settings)
    app.worker_main(["worker", "--pool=threads", f"--concurrency={concurrency}", "-Q", QUEUE,
                     "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "INFO"])


__all__ = ["CeleryExecutor", "expired", "make_celery", "run_celery_worker"]
