#!/usr/bin/env python3
"""Bounded load test of the REST service on loopback: no job lost, none run twice.

usage: python bench/service_load.py [--jobs 500] [--clients 20] [--server-workers 2]
                                    [--db URL] [--timeout 900] [--json FILE]

Starts ``threatroom serve`` on a free loopback port (default database: a fresh SQLite file
in a temporary folder; ``--db postgresql+psycopg://user@host:port/db`` for PostgreSQL),
waits for /readyz, then ``--clients`` threads submit ``--jobs`` offline analyses in all
(the structured model in examples/flask-blog.yaml, JSON report, stakeholder discussion
on), each with its own Idempotency-Key; a submission that fails in transit is retried
with the same key. It then follows the job list until every job is finished, fetches
every submitted job by id, and reads the jobs table directly:

* lost:       a submission that got no job, a submitted id that GET does not find, or a
              job that ended failed or cancelled;
* duplicated: two submissions answered with one id, more job rows than submissions, two
              rows with one Idempotency-Key, or a job whose result was committed more than
              once (completions > 1, or sum(completions) != succeeded rows).

Prints submit and end-to-end throughput, submit-to-succeeded latency (server clock:
finished_at - created_at; mostly queueing, with all jobs submitted at once) and the time
each job ran, counts by status; exits 1 on any loss or duplicate, 2 if jobs were still
unfinished at --timeout. The server is stopped at the end, whatever happens, and the
temporary folder removed (--keep keeps it).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import queue
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import yaml

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "flask-blog.yaml"
FINISHED = {"succeeded", "failed", "cancelled"}
RETRIES = 6


@dataclass
class Submission:
    index: int
    key: str
    job_id: str | None = None
    status_code: int | None = None
    replayed: bool = False
    tries: int = 0
    seconds: float = 0.0  # the POST that got the answer, client side
    error: str | None = None


@dataclass
class Tally:
    lock: threading.Lock = field(default_factory=threading.Lock)
    server_errors: int = 0
    rate_limited: int = 0
    transport_errors: int = 0

    def add(self, name: str) -> None:
        with self.lock:
            setattr(self, name, getattr(self, name) + 1)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def parse_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


class Server:
    """``threatroom serve`` in a subprocess of its own session; stopped by ``close``."""

    def __init__(self, db_url: str, port: int, workers: int, log_path: Path) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = log_path
        env = {**os.environ, "THREATROOM_RATE_PER_MINUTE": "10000000", "PYTHONUNBUFFERED": "1"}
        src = str(ROOT / "src")
        env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        cmd = [sys.executable, "-m", "threatroom.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
               "--db", db_url, "--workers", str(workers)]
        self.log = log_path.open("wb")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     env=env, cwd=log_path.parent, start_new_session=True)

    def wait_ready(self, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        with httpx.Client(base_url=self.url, timeout=5) as client:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"the server exited with {self.proc.returncode}:\n{self.log_tail()}")
                try:
                    r = client.get("/readyz")
                    if r.status_code == 200:
                        return r.json()
                except httpx.TransportError:
                    pass
                time.sleep(0.2)
        raise RuntimeError(f"the server was not ready within {timeout:.0f}s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        self.log.flush()
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def close(self) -> int | None:
        """SIGTERM (uvicorn shuts down gracefully), then SIGKILL to the whole process group."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait(timeout=10)
        self.log.close()
        return self.proc.returncode


HEADERS: dict[str, str] = {}  # Authorization, with --api-key


def in_parallel(base_url: str, items: list[Any], clients: int, work: Callable[[httpx.Client, Any], None]) -> None:
    """``clients`` threads, one HTTP connection each, take items from a shared queue."""
    todo: queue.Queue[Any] = queue.Queue()
    for item in items:
        todo.put(item)

    def client_loop() -> None:
        with httpx.Client(base_url=base_url, timeout=60, headers=HEADERS) as client:
            while True:
                try:
                    item = todo.get_nowait()
                except queue.Empty:
                    return
                work(client, item)

    threads = [threading.Thread(target=client_loop, name=f"client-{n}") for n in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def submit_all(base_url: str, body: dict[str, Any], subs: list[Submission], clients: int, tally: Tally) -> None:
    in_parallel(base_url, subs, clients, lambda client, sub: submit_one(client, body, sub, tally))


def submit_one(client: httpx.Client, body: dict[str, Any], sub: Submission, tally: Tally) -> None:
    for attempt in range(1, RETRIES + 1):
        sub.tries = attempt
        t0 = time.perf_counter()
        try:
            r = client.post("/v1/analyses", json=body, headers={"Idempotency-Key": sub.key})
        except httpx.TransportError as exc:
            tally.add("transport_errors")
            sub.error = f"{type(exc).__name__}: {exc}"
            time.sleep(0.2 * attempt)
            continue
        sub.seconds = time.perf_counter() - t0
        sub.status_code = r.status_code
        if r.status_code in (200, 202):
            sub.job_id = r.json()["id"]
            sub.replayed = r.status_code == 200
            sub.error = None
            return
        if r.status_code == 429:
            tally.add("rate_limited")
            time.sleep(float(r.headers.get("Retry-After", "1")))
            continue
        if r.status_code >= 500:
            tally.add("server_errors")
            sub.error = f"HTTP {r.status_code}: {r.text[:200]}"
            time.sleep(0.2 * attempt)
            continue
        sub.error = f"HTTP {r.status_code}: {r.text[:200]}"
        return


def list_all(client: httpx.Client, tally: Tally) -> dict[str, dict[str, Any]]:
    """Every job of the (anonymous) tenant, by id, through the paged list."""
    seen: dict[str, dict[str, Any]] = {}
    before: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 100}
        if before:
            params["before"] = before
        r = get(client, "/v1/analyses", tally, params=params)
        page = r.json()
        for item in page["items"]:
            seen[item["id"]] = item
        before = page["next"]
        if not before:
            return seen


def get(client: httpx.Client, url: str, tally: Tally, **kwargs: Any) -> httpx.Response:
    for attempt in range(1, RETRIES + 1):
        try:
            r = client.get(url, **kwargs)
        except httpx.TransportError:
            tally.add("transport_errors")
            time.sleep(0.2 * attempt)
            continue
        if r.status_code == 429:
            tally.add("rate_limited")
            time.sleep(float(r.headers.get("Retry-After", "1")))
            continue
        if r.status_code >= 500:
            tally.add("server_errors")
            time.sleep(0.2 * attempt)
            continue
        return r
    raise RuntimeError(f"GET {url} kept failing")


def wait_finished(base_url: str, ids: set[str], deadline: float, tally: Tally, interval: float = 1.0) -> tuple[bool, float]:
    """Follow the job list (a few requests a sweep, not one per job) until every id is finished."""
    last_line, last_print = "", 0.0
    with httpx.Client(base_url=base_url, timeout=60, headers=HEADERS) as client:
        while True:
            jobs = list_all(client, tally)
            states = [jobs[i]["status"] if i in jobs else "missing" for i in ids]
            counts = {s: states.count(s) for s in sorted(set(states))}
            line = "  waiting: " + ", ".join(f"{k} {v}" for k, v in counts.items())
            finished = all(s in FINISHED for s in states)
            if line != last_line and (finished or time.monotonic() - last_print >= 10):
                print(line, flush=True)
                last_line, last_print = line, time.monotonic()
            if finished:
                return True, time.monotonic()
            if time.monotonic() > deadline:
                return False, time.monotonic()
            time.sleep(interval)


def fetch_each(base_url: str, ids: list[str], clients: int, tally: Tally) -> dict[str, dict[str, Any] | None]:
    """GET every submitted job by id (the list could hide a loss; this cannot)."""
    out: dict[str, dict[str, Any] | None] = {}
    lock = threading.Lock()

    def fetch(client: httpx.Client, job_id: str) -> None:
        r = get(client, f"/v1/analyses/{job_id}", tally)
        with lock:
            out[job_id] = r.json() if r.status_code == 200 else None

    in_parallel(base_url, ids, clients, fetch)
    return out


def check_database(db_url: str, key_prefix: str) -> dict[str, Any]:
    """Read the jobs table directly: rows, completions and Idempotency-Key uniqueness for this run."""
    from sqlalchemy import create_engine, text

    engine = create_engine(db_url)
    like = {"p": key_prefix + "%"}
    try:
        with engine.connect() as conn:
            rows, completions, attempts_max, attempts_sum = conn.execute(text(
                "SELECT count(*), coalesce(sum(completions), 0), coalesce(max(attempts), 0), coalesce(sum(attempts), 0) "
                "FROM jobs WHERE idempotency_key LIKE :p"), like).one()
            dup_keys = conn.execute(text(
                "SELECT count(*) FROM (SELECT tenant_id, idempotency_key FROM jobs WHERE idempotency_key LIKE :p "
                "GROUP BY tenant_id, idempotency_key HAVING count(*) > 1) AS d"), like).scalar_one()
            multi = conn.execute(text("SELECT count(*) FROM jobs WHERE idempotency_key LIKE :p AND completions > 1"), like).scalar_one()
            by_status = dict(conn.execute(text(
                "SELECT status, count(*) FROM jobs WHERE idempotency_key LIKE :p GROUP BY status"), like).all())
            artifacts = conn.execute(text(
                "SELECT count(*) FROM artifacts a JOIN jobs j ON j.id = a.job_id WHERE j.idempotency_key LIKE :p"), like).scalar_one()
            events = conn.execute(text(
                "SELECT count(*) FROM events e JOIN jobs j ON j.id = e.job_id WHERE j.idempotency_key LIKE :p"), like).scalar_one()
    finally:
        engine.dispose()
    return {"rows": int(rows), "completions": int(completions), "duplicate_keys": int(dup_keys),
            "completed_more_than_once": int(multi), "max_attempts": int(attempts_max), "sum_attempts": int(attempts_sum),
            "by_status": {str(k): int(v) for k, v in by_status.items()}, "artifacts": int(artifacts), "events": int(events)}


def redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def run(args: argparse.Namespace) -> int:
    tmp = Path(tempfile.mkdtemp(prefix="threatroom-load-"))
    db_url = args.db or f"sqlite:///{tmp / 'load.db'}"
    port = args.port or free_port()
    run_id = uuid.uuid4().hex[:12]
    key_prefix = f"load-{run_id}-"
    body = {"model": yaml.safe_load(EXAMPLE.read_text(encoding="utf-8")), "name": "flask-blog", "formats": ["json"], "agents": True}
    subs = [Submission(i, f"{key_prefix}{i:05d}") for i in range(args.jobs)]
    tally = Tally()
    report: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "config": {"jobs": args.jobs, "clients": args.clients, "server_workers": args.server_workers, "db": redact(db_url)},
    }
    print(f"service load: {args.jobs} jobs, {args.clients} clients, {args.server_workers} server workers, "
          f"{os.cpu_count()} CPUs, db {redact(db_url)}", flush=True)
    server = Server(db_url, port, args.server_workers, tmp / "server.log")
    try:
        ready = server.wait_ready(args.start_timeout)
        print(f"  server ready on {server.url} ({ready.get('executor')})", flush=True)
        deadline = time.monotonic() + args.timeout

        t0 = time.monotonic()
        submit_all(server.url, body, subs, args.clients, tally)
        t_submitted = time.monotonic()
        accepted = [s for s in subs if s.job_id]
        submit_s = t_submitted - t0
        print(f"  submitted {len(accepted)}/{len(subs)} in {submit_s:.1f}s", flush=True)

        ids = {s.job_id for s in accepted if s.job_id}
        done, t_done = wait_finished(server.url, ids, deadline, tally, args.poll_interval)
        final = fetch_each(server.url, sorted(ids), args.clients, tally)
        db = check_database(db_url, key_prefix)
        exit_code = server.close()
    except BaseException:
        print(server.log_tail(), file=sys.stderr)
        raise
    finally:
        server.close()
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)

    # --- verdicts -----------------------------------------------------------------------------
    rejected = [s for s in subs if not s.job_id]
    missing = [i for i, job in final.items() if job is None]
    status_counts: dict[str, int] = {}
    for job in final.values():
        key = job["status"] if job else "missing"
        status_counts[key] = status_counts.get(key, 0) + 1
    succeeded = [j for j in final.values() if j and j["status"] == "succeeded"]
    unfinished = sum(1 for j in final.values() if j and j["status"] not in FINISHED)  # only when --timeout ran out
    ended_badly = sum(1 for j in final.values() if j and j["status"] in FINISHED and j["status"] != "succeeded")
    dup_ids = len(accepted) - len(ids)  # two keys answered with one job id
    lost = len(rejected) + len(missing) + ended_badly
    # sum(completions) grows only with a success, in the same UPDATE: it must equal the succeeded rows.
    extra_completions = db["completions"] - db["by_status"].get("succeeded", 0)
    duplicated = (dup_ids + max(0, db["rows"] - len(subs)) + db["duplicate_keys"] + db["completed_more_than_once"]
                  + abs(extra_completions))
    latencies = []
    for j in succeeded:
        created, finished = parse_time(j["created_at"]), parse_time(j["finished_at"])
        if created and finished:
            latencies.append((finished - created).total_seconds())
    run_times = []
    for j in succeeded:
        started, finished = parse_time(j["started_at"]), parse_time(j["finished_at"])
        if started and finished:
            run_times.append((finished - started).total_seconds())
    created_all = [parse_time(j["created_at"]) for j in final.values() if j]
    finished_all = [parse_time(j["finished_at"]) for j in final.values() if j and j["finished_at"]]
    span = (max(finished_all) - min(c for c in created_all if c)).total_seconds() if finished_all and created_all else float("nan")
    post_times = [s.seconds for s in accepted]

    results = {
        "submit": {"accepted": len(accepted), "rejected": len(rejected), "seconds": round(submit_s, 3),
                   "jobs_per_s": round(len(accepted) / submit_s, 2) if submit_s else None,
                   "post_p50_ms": round(percentile(post_times, 0.5) * 1000, 1), "post_p95_ms": round(percentile(post_times, 0.95) * 1000, 1),
                   "post_max_ms": round(max(post_times, default=float("nan")) * 1000, 1),
                   "retried": sum(1 for s in subs if s.tries > 1), "replayed": sum(1 for s in accepted if s.replayed)},
        "end_to_end": {"finished_in_time": done, "seconds_server": round(span, 3),
                       "jobs_per_s_server": round(len(succeeded) / span, 2) if span > 0 and math.isfinite(span) else None,
                       "seconds_client": round(t_done - t0, 3), "jobs_per_s_client": round(len(succeeded) / (t_done - t0), 2)},
        "latency_s": {"p50": round(percentile(latencies, 0.5), 3), "p95": round(percentile(latencies, 0.95), 3),
                      "max": round(max(latencies, default=float("nan")), 3), "mean": round(statistics.fmean(latencies), 3) if latencies else None,
                      "run_p50": round(percentile(run_times, 0.5), 3), "run_p95": round(percentile(run_times, 0.95), 3)},
        "status": status_counts,
        "http": {"server_errors": tally.server_errors, "rate_limited": tally.rate_limited, "transport_errors": tally.transport_errors},
        "database": db,
        "lost": lost, "duplicated": duplicated, "unfinished": unfinished, "server_exit": exit_code,
        "errors": sorted({s.error for s in rejected if s.error})[:5]
                  + sorted({j["error"] for j in final.values() if j and j.get("error")})[:5],
    }
    report["results"] = results
    print_table(report)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2, default=str) + "\n", encoding="utf-8")
        print(f"  wrote {args.json}")
    if lost or duplicated:
        print(f"FAIL: {lost} lost, {duplicated} duplicated", file=sys.stderr)
        return 1
    if not done or unfinished:
        print(f"FAIL: {unfinished} jobs had not finished before --timeout", file=sys.stderr)
        return 2
    print("OK: zero lost, zero duplicated")
    return 0


def print_table(report: dict[str, Any]) -> None:
    r = report["results"]
    s, e, lat, db = r["submit"], r["end_to_end"], r["latency_s"], r["database"]
    rows = [
        ("submit throughput", (f"{s['jobs_per_s']} jobs/s ({s['accepted']} in {s['seconds']}s; "
                               f"POST p50 {s['post_p50_ms']} ms, p95 {s['post_p95_ms']} ms, max {s['post_max_ms']} ms)")),
        ("end-to-end throughput", (f"{e['jobs_per_s_server']} jobs/s (first created -> last finished: {e['seconds_server']}s; "
                                   f"client view {e['jobs_per_s_client']} jobs/s)")),
        ("latency created->done", (f"p50 {lat['p50']}s, p95 {lat['p95']}s, max {lat['max']}s "
                                   f"(of which running: p50 {lat['run_p50']}s, p95 {lat['run_p95']}s)")),
        ("status", ", ".join(f"{k} {v}" for k, v in sorted(r["status"].items()))),
        ("http trouble", (f"5xx {r['http']['server_errors']}, 429 {r['http']['rate_limited']}, "
                          f"transport {r['http']['transport_errors']}; retried submits {s['retried']}, replayed {s['replayed']}")),
        ("database", (f"rows {db['rows']}, sum(completions) {db['completions']}, duplicate keys {db['duplicate_keys']}, "
                      f"completed >1x {db['completed_more_than_once']}, max attempts {db['max_attempts']}, "
                      f"artifacts {db['artifacts']}, events {db['events']}")),
        ("verdict", f"lost {r['lost']}, duplicated {r['duplicated']}, unfinished {r['unfinished']}"),
    ]
    width = max(len(k) for k, _ in rows)
    print()
    for k, v in rows:
        print(f"  {k:<{width}}  {v}")
    for err in r["errors"]:
        print(f"  error: {err}")
    print()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--jobs", type=int, default=500, help="jobs to submit in all (default 500)")
    p.add_argument("--clients", type=int, default=20, help="concurrent clients (default 20)")
    p.add_argument("--server-workers", type=int, default=2, help="worker threads in the server (default 2)")
    p.add_argument("--db", help="SQLAlchemy URL (default: a fresh SQLite file in a temporary folder)")
    p.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    p.add_argument("--timeout", type=float, default=900, help="seconds for all jobs to finish (default 900)")
    p.add_argument("--start-timeout", type=float, default=60, help="seconds for the server to become ready")
    p.add_argument("--poll-interval", type=float, default=1.0, help="seconds between sweeps of the job list")
    p.add_argument("--keep", action="store_true", help="keep the temporary folder (server log, SQLite file)")
    p.add_argument("--api-key", help="send this key (needed when the database already has API keys)")
    p.add_argument("--json", help="also write the results as JSON to this file")
    args = p.parse_args(argv)
    if args.jobs < 1 or args.clients < 1 or args.server_workers < 1:
        p.error("--jobs, --clients and --server-workers must be at least 1")
    if args.api_key:
        HEADERS["Authorization"] = f"Bearer {args.api_key}"
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
