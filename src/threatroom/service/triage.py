"""Triage of an analysis's threats, and exports that show it.

The stored artifacts are what the job produced; once a threat is triaged, the register
and the reports are rendered again from the stored register and discussion with the
triage applied, so every later download shows it.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from ..model.threats import Triage as TriageOut
from ..model.threats import ThreatModel
from . import jobs
from .db import Database
from .pipeline import MEDIA
from .tables import Triage, now


class UnknownThreat(Exception):
    pass


def register(db: Database, tenant: str, job_id: str) -> ThreatModel | None:
    art = jobs.artifact(db, tenant, job_id, "threats.json")
    return ThreatModel.model_validate_json(art.data) if art is not None else None


def decisions(db: Database, job_id: str) -> dict[str, TriageOut]:
    with db.session() as s:
        rows = s.scalars(select(Triage).where(Triage.job_id == job_id))
        return {r.threat_id: TriageOut(status=r.status, note=r.note, updated_at=r.updated_at.isoformat(timespec="seconds") + "Z",  # type: ignore[arg-type]
                                       updated_by=r.updated_by) for r in rows}


def set_triage(db: Database, tenant: str, job_id: str, threat_id: str, status: str, note: str, by: str | None) -> TriageOut:
    result = register(db, tenant, job_id)
    if result is None or all(t.id != threat_id for t in result.threats):
        raise UnknownThreat(threat_id)
    with db.session() as s:
        row = s.scalar(select(Triage).where(Triage.job_id == job_id, Triage.threat_id == threat_id))
        if row is None:
            row = Triage(job_id=job_id, threat_id=threat_id)
            s.add(row)
        row.status, row.note, row.updated_at, row.updated_by = status, note, now(), by
    return decisions(db, job_id)[threat_id]


def applied(result: ThreatModel, triage: dict[str, TriageOut]) -> ThreatModel:
    return result.model_copy(update={"threats": [t.model_copy(update={"triage": triage.get(t.id)}) for t in result.threats]})


def render(db: Database, tenant: str, job_id: str, name: str) -> tuple[str, bytes] | None:
    """The artifact ``name`` with the triage applied; None when nothing was triaged (serve
    the stored one) or when the artifact is not a register export."""
    triage = decisions(db, job_id)
    if not triage or name not in {"threats.json", "report.html", "report.pdf", "report.md", "report.json", "report.sarif", "report.csv"}:
        return None
    stored = jobs.artifact(db, tenant, job_id, name)
    if stored is None:
        return None
    result = applied(register(db, tenant, job_id), triage)  # type: ignore[arg-type]
    if name == "threats.json":
        return MEDIA["json"], result.model_dump_json(indent=2).encode()
    if name == "report.sarif":
        from ..render.sarif import to_sarif

        job = jobs.get(db, tenant, job_id)
        return MEDIA["sarif"], to_sarif(result, _source_name(job)).encode()
    if name == "report.csv":
        from ..render.csvout import to_csv

        return MEDIA["csv"], to_csv(result).encode()
    return _report(db, tenant, job_id, name, result)


def _source_name(job: Any) -> str:
    return json.loads(job.request).get("name", "input") if job is not None else "input"


def _report(db: Database, tenant: str, job_id: str, name: str, result: ThreatModel) -> tuple[str, bytes]:
    from ..agents.protocol import Discussion
    from ..knowledge import load_knowledge
    from ..render.report import build_report, to_html, to_markdown_report, to_pdf

    job = jobs.get(db, tenant, job_id)
    request = json.loads(job.request) if job is not None else {}
    conv = jobs.artifact(db, tenant, job_id, "conversation.json")
    record = Discussion.model_validate_json(conv.data) if conv is not None and conv.data != b"null" else None
    source = request.get("text") if request.get("text") is not None else json.dumps(request.get("model"), indent=2)
    rep = build_report(result, load_knowledge(), source_name=request.get("name", "input"), source_text=(source or "")[:500_000],
                       discussion=record, with_discussion=record is not None, goals=request.get("goals") or None)
    if name == "report.html":
        return MEDIA["html"], to_html(rep).encode()
    if name == "report.md":
        return MEDIA["markdown"], to_markdown_report(rep).encode()
    if name == "report.pdf":
        return MEDIA["pdf"], to_pdf(rep)
    data = json.loads(rep.result.model_dump_json())
    data["discussion"] = json.loads(rep.discussion.model_dump_json()) if rep.discussion else None
    data["attack_trees"] = [json.loads(t.json) for t in rep.trees]
    return MEDIA["json"], (json.dumps(data, indent=2) + "\n").encode()


def compare(before: ThreatModel, after: ThreatModel) -> dict[str, Any]:
    """What changed from one run to the next: threats new in ``after``, resolved (gone), and
    changed (same id, different severity, score or title)."""
    old = {t.id: t for t in before.threats}
    new = {t.id: t for t in after.threats}

    def brief(t: Any) -> dict[str, Any]:
        return {"id": t.id, "title": t.title, "element": t.element_name, "stride": t.stride.value,
                "severity": t.severity.value, "dread": t.dread.score}

    changed = []
    for tid in sorted(old.keys() & new.keys()):
        a, b = old[tid], new[tid]
        diff = {k: [x, y] for k, x, y in (("severity", a.severity.value, b.severity.value), ("dread", a.dread.score, b.dread.score),
                                          ("title", a.title, b.title)) if x != y}
        if diff:
            changed.append({**brief(b), "changes": diff})
    return {
        "new": [brief(new[t]) for t in sorted(new.keys() - old.keys())],
        "resolved": [brief(old[t]) for t in sorted(old.keys() - new.keys())],
        "changed": changed,
        "unchanged": len(old.keys() & new.keys()) - len(changed),
    }


__all__ = ["UnknownThreat", "applied", "compare", "decisions", "register", "render", "set_triage"]
