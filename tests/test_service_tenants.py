"""API keys and tenants: keys are stored hashed; another tenant's job is 404 on every
endpoint and missing from listings; without keys only a loopback server answers."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from threatroom.cli import main
from threatroom.service.app import create_app
from threatroom.service.config import ServiceSettings
from threatroom.service.keys import create_key

from .conftest import SHARED

BLOG = (SHARED / "examples" / "flask-blog.txt").read_text()
ENDPOINTS = ["", "/model", "/model.yaml", "/request", "/threats", "/conversation", "/report.html", "/report.pdf", "/report.md", "/report.json",
             "/report.sarif", "/report.csv", "/dfd.svg", "/attack-trees/1.svg", "/events", "/triage"]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    path = tmp_path_factory.mktemp("tenants") / "svc.db"
    app = create_app(ServiceSettings(database_url=f"sqlite:///{path}", workers=2, poll_interval=0.05))
    with TestClient(app) as c:
        with app.state.db.session() as s:
            keys = {"a": create_key(s, name="alpha ci", tenant="alpha"), "b": create_key(s, name="beta ci", tenant="beta"),
                    "a2": create_key(s, name="alpha laptop", tenant="alpha")}
        auth = {k: {"Authorization": f"Bearer {v}"} for k, v in keys.items()}
        job = c.post("/v1/analyses", json={"text": BLOG, "formats": ["html", "pdf", "markdown", "json", "sarif", "csv"]}, headers=auth["a"]).json()
        end = time.monotonic() + 60
        while c.get(f"/v1/analyses/{job['id']}", headers=auth["a"]).json()["status"] != "succeeded":
            assert time.monotonic() < end
            time.sleep(0.05)
        yield c, keys, auth, job["id"], path


@pytest.mark.parametrize("suffix", ENDPOINTS)
def test_other_tenants_get_404_everywhere(world, suffix: str) -> None:
    c, _, auth, job_id, _ = world
    assert c.get(f"/v1/analyses/{job_id}{suffix}", headers=auth["b"]).status_code == 404
    owner = c.get(f"/v1/analyses/{job_id}{suffix}", headers=auth["a2"])  # same tenant, another key
    assert owner.status_code == 200


def test_other_tenants_cannot_list_or_cancel(world) -> None:
    c, _, auth, job_id, _ = world
    assert c.delete(f"/v1/analyses/{job_id}", headers=auth["b"]).status_code == 404
    assert c.get(f"/v1/analyses/{job_id}", headers=auth["a"]).json()["status"] == "succeeded"
    assert c.get("/v1/analyses", headers=auth["b"]).json()["items"] == []
    assert [j["id"] for j in c.get("/v1/analyses", headers=auth["a"]).json()["items"]] == [job_id]
    assert c.get("/v1/analyses", params={"before": job_id}, headers=auth["b"]).json()["items"] == []


def test_a_revision_cannot_point_at_another_tenants_analysis(world) -> None:
    c, _, auth, job_id, _ = world
    refused = c.post("/v1/analyses", json={"text": BLOG, "agents": False, "formats": ["json"], "based_on": job_id}, headers=auth["b"])
    assert refused.status_code == 422 and "based_on" in refused.json()["detail"]
    assert c.get("/v1/analyses", headers=auth["b"]).json()["items"] == []


def test_idempotency_keys_are_per_tenant(world) -> None:
    c, _, auth, _, _ = world
    a = c.post("/v1/analyses", json={"text": BLOG, "agents": False, "formats": ["json"]}, headers={**auth["a"], "Idempotency-Key": "same"})
    b = c.post("/v1/analyses", json={"text": BLOG, "agents": False, "formats": ["json"]}, headers={**auth["b"], "Idempotency-Key": "same"})
    assert a.status_code == b.status_code == 202 and a.json()["id"] != b.json()["id"]


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer nope"}, {"Authorization": "Bearer tr_AAAAAAAAAAAA_" + "x" * 43},
                                     {"X-API-Key": "tr_short"}, {"Authorization": "Basic dXNlcjpwYXNz"}])
def test_missing_or_wrong_keys_are_401(world, headers: dict) -> None:
    c, _, _, job_id, _ = world
    for path in ("/v1/analyses", f"/v1/analyses/{job_id}"):
        r = c.get(path, headers=headers)
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    assert c.get("/healthz").status_code == 200


def test_keys_are_stored_hashed(world) -> None:
    _, keys, _, _, path = world
    raw = b"".join(p.read_bytes() for p in path.parent.glob("svc.db*"))
    for token in keys.values():
        assert token.encode() not in raw and token.split("_", 2)[2].encode() not in raw


def test_x_api_key_header_and_revocation(tmp_path: Path, capsys) -> None:
    db = f"sqlite:///{tmp_path / 'k.db'}"
    assert main(["keys", "create", "--name", "Deploy bot", "--tenant", "ops", "--db", db]) == 0
    token = capsys.readouterr().out.strip()
    assert token.startswith("tr_")
    with TestClient(create_app(ServiceSettings(database_url=db, workers=0))) as c:
        assert c.get("/v1/info", headers={"X-API-Key": token}).json()["tenant"] == "ops"
        assert c.get("/v1/info").status_code == 401  # keys exist: no anonymous access even on loopback
        assert main(["keys", "list", "--db", db]) == 0
        listing = capsys.readouterr().out
        prefix = token.split("_")[1]
        assert prefix in listing and token not in listing and "active" in listing
        assert main(["keys", "revoke", prefix, "--db", db]) == 0
        assert c.get("/v1/info", headers={"X-API-Key": token}).status_code == 401
    assert main(["keys", "revoke", prefix, "--db", db]) == 2


def test_without_keys_only_loopback(tmp_path: Path, capsys) -> None:
    db = f"sqlite:///{tmp_path / 'n.db'}"
    with TestClient(create_app(ServiceSettings(database_url=db, workers=0))) as c:
        assert c.get("/v1/info").json()["tenant"] == "local"
    with TestClient(create_app(ServiceSettings(database_url=db, workers=0, host="0.0.0.0"))) as c:
        assert c.get("/v1/info").status_code == 401
    assert main(["serve", "--host", "0.0.0.0", "--db", db]) == 2
    assert "without API keys" in capsys.readouterr().err


def test_bad_tenant_names_are_refused(tmp_path: Path, capsys) -> None:
    assert main(["keys", "create", "--name", "x", "--tenant", "Bad Tenant!", "--db", f"sqlite:///{tmp_path / 't.db'}"]) == 2


def test_a_missing_server_extra_is_named(monkeypatch, capsys) -> None:
    import builtins

    real = builtins.__import__

    def no_uvicorn(name, *a, **kw):
        if name == "uvicorn":
            raise ImportError("no uvicorn")
        return real(name, *a, **kw)

    monkeypatch.setattr(builtins, "__import__", no_uvicorn)
    for cmd in (["serve"], ["worker"], ["keys", "list"]):
        assert main(cmd) == 2
        assert "threatroom[server]" in capsys.readouterr().err
