"""Property-based tests of the REST service against its own OpenAPI schema (schemathesis, in-process ASGI).

The one property that matters: no request, however odd, gets a 5xx. Every operation is fuzzed as
generated (random ids: 404/409/422 expected) and again with the generated id swapped for real ones
(a succeeded job, a cancelled job, a queued job and, with API keys, another tenant's job), so the
paths behind a valid id (artifacts, SSE, cancel) are fuzzed too. Two servers: anonymous on loopback
(no keys, tenant "local") and one with API keys, sent as ``Authorization: Bearer``.

The service runs without background workers, so nothing changes under the fuzzer; the succeeded job
is run once, synchronously, by the same worker code the server uses.
"""

from __future__ import annotations


import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("sqlalchemy")
schemathesis = pytest.importorskip("schemathesis")
yaml = pytest.importorskip("yaml")

from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error

from threatroom.service import jobs
from threatroom.service.app import create_app
from threatroom.service.config import ServiceSettings
from threatroom.service.keys import LOCAL_TENANT, create_key
from threatroom.service.pipeline import AnalysisRequest
from threatroom.service.worker import Worker

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "flask-blog.yaml"
# Each call is bounded: an SSE stream that never ended would be cut here rather than hang the run.
CALL_TIMEOUT = 10.0


@dataclass
class Api:
    """One running app, the headers its clients send, and the ids that exist in it."""

    name: str
    app: Any
    headers: dict[str, str]
    succeeded: str = ""
    cancelled: str = ""
    queued: str = ""
    foreign: str | None = None  # a job of another tenant: must look exactly like a missing one
    tmp: Path = field(default_factory=Path)

    def own_ids(self, path: str) -> list[str]:
        """Real ids to try on this operation. Never a queued job on the event stream: with no
        workers it would stay queued, and the stream (correctly) stays open while a job can change."""
        if path.endswith("/events"):
            return [self.succeeded, self.cancelled]
        return [self.succeeded, self.cancelled, self.queued]


def _request(**overrides: Any) -> AnalysisRequest:
    model = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    values: dict[str, Any] = {"model": model, "name": "flask-blog", "formats": ["json", "html", "markdown", "sarif", "csv"], "agents": True}
    values.update(overrides)
    return AnalysisRequest(**values)


def _seed(app: Any, tenant: str) -> tuple[str, str, str]:
    """A succeeded, a cancelled and a queued job for ``tenant``."""
    db, cfg = app.state.db, app.state.settings
    done, _ = jobs.submit(db, tenant, _request(), f"seed-succeeded-{tenant}")
    assert Worker(db, cfg, name="schema-test").run_once(done.id)
    state = jobs.get(db, tenant, done.id)
    assert state is not None and state.status == "succeeded", state and state.error
    gone, _ = jobs.submit(db, tenant, _request(agents=False, formats=["json"]), f"seed-cancelled-{tenant}")
    jobs.cancel(db, tenant, gone.id)
    waiting, _ = jobs.submit(db, tenant, _request(agents=False, formats=["csv"]), f"seed-queued-{tenant}")
    return done.id, gone.id, waiting.id


@pytest.fixture(scope="module", params=["anonymous", "api-key"])
def api(request: pytest.FixtureRequest) -> Iterator[Api]:
    tmp = Path(tempfile.mkdtemp(prefix="threatroom-schema-"))
    cfg = ServiceSettings(database_url=f"sqlite:///{tmp / 'service.db'}", workers=0, rate_per_minute=1_000_000,
                          poll_interval=0.05, job_timeout=60)
    app = create_app(cfg, start_workers=False)
    db = app.state.db
    try:
        if request.param == "anonymous":
            done, gone, waiting = _seed(app, LOCAL_TENANT)
            yield Api("anonymous", app, {}, done, gone, waiting, tmp=tmp)
        else:
            with db.session() as s:
                token = create_key(s, name="schema-test", tenant="alpha")
                create_key(s, name="other", tenant="beta")
            done, gone, waiting = _seed(app, "alpha")
            foreign, _, _ = _seed(app, "beta")
            yield Api("api-key", app, {"Authorization": f"Bearer {token}"}, done, gone, waiting, foreign, tmp)
    finally:
        db.engine.dispose()
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="module")
def service_schema(api: Api) -> Any:
    return schemathesis.openapi.from_asgi("/openapi.json", api.app)


schema = schemathesis.pytest.from_fixture("service_schema")


def _send(case: Any, api: Api) -> Any:
    response = case.call(headers=api.headers, timeout=CALL_TIMEOUT)
    # The schema declares only 200/202/422; 401/404/409/413/429 are documented behaviour, not bugs.
    case.validate_response(response, checks=[not_a_server_error], headers=api.headers)
    return response


def _repaired(case: Any) -> Any | None:
    """The generated submission made valid where the schema cannot say so (exactly one of text/model,
    sane goals, an allowed LLM), so the fuzzer reaches the accepting path, not just 422."""
    if not isinstance(case.body, dict):
        return None
    body = dict(case.body)
    if "text" in body and "model" in body:
        del body["model"]
    if not isinstance(body.get("text"), str) and not isinstance(body.get("model"), dict):
        body.pop("text", None)
        body["model"] = {"system": {"name": "fuzzed"}, "components": [{"id": "web", "name": "Web app", "type": "web_application"}]}
    elif isinstance(body.get("text"), str) and not body["text"].strip():
        body["text"] = "A Flask web application stores user accounts in a MySQL database."
    if isinstance(body.get("goals"), list):
        body["goals"] = [g for g in body["goals"] if isinstance(g, str) and g.strip() and len(g) <= 200]
    if body.get("llm") is not None:
        body["llm"] = "test"
    return case.operation.Case(headers=dict(case.headers), query=dict(case.query), body=body, media_type=case.media_type)


def _with_id(case: Any, job_id: str) -> Any:
    return case.operation.Case(path_parameters={**case.path_parameters, "job_id": job_id}, headers=dict(case.headers),
                               query=dict(case.query), body=case.body, media_type=case.media_type)


@settings(max_examples=25, deadline=None, database=None, derandomize=True,
          phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
@schema.parametrize()
def test_no_server_errors(case: Any, api: Api) -> None:
    _send(case, api)
    if case.method.upper() == "POST" and case.path == "/v1/analyses":
        repaired = _repaired(case)
        if repaired is not None:
            _send(repaired, api)
    if "job_id" not in case.path_parameters:
        return
    for job_id in api.own_ids(case.path):
        _send(_with_id(case, job_id), api)
    if api.foreign is not None:
        response = _send(_with_id(case, api.foreign), api)
        assert response.status_code in (400, 404, 422), f"another tenant's job answered {response.status_code}"


def test_seeded_jobs_are_reachable(api: Api) -> None:
    """The ids the fuzzer swaps in are live: the succeeded job serves its artifacts."""
    import httpx

    async def fetch() -> list[int]:
        transport = httpx.ASGITransport(app=api.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver", headers=api.headers) as client:
            base = f"/v1/analyses/{api.succeeded}"
            urls = [base, f"{base}/threats", f"{base}/report.json", f"{base}/dfd.svg", f"{base}/attack-trees/1.svg",
                    f"{base}/events", f"/v1/analyses/{api.queued}/threats", f"/v1/analyses/{api.cancelled}/events"]
            return [(await client.get(u)).status_code for u in urls]

    import asyncio

    assert asyncio.run(fetch()) == [200, 200, 200, 200, 200, 200, 409, 200]


def _events(api: Api, job_id: str, last_event_id: bytes) -> tuple[int, str]:
    import asyncio

    import httpx

    async def fetch() -> tuple[int, str]:
        transport = httpx.ASGITransport(app=api.app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver", headers=api.headers) as client:
            r = await client.get(f"/v1/analyses/{job_id}/events", headers={"Last-Event-ID": last_event_id})
            return r.status_code, r.text

    return asyncio.run(fetch())


@pytest.mark.parametrize("last_event_id", [
    b"1",
    b"x",
    pytest.param("\u00b2".encode("latin-1"), id="superscript-two"),  # '²'.isdigit() is true, int('²') fails
    pytest.param(b"99999999999999999999", id="20-digits"),  # past SQLite's INTEGER and PostgreSQL's int4
], ids=["one", "letters", "superscript-two", "20-digits"])
def test_event_stream_resumes_from_any_last_event_id(api: Api, last_event_id: bytes) -> None:
    """Values schemathesis rarely generates: the header allows 20 characters of anything."""
    status, text = _events(api, api.cancelled, last_event_id)
    assert status == 200
    assert text.endswith("event: end\ndata: {}\n\n")
