"""The Celery executor: the server sends each job id to a Redis-backed queue; ``threatroom
worker --executor celery`` consumes it on any machine and runs the same job code.

The database stays the source of truth. A task only claims its job; a redelivered or
duplicated task finds it claimed or finished and does nothing, so a job completes once.
When a worker dies, the server's sweeper re-sends its job as soon as the job's lease has
run out (seconds); as a backstop, tasks are acknowledged late, so Redis redelivers an
unacknowledged one after its visibility timeout (the job timeout plus a margin).
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
        broker_transport_options={"visibility_timeout": int(settings.job_timeout + 4 * settings.lease_seconds)},
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
        self.resent: dict[str, float] = {}

    def start(self) -> None:
        import time

        def sweep() -> None:
            while not self.stop.wait(self.settings.lease_seconds):
                try:
                    t = time.monotonic()
                    for job_id in expired(self.db, self.settings.lease_seconds):
                        if t - self.resent.get(job_id, -1e9) >= 5 * self.settings.lease_seconds:  # not every sweep
                            self.resent[job_id] = t
                            self.notify(job_id)
                    self.resent = {k: v for k, v in self.resent.items() if t - v < 60 * self.settings.lease_seconds}
                except Exception:  # noqa: BLE001 - the next sweep tries again
                    continue

        self.sweeper = threading.Thread(target=sweep, name="threatroom-sweeper", daemon=True)
        self.sweeper.start()

    def notify(self, job_id: str) -> None:
        self.celery.send_task(TASK, args=[job_id], queue=QUEUE)

    def shutdown(self) -> None:
        self.stop.set()
        if self.sweeper is not None:
            self.sweeper.join(timeout=5)
        self.celery.close()
        self.db.engine.dispose()


def run_celery_worker(settings: ServiceSettings, concurrency: int) -> None:
    app = make_celery(settings)
    app.worker_main(["worker", "--pool=threads", f"--concurrency={concurrency}", "-Q", QUEUE,
                     "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "INFO"])


__all__ = ["CeleryExecutor", "expired", "make_celery", "run_celery_worker"]
