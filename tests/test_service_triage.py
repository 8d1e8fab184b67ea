"""Triage through the service: a person's status and note per threat, stored with the
analysis and shown in every later export (register JSON, HTML, Markdown, CSV, SARIF, PDF)."""

from __future__ import annotations

import csv
import io
import json
import time

import pytest
from fastapi.testclient import TestClient

from threatroom.service.app import create_app
from threatroom.service.config import ServiceSettings
from threatroom.service.keys import create_key

from .conftest import SHARED

BLOG = (SHARED / "examples" / "flask-blog.txt").read_text()
NOTE = "<script>alert(1)</script> owner: payments | =HYPERLINK(\"x\")"


@pytest.fixture(scope="module")
def triaged(tmp_path_factory):
    app = create_app(ServiceSettings(database_url=f"sqlite:///{tmp_path_factory.mktemp('tri') / 's.db'}", workers=1, poll_interval=0.05))
    with TestClient(app) as c:
        with app.state.db.session() as s:
            a, b = create_key(s, name="alpha", tenant="alpha"), create_key(s, name="beta", tenant="beta")
        ha, hb = {"Authorization": f"Bearer {a}"}, {"Authorization": f"Bearer {b}"}
        queued = c.post("/v1/analyses", json={"text": BLOG, "formats": ["html", "markdown", "json", "sarif", "csv", "pdf"]}, headers=ha).json()
        end = time.monotonic() + 60
        while c.get(f"/v1/analyses/{queued['id']}", headers=ha).json()["status"] != "succeeded":
            assert time.monotonic() < end
            time.sleep(0.05)
        threats = c.get(f"/v1/analyses/{queued['id']}/threats", headers=ha).json()["threats"]
        first, second = threats[0]["id"], threats[1]["id"]
        r1 = c.put(f"/v1/analyses/{queued['id']}/threats/{first}/triage", json={"status": "accepted", "note": NOTE}, headers=ha)
        r2 = c.put(f"/v1/analyses/{queued['id']}/threats/{second}/triage", json={"status": "mitigated"}, headers=ha)
        assert r1.status_code == r2.status_code == 200
        yield c, queued["id"], first, second, ha, hb


def test_triage_is_stored_and_in_the_register(triaged) -> None:
    c, job, first, second, ha, _ = triaged
    got = c.get(f"/v1/analyses/{job}/triage", headers=ha).json()
    assert got[first]["status"] == "accepted" and got[first]["note"] == NOTE and got[first]["updated_by"] == "alpha"
    reg = {t["id"]: t for t in c.get(f"/v1/analyses/{job}/threats", headers=ha).json()["threats"]}
    assert reg[first]["triage"]["status"] == "accepted" and reg[second]["triage"]["status"] == "mitigated"
    assert sum(t["triage"] is not None for t in reg.values()) == 2
    report = c.get(f"/v1/analyses/{job}/report.json", headers=ha).json()
    assert {t["id"]: t["triage"] for t in report["threats"] if t["triage"]}.keys() == {first, second}


def test_triage_shows_escaped_in_html_and_markdown(triaged) -> None:
    c, job, _, _, ha, _ = triaged
    html = c.get(f"/v1/analyses/{job}/report.html", headers=ha).text
    assert "triage-accepted" in html and "&lt;script&gt;alert(1)" in html and "<script>alert(1)" not in html
    md = c.get(f"/v1/analyses/{job}/report.md", headers=ha).text
    assert "[accepted: " in md and "<script>alert(1)" not in md


def test_triage_in_csv_sarif_and_pdf(triaged) -> None:
    c, job, first, second, ha, _ = triaged
    rows = {r["id"]: r for r in csv.DictReader(io.StringIO(c.get(f"/v1/analyses/{job}/report.csv", headers=ha).text))}
    assert rows[first]["triage_status"] == "accepted" and rows[first]["triage_note"].startswith("<script>")
    assert rows[second]["triage_status"] == "mitigated" and rows[second]["triage_note"] == ""
    sarif = c.get(f"/v1/analyses/{job}/report.sarif", headers=ha).json()
    suppressed = [r for r in sarif["runs"][0]["results"] if r.get("suppressions")]
    assert len(suppressed) == 2 and {r["properties"]["triage"] for r in suppressed} == {"accepted", "mitigated"}
    assert any(NOTE in r["suppressions"][0]["justification"] for r in suppressed)
    from pypdf import PdfReader

    r = c.get(f"/v1/analyses/{job}/report.pdf", headers=ha)
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(r.content)).pages[:12])
    assert "accepted" in text and "mitigated" in text


@pytest.mark.parametrize("body, code", [({"status": "done"}, 422), ({"status": "open", "note": "x" * 2001}, 422), ({}, 422)])
def test_bad_triage_is_422(triaged, body: dict, code: int) -> None:
    c, job, first, _, ha, _ = triaged
    assert c.put(f"/v1/analyses/{job}/threats/{first}/triage", json=body, headers=ha).status_code == code


def test_unknown_threat_other_tenant_and_unfinished_job(triaged) -> None:
    c, job, first, _, ha, hb = triaged
    assert c.put(f"/v1/analyses/{job}/threats/nope@x/triage", json={"status": "open"}, headers=ha).status_code == 404
    assert c.put(f"/v1/analyses/{job}/threats/{first}/triage", json={"status": "open"}, headers=hb).status_code == 404
    assert c.get(f"/v1/analyses/{job}/triage", headers=hb).status_code == 404
    queued = c.post("/v1/analyses", json={"text": BLOG, "goals": ["never run"]}, headers=ha).json()
    c.delete(f"/v1/analyses/{queued['id']}", headers=ha)
    assert c.put(f"/v1/analyses/{queued['id']}/threats/{first}/triage", json={"status": "open"}, headers=ha).status_code == 409


def test_untriaged_exports_are_the_stored_bytes(triaged, tmp_path) -> None:
    c, job, _, _, ha, _ = triaged
    app = create_app(ServiceSettings(database_url=f"sqlite:///{tmp_path / 'u.db'}", workers=1, poll_interval=0.05))
    with TestClient(app) as c2:
        j = c2.post("/v1/analyses", json={"text": BLOG, "formats": ["json"], "agents": False}).json()["id"]
        while c2.get(f"/v1/analyses/{j}").json()["status"] != "succeeded":
            time.sleep(0.05)
        a, b = c2.get(f"/v1/analyses/{j}/report.json"), c2.get(f"/v1/analyses/{j}/report.json")
        assert a.content == b.content and a.headers["etag"] == b.headers["etag"]
        assert all(t["triage"] is None for t in json.loads(a.content)["threats"])


def test_compare_two_runs(tmp_path) -> None:
    import yaml

    from .conftest import EXAMPLES

    doc = yaml.safe_load((EXAMPLES / "flask-blog.yaml").read_text())
    changed = json.loads(json.dumps(doc))
    changed["components"] = [c for c in changed["components"] if c.get("type") != "relational_db"]
    changed["flows"] = [f for f in changed["flows"] if f["source"] in {c["id"] for c in changed["components"]}
                        and f["target"] in {c["id"] for c in changed["components"]}]
    changed["data_assets"] = [a for a in changed.get("data_assets", []) if set(a.get("stored_in", [])) <= {c["id"] for c in changed["components"]}]
    changed["components"].append({"id": "cache", "name": "Redis cache", "type": "cache", "technology": "redis"})
    changed["flows"].append({"id": "to-cache", "source": changed["components"][0]["id"], "target": "cache", "label": "sessions"})
    app = create_app(ServiceSettings(database_url=f"sqlite:///{tmp_path / 'c.db'}", workers=1, poll_interval=0.05))
    with TestClient(app) as c:
        a = c.post("/v1/analyses", json={"model": doc, "agents": False, "formats": ["json"]}).json()["id"]
        b = c.post("/v1/analyses", json={"model": changed, "agents": False, "formats": ["json"]}).json()["id"]
        for j in (a, b):
            while c.get(f"/v1/analyses/{j}").json()["status"] not in ("succeeded", "failed"):
                time.sleep(0.05)
        diff = c.get(f"/v1/analyses/{b}/compare/{a}").json()
        before = {t["id"] for t in c.get(f"/v1/analyses/{a}/threats").json()["threats"]}
        after = {t["id"] for t in c.get(f"/v1/analyses/{b}/threats").json()["threats"]}
        assert {t["id"] for t in diff["new"]} == after - before and any("cache" in t["id"] for t in diff["new"])
        assert {t["id"] for t in diff["resolved"]} == before - after and diff["resolved"]
        assert diff["unchanged"] + len(diff["changed"]) == len(before & after)
        assert c.get(f"/v1/analyses/{a}/compare/{a}").json()["new"] == []
        assert c.get(f"/v1/analyses/{b}/compare/{'0' * 32}").status_code == 404


def test_triage_carries_over_to_a_revision(tmp_path) -> None:
    """A run submitted with based_on inherits the decisions made on the run it revises (and
    on that run's own base), for the threats both share; its own decisions win, and the
    base keeps its own. Another chain is untouched."""
    import yaml

    from .conftest import EXAMPLES

    doc = yaml.safe_load((EXAMPLES / "flask-blog.yaml").read_text())
    app = create_app(ServiceSettings(database_url=f"sqlite:///{tmp_path / 'r.db'}", workers=1, poll_interval=0.05))

    def run(c: TestClient, **extra) -> str:  # type: ignore[no-untyped-def]
        j = c.post("/v1/analyses", json={"model": doc, "agents": False, "formats": ["json", "csv"], **extra}).json()["id"]
        while c.get(f"/v1/analyses/{j}").json()["status"] not in ("succeeded", "failed"):
            time.sleep(0.05)
        return j

    with TestClient(app) as c:
        first = run(c)
        ids = [t["id"] for t in c.get(f"/v1/analyses/{first}/threats").json()["threats"]]
        c.put(f"/v1/analyses/{first}/threats/{ids[0]}/triage", json={"status": "accepted", "note": "risk owner signed"})
        c.put(f"/v1/analyses/{first}/threats/{ids[1]}/triage", json={"status": "mitigated"})
        second = run(c, based_on=first)
        c.put(f"/v1/analyses/{second}/threats/{ids[1]}/triage", json={"status": "false_positive", "note": "no admin UI"})
        third = run(c, based_on=second)
        unrelated = run(c)

        mine = c.get(f"/v1/analyses/{third}/triage").json()
        assert mine[ids[0]]["status"] == "accepted" and mine[ids[0]]["carried_from"] == first
        assert mine[ids[1]]["status"] == "false_positive" and mine[ids[1]]["carried_from"] == second
        register = {t["id"]: t["triage"] for t in c.get(f"/v1/analyses/{third}/threats").json()["threats"]}
        assert register[ids[0]]["note"] == "risk owner signed" and register[ids[2]] is None
        rows = {r["id"]: r for r in csv.DictReader(io.StringIO(c.get(f"/v1/analyses/{third}/report.csv").text))}
        assert rows[ids[1]]["triage_status"] == "false_positive"
        c.put(f"/v1/analyses/{third}/threats/{ids[0]}/triage", json={"status": "open", "note": "reopened"})
        assert c.get(f"/v1/analyses/{third}/triage").json()[ids[0]]["carried_from"] is None
        assert c.get(f"/v1/analyses/{first}/triage").json()[ids[0]]["status"] == "accepted"  # the base keeps its own
        assert c.get(f"/v1/analyses/{second}/triage").json()[ids[0]]["status"] == "accepted"
        assert c.get(f"/v1/analyses/{unrelated}/triage").json() == {}
