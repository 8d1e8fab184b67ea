"""Workers: claim a job, run the job code while renewing the lease, finish it once.

``LocalExecutor`` runs workers as threads inside the server. ``threatroom worker`` runs
the same loop in its own process (and, with Celery, as the task body), so a job is
executed by identical code wherever it runs.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid

from ..errors import Cancelled, InputError, KnowledgeError, RunStopped
from . import jobs
from .config import ServiceSettings
from .db import Database
from .pipeline import run_request

log = logging.getLogger("threatroom.service")


def worker_id() -> str:
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Worker:
    def __init__(self, db: Database, settings: ServiceSettings, name: str | None = None) -> None:
        self.db = db
        self.settings = settings
        self.name = name or worker_id()

    def run_once(self, job_id: str | None = None) -> bool:
        """Claim and run one job; False when there was nothing to do."""
        s = self.settings
        claim = jobs.claim(self.db, self.name, s.lease_seconds, s.max_attempts, job_id)
        if claim is None:
            return False
        log.info("job %s: attempt %d on %s", claim.job_id, claim.attempt, self.name)
        stop = threading.Event()
        cancelled = threading.Event()
        lost = threading.Event()
        deadline = time.monotonic() + s.job_timeout

        def beat() -> None:
            while not stop.wait(s.lease_seconds / 3):
                ours, cancel = jobs.heartbeat(self.db, claim.job_id, self.name, s.lease_seconds)
                if not ours:
                    lost.set()
                if cancel or not ours or time.monotonic() > deadline:
                    cancelled.set()

        last_look = [0.0]

        def is_cancelled() -> bool:
            """Asked at every stage and message: the heartbeat's answer, or, at most twice a
            second, a look at the job itself, so a person's Cancel acts within a stage."""
            if not cancelled.is_set() and time.monotonic() - last_look[0] >= 0.5:
                last_look[0] = time.monotonic()
                if jobs.cancel_requested(self.db, claim.job_id):
                    cancelled.set()
            return cancelled.is_set()

        hb = threading.Thread(target=beat, name=f"lease-{claim.job_id[:8]}", daemon=True)
        hb.start()
        try:
            artifacts = run_request(
                claim.request,
                lambda kind, data: jobs.emit(self.db, claim.job_id, claim.attempt, kind, data, self.name),
                is_cancelled,
                llm_allowed=s.llm_models,
            )
        except (Cancelled, RunStopped) as exc:
            timed_out = time.monotonic() > deadline
            status = "failed" if timed_out else "cancelled"
            jobs.finish(self.db, claim.job_id, self.name, status, error=f"timed out after {s.job_timeout:.0f}s" if timed_out else str(exc))
        except (InputError, KnowledgeError) as exc:
            jobs.finish(self.db, claim.job_id, self.name, "failed", error=f"bad input: {exc}")
        except Exception as exc:  # noqa: BLE001 - a job's failure is recorded, never kills the worker
            log.exception("job %s failed", claim.job_id)
            jobs.finish(self.db, claim.job_id, self.name, "failed", error=f"internal error ({type(exc).__name__})")
        else:
            try:
                if not jobs.finish(self.db, claim.job_id, self.name, "succeeded", artifacts=artifacts):
                    log.warning("job %s: lease lost before the end; another worker owns it", claim.job_id)
            except Exception:  # noqa: BLE001 - e.g. the database refused an artifact: fail the job, do not strand it
                log.exception("job %s: could not store the result", claim.job_id)
                jobs.finish(self.db, claim.job_id, self.name, "failed", error="internal error (the result could not be stored)")
        finally:
            stop.set()
            hb.join(timeout=5)
        return True

    def run_forever(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                busy = self.run_once()
            except Exception:  # noqa: BLE001 - e.g. the database is briefly unavailable
                log.exception("worker %s: claim failed", self.name)
                busy = False
            if not busy:
                stop.wait(self.settings.poll_interval)


class LocalExecutor:
    """Worker threads inside the server process."""

    def __init__(self, db: Database, settings: ServiceSettings) -> None:
        self.db = db
        self.settings = settings
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []

    def start(self) -> None:
        for n in range(self.settings.workers):
            w = Worker(self.db, self.settings)
            t = threading.Thread(target=w.run_forever, args=(self.stop,), name=f"threatroom-worker-{n}", daemon=True)
            t.start()
            self.threads.append(t)

    def notify(self, job_id: str) -> None:  # the workers poll; nothing to send
        return None

    def shutdown(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(timeout=10)


__all__ = ["LocalExecutor", "Worker", "worker_id"]
