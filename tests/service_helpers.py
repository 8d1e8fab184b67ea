"""Helpers shared by the service tests: where the test services are (``.ci/run`` starts
them and sets ``THREATROOM_TEST_POSTGRES_URL`` and ``THREATROOM_TEST_REDIS_URL``), waiting
for a condition, ``threatroom worker`` subprocesses, and a model big enough that a job
runs for a few seconds."""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

from .conftest import ROOT, SHARED

POSTGRES_ENV = "THREATROOM_TEST_POSTGRES_URL"
REDIS_ENV = "THREATROOM_TEST_REDIS_URL"
# Service settings a worker would otherwise inherit from whoever runs the tests.
_SERVICE_ENV = ("THREATROOM_DATABASE_URL", "THREATROOM_EXECUTOR", "THREATROOM_BROKER_URL", "THREATROOM_WORKERS",
                "THREATROOM_RATE_PER_MINUTE", "THREATROOM_JOB_TIMEOUT", "THREATROOM_LEASE_SECONDS", "THREATROOM_LLM_MODELS")

T = TypeVar("T")

# `python -m threatroom.cli worker ...`, except that on Linux the worker is killed when
# the test process dies (PR_SET_PDEATHSIG), so a test run killed mid-way (a cancelled CI
# job) leaves no worker behind: in its own process group, the worker gets no signal meant
# for the run's group.
_BOOT = """\
import sys
if sys.platform.startswith("linux"):
    import ctypes, os, signal
    ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL))  # 1: PR_SET_PDEATHSIG
    if os.getppid() != int(sys.argv[1]):  # the test process is already gone
        sys.exit(1)
from threatroom.cli import main
sys.exit(main(sys.argv[2:]))
"""


def postgres_url() -> str | None:
    """The test PostgreSQL (a SQLAlchemy URL), or None when none is configured."""
    return os.environ.get(POSTGRES_ENV) or None


def redis_url() -> str | None:
    """The test Redis (a redis:// URL, its own database number), or None when none is configured."""
    return os.environ.get(REDIS_ENV) or None


def flask_blog_text() -> str:
    return (SHARED / "examples" / "flask-blog.txt").read_text(encoding="utf-8")


def worker_log(proc: subprocess.Popen[bytes]) -> str:
    """What a worker started by ``running_worker`` has written so far (its last 4,000 characters)."""
    path: Path | None = getattr(proc, "log_path", None)
    if path is None or not path.exists():
        return "(no log)"
    return path.read_text(encoding="utf-8", errors="replace")[-4000:]


def wait_for(predicate: Callable[[], T], timeout: float = 60.0, *, interval: float = 0.1, what: str = "the condition",
             watch: Iterable[subprocess.Popen[bytes]] = ()) -> T:
    """Poll ``predicate`` until it returns something true, and return that.

    Fails after ``timeout`` seconds, or as soon as a process in ``watch`` has exited
    (with its log), so a crashed worker does not look like a slow one.
    """
    watched = list(watch)
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        for proc in watched:
            if proc.poll() is not None:
                raise AssertionError(f"worker {proc.pid} exited with {proc.returncode} while waiting for {what}:\n{worker_log(proc)}")
        if time.monotonic() > deadline:
            logs = "".join(f"\n--- worker {p.pid} ---\n{worker_log(p)}" for p in watched)
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}{logs}")
        time.sleep(interval)


def kill_group(proc: subprocess.Popen[bytes], sig: int = signal.SIGKILL) -> None:
    """Send ``sig`` to the worker's whole process group (it is its own group's leader)."""
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _stop(proc: subprocess.Popen[bytes], grace: float) -> None:
    if proc.poll() is None:
        kill_group(proc, signal.SIGTERM)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
    kill_group(proc, signal.SIGKILL)  # and anything it left in its group
    proc.wait()


@contextmanager
def running_worker(db_url: str, *, executor: str = "local", broker: str | None = None, env: dict[str, str] | None = None,
                   concurrency: int = 2, log: Path | None = None, grace: float = 5.0) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``threatroom worker`` in a subprocess, in its own process group, for the block
    (``kill_group`` kills it and anything it started, and nothing else).

    ``env`` adds to (or overrides) the environment; service settings of the calling
    environment are not passed on. Output goes to ``log`` (a temporary file when None),
    readable with ``worker_log``. On exit the worker gets SIGTERM, then SIGKILL after
    ``grace`` seconds.
    """
    child_env = {k: v for k, v in os.environ.items() if k not in _SERVICE_ENV}
    child_env["PYTHONUNBUFFERED"] = "1"
    if broker is not None:
        child_env["THREATROOM_BROKER_URL"] = broker
    child_env.update(env or {})
    args = ["worker", "--db", db_url, "--executor", executor, "--concurrency", str(concurrency)]
    cmd = [sys.executable, "-c", _BOOT, str(os.getpid()), *args]
    with tempfile.TemporaryDirectory(prefix="threatroom-worker-") as scratch:
        log_path = log or Path(scratch) / "worker.log"
        with log_path.open("wb") as out:
            proc = subprocess.Popen(cmd, env=child_env, cwd=scratch, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                    start_new_session=True)
            proc.log_path = log_path  # type: ignore[attr-defined]
            try:
                yield proc
            finally:
                _stop(proc, grace)


def worker_pid(lease_owner: str | None) -> int | None:
    """The process id in a lease owner (``host:pid:random``, see ``worker.worker_id``)."""
    if not lease_owner:
        return None
    parts = lease_owner.rsplit(":", 2)
    return int(parts[1]) if len(parts) == 3 and parts[1].isdigit() else None


@cache
def _perf() -> Any:
    spec = importlib.util.spec_from_file_location("threatroom_bench_perf", ROOT / "bench" / "perf.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def big_model_yaml(components: int = 600) -> dict[str, Any]:
    """A generated structured model (the YAML/JSON input format) of ``components``
    components, from ``bench/perf.py``: analysing, discussing and rendering it takes a
    few seconds, long enough to kill a worker in the middle of the job."""
    return _perf().generate(components)


__all__ = ["POSTGRES_ENV", "REDIS_ENV", "big_model_yaml", "flask_blog_text", "kill_group", "postgres_url", "redis_url",
           "running_worker", "wait_for", "worker_log", "worker_pid"]
