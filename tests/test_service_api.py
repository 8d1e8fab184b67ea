"""The REST service in-process (SQLite file, workers in the server): submit, follow,
fetch every result, SSE, idempotency, cancel, pagination, limits, bad input."""

from __future__ import annotations

import hashlib
import io
import json
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from threatroom.service.app import create_app
from threatroom.service.config import ServiceSettings

from .conftest import EXAMPLES, SHARED

BLOG = (SHARED / "examples" / "flask-blog.txt").read_text()


def wait(c: TestClient, job_id: str, timeout: float = 60) -> dict:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        s = c.get(f"/v1/analyses/{job_id}").json()
        if s["status"] in ("succeeded", "failed", "cancelled"):
            return s
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not finish: {s}")


def make(tmp_path: Path, **kw) -> TestClient:
    settings = ServiceSettings(database_url=f"sqlite:///{tmp_path / 'svc.db'}", **{"workers": 2, "poll_interval": 0.05, **kw})
    return TestClient(create_app(settings))


@pytest.fixture(scope="module")
def done(tmp_path_factory):
    """One text analysis with every format, run to the end."""
    with make(tmp_path_factory.mktemp("svc")) as c:
        r = c.post("/v1/analyses", json={"text": BLOG, "name": "flask-blog.txt", "formats": ["html", "pdf", "markdown", "json", "sarif", "csv"]})
        assert r.status_code == 202, r.text
        job = wait(c, r.json()["id"])
        yield c, job


def test_a_text_analysis_runs_to_the_end(done) -> None:
    c, job = done
    assert job["status"] == "succeeded" and job["progress"] == 100 and job["attempts"] == 1
    threats = c.get(f"/v1/analyses/{job['id']}/threats").json()
    assert threats["summary"]["total"] > 20 and threats["components"]
    model = c.get(f"/v1/analyses/{job['id']}/model").json()
    assert {x["id"] for x in model["components"]} == {x["id"] for x in threats["components"]}
    conv = c.get(f"/v1/analyses/{job['id']}/conversation").json()
    assert conv["status"] == "terminated" and {r["role"] for r in conv["roles"]} >= {"threat_modeler", "engineer", "architect", "compliance_officer", "business_stakeholder"}


@pytest.mark.parametrize("suffix, media", [("html", "text/html"), ("pdf", "application/pdf"), ("md", "text/markdown"),
                                           ("json", "application/json"), ("sarif", "application/sarif+json"), ("csv", "text/csv")])
def test_every_report_format_with_checksums(done, suffix: str, media: str) -> None:
    c, job = done
    r = c.get(f"/v1/analyses/{job['id']}/report.{suffix}")
    assert r.status_code == 200 and r.headers["content-type"].startswith(media)
    assert r.headers["x-checksum-sha256"] == hashlib.sha256(r.content).hexdigest() == r.headers["etag"].strip('"')
    assert r.headers["x-content-type-options"] == "nosniff"
    if suffix == "pdf":
        from pypdf import PdfReader

        assert len(PdfReader(io.BytesIO(r.content)).pages) > 5
    if suffix in ("json", "sarif"):
        json.loads(r.content)


def test_diagrams_are_svg(done) -> None:
    c, job = done
    for path in ("dfd.svg", "attack-trees/1.svg"):
        r = c.get(f"/v1/analyses/{job['id']}/{path}")
        assert r.status_code == 200 and r.headers["content-type"].startswith("image/svg+xml")
        assert ET.fromstring(r.content).tag.endswith("svg")
        assert "default-src 'none'" in r.headers["content-security-policy"]
    assert c.get(f"/v1/analyses/{job['id']}/attack-trees/99.svg").status_code == 404


def test_events_stream_each_message_and_end(done) -> None:
    c, job = done
    with c.stream("GET", f"/v1/analyses/{job['id']}/events") as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in r.iter_lines()]
    kinds = [x.removeprefix("event: ") for x in lines if x.startswith("event: ")]
    assert kinds[-1] == "end" and kinds.count("message") == 15 and "progress" in kinds
    ids = [int(x.removeprefix("id: ")) for x in lines if x.startswith("id: ")]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    first_message = next(json.loads(x.removeprefix("data: ")) for x, k in zip(lines[2:], lines[1:]) if k == "event: message" and x.startswith("data: "))
    assert first_message["speaker"] == "user"
    # resume after the last seen id
    with c.stream("GET", f"/v1/analyses/{job['id']}/events", headers={"Last-Event-ID": str(ids[-3])}) as r:
        again = [int(x.removeprefix("id: ")) for x in r.iter_lines() if x.startswith("id: ")]
    assert again == ids[-2:]


def test_structured_model_and_bad_model(tmp_path: Path) -> None:
    import yaml

    doc = yaml.safe_load((EXAMPLES / "aws-web-app.yaml").read_text())
    with make(tmp_path) as c:
        ok = c.post("/v1/analyses", json={"model": doc, "formats": ["json"], "agents": False}).json()
        bad = c.post("/v1/analyses", json={"model": {"components": [{"id": "x", "name": "X", "type": "toaster"}]}}).json()
        assert wait(c, ok["id"])["status"] == "succeeded"
        failed = wait(c, bad["id"])
        assert failed["status"] == "failed" and "bad input" in failed["error"] and "toaster" in failed["error"]
        assert c.get(f"/v1/analyses/{ok['id']}/conversation").json() is None
        assert c.get(f"/v1/analyses/{ok['id']}/report.html").status_code == 404  # not asked for
        assert c.get(f"/v1/analyses/{failed['id']}/threats").status_code == 409


def test_revise_the_extracted_model_and_compare(done) -> None:
    """The loop behind the web UI's model editor: fetch the model as YAML, change it,
    submit it as a revision of the first run, and compare the two registers."""
    import yaml

    c, job = done
    assert job["name"] == "flask-blog.txt" and job["based_on"] is None
    assert c.get(f"/v1/analyses/{job['id']}/request").json()["text"] == BLOG
    text = c.get(f"/v1/analyses/{job['id']}/model.yaml")
    assert text.headers["content-type"].startswith("application/yaml") and text.text.startswith("# threatroom model")
    doc = yaml.safe_load(text.text)
    assert {x["id"] for x in doc["components"]} == {x["id"] for x in c.get(f"/v1/analyses/{job['id']}/model").json()["components"]}
    web = next(x for x in doc["components"] if "flask-admin" in x.get("facets", []))
    web["facets"].remove("flask-admin")  # "we do not use Flask-Admin after all"
    r = c.post("/v1/analyses", json={"model": doc, "name": "edited", "agents": False, "formats": ["json"], "based_on": job["id"]})
    assert r.status_code == 202, r.text
    revised = wait(c, r.json()["id"])
    assert revised["status"] == "succeeded" and revised["name"] == "edited" and revised["based_on"] == job["id"]
    diff = c.get(f"/v1/analyses/{revised['id']}/compare/{job['id']}").json()
    assert diff["resolved"] and not diff["new"] and diff["unchanged"] > 20
    assert any("Flask-Admin" in t["title"] for t in diff["resolved"]) and all(t["element"] == web["name"] for t in diff["resolved"])
    missing = c.post("/v1/analyses", json={"model": doc, "based_on": "0" * 32})
    assert missing.status_code == 422 and "based_on" in missing.json()["detail"]
    queued = c.post("/v1/analyses", json={"text": BLOG, "agents": False, "formats": ["json"]}).json()
    assert c.get(f"/v1/analyses/{queued['id']}/model.yaml").status_code in (200, 409)


@pytest.mark.parametrize("body", [{}, {"text": "a", "model": {}}, {"text": "   "}, {"text": "x", "formats": ["docx"]},
                                  {"text": "x", "goals": ["g"] * 6}, {"text": "x", "surprise": 1}, {"text": "x" * 200_001}])
def test_invalid_requests_are_422(tmp_path: Path, body: dict) -> None:
    with make(tmp_path, workers=0, max_body_bytes=2_000_000) as c:
        r = c.post("/v1/analyses", json=body)
        assert r.status_code == 422, r.text


def test_idempotency_key(tmp_path: Path) -> None:
    with make(tmp_path, workers=0) as c:
        a = c.post("/v1/analyses", json={"text": BLOG}, headers={"Idempotency-Key": "k-1"})
        b = c.post("/v1/analyses", json={"text": BLOG}, headers={"Idempotency-Key": "k-1"})
        assert a.status_code == 202 and b.status_code == 200 and b.headers["idempotent-replayed"] == "true"
        assert a.json()["id"] == b.json()["id"]
        assert c.post("/v1/analyses", json={"text": BLOG + "!"}, headers={"Idempotency-Key": "k-1"}).status_code == 409
        assert len(c.get("/v1/analyses").json()["items"]) == 1


def test_cancel_a_queued_job_and_paginate(tmp_path: Path) -> None:
    with make(tmp_path, workers=0) as c:
        ids = [c.post("/v1/analyses", json={"text": f"{BLOG}\n{i}"}).json()["id"] for i in range(5)]
        r = c.delete(f"/v1/analyses/{ids[0]}")
        assert r.status_code == 202 and r.json()["status"] == "cancelled"
        seen, before = [], None
        while True:
            page = c.get("/v1/analyses", params={"limit": 2, **({"before": before} if before else {})}).json()
            seen += [j["id"] for j in page["items"]]
            before = page["next"]
            if before is None:
                break
        assert seen == ids[::-1]
        assert c.get("/v1/analyses", params={"limit": 0}).status_code == 422


def test_cancel_a_running_job(tmp_path: Path) -> None:
    from threatroom.service import jobs
    from threatroom.service.worker import Worker

    with make(tmp_path, workers=0) as c:
        job = c.post("/v1/analyses", json={"text": BLOG}).json()
        db, settings = c.app.state.db, c.app.state.settings
        claim = jobs.claim(db, "w1", 30, 3)
        assert claim is not None and c.get(f"/v1/analyses/{job['id']}").json()["status"] == "running"
        assert c.delete(f"/v1/analyses/{job['id']}").json()["status"] == "running"  # asked; the worker stops it
        assert jobs.heartbeat(db, job["id"], "w1", 30) == (True, True)
        assert jobs.finish(db, job["id"], "someone-else", "succeeded") is False  # not the lease owner
        assert jobs.finish(db, job["id"], "w1", "cancelled")
        assert c.get(f"/v1/analyses/{job['id']}").json()["status"] == "cancelled"
        assert Worker(db, settings).run_once() is False


def test_cancel_acts_within_a_stage_not_at_the_next_heartbeat(tmp_path: Path) -> None:
    """With a 300 s lease the heartbeat (and its cancel flag) comes every 100 s; a person's
    Cancel must still stop the job at its next stage, within seconds."""
    from .service_helpers import big_model_yaml

    with make(tmp_path, lease_seconds=300) as c:
        job = c.post("/v1/analyses", json={"model": big_model_yaml(), "agents": False, "formats": ["json"]}).json()
        end = time.monotonic() + 30
        while c.get(f"/v1/analyses/{job['id']}").json()["status"] != "running":
            assert time.monotonic() < end
            time.sleep(0.02)
        c.delete(f"/v1/analyses/{job['id']}")
        done = wait(c, job["id"], timeout=60)  # far less than the 100 s to the first heartbeat
        assert done["status"] == "cancelled" and "cancelled" in done["error"]


def test_limits_body_size_and_rate(tmp_path: Path) -> None:
    with make(tmp_path, workers=0, max_body_bytes=5_000, rate_per_minute=3) as c:
        assert c.post("/v1/analyses", json={"text": "x" * 10_000}).status_code == 413
        chunked = c.post("/v1/analyses", content=iter([b'{"text": "', b"y" * 6_000, b'"}']), headers={"content-type": "application/json"})
        assert chunked.status_code == 413
        codes = [c.get("/v1/analyses").status_code for _ in range(3)]
        assert codes == [200, 200, 200]
        r = c.get("/v1/analyses")
        assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
        assert c.get("/healthz").status_code == 200  # health is not rate limited


def test_llm_option_is_limited_to_what_the_server_allows(tmp_path: Path) -> None:
    with make(tmp_path) as c:
        assert c.post("/v1/analyses", json={"text": BLOG, "llm": "openai:gpt-4o"}).status_code == 422
        job = c.post("/v1/analyses", json={"text": BLOG, "llm": "test", "formats": ["json"]}).json()
        assert wait(c, job["id"])["status"] == "succeeded"
        conv = c.get(f"/v1/analyses/{job['id']}/conversation").json()
        assert conv["llm"]["model"] == "test" and all(m["agent"] == "test" for m in conv["messages"][1:])
        info = c.get("/v1/info").json()
        assert info["llm_models"] == ["test"] and info["tenant"] == "local"


def test_health_ready_and_openapi(tmp_path: Path) -> None:
    with make(tmp_path, workers=0) as c:
        assert c.get("/healthz").json() == {"status": "ok"}
        assert c.get("/readyz").json()["status"] == "ready"
        spec = c.get("/openapi.json").json()
        assert {"/v1/analyses", "/v1/analyses/{job_id}", "/v1/analyses/{job_id}/events", "/v1/analyses/{job_id}/report.{suffix}"} <= set(spec["paths"])


def test_jobs_survive_a_restart(tmp_path: Path) -> None:
    with make(tmp_path, workers=0) as c:
        ids = [c.post("/v1/analyses", json={"text": BLOG, "formats": ["json"], "agents": False}).json()["id"] for _ in range(3)]
    with make(tmp_path, workers=2) as c:  # a new server process on the same database
        assert [wait(c, i)["status"] for i in ids] == ["succeeded"] * 3


def test_user_text_is_not_logged_at_info(tmp_path: Path, caplog) -> None:
    import logging

    secret = "Zorblax-internal-ledger-7781"
    with caplog.at_level(logging.INFO, logger="threatroom.service"), make(tmp_path) as c:
        job = c.post("/v1/analyses", json={"text": BLOG + f"\nThe {secret} service stores invoices in PostgreSQL."}).json()
        wait(c, job["id"])
    assert caplog.records and not any(secret in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("body", [{"text": "zzz\x00qqq"}, {"text": "x", "name": "n\x00x"}, {"text": "x", "goals": ["a\x00"]}])
def test_nul_characters_are_refused(tmp_path: Path, body: dict) -> None:
    with make(tmp_path, workers=0) as c:
        assert c.post("/v1/analyses", json=body).status_code == 422


def test_malformed_ids_are_404_not_errors(tmp_path: Path) -> None:
    with make(tmp_path, workers=0) as c:
        for path in ("/v1/analyses/a%00b", "/v1/analyses/" + "f" * 33, "/v1/analyses/a%00b/threats"):
            assert c.get(path).status_code == 404
        assert c.delete("/v1/analyses/a%00b").status_code == 404
        assert c.get("/v1/analyses", params={"before": "a\x00b"}).status_code == 200


def test_blank_idempotency_keys_mean_none(tmp_path: Path) -> None:
    with make(tmp_path, workers=0) as c:
        a = c.post("/v1/analyses", json={"text": BLOG}, headers={"Idempotency-Key": ""})
        b = c.post("/v1/analyses", json={"text": BLOG}, headers={"Idempotency-Key": "  "})
        assert a.status_code == b.status_code == 202 and a.json()["id"] != b.json()["id"]
