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
from .pipeline import MEDIA, REPORT_NAME, render_format
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


def effective(db: Database, tenant: str, job_id: str, result: ThreatModel | None) -> dict[str, TriageOut]:
    """The decisions that hold for the threats of an analysis (``result``, its register):
    its own, and for threats it shares with the runs it revises (``based_on``, followed
    back), the latest decision made there, marked with ``carried_from``."""
    if result is None:
        return {}
    chain: list[str] = []
    job = jobs.get(db, tenant, job_id)
    while job is not None and job.based_on and job.based_on not in chain and job.based_on != job_id and len(chain) < 50:
        chain.append(job.based_on)
        job = jobs.get(db, tenant, job.based_on)
    out: dict[str, TriageOut] = {}
    for earlier in reversed(chain):  # oldest first, so newer decisions win
        for tid, d in decisions(db, earlier).items():
            out[tid] = d.model_copy(update={"carried_from": d.carried_from or earlier})
    out.update(decisions(db, job_id))
    ids = {t.id for t in result.threats}
    return {k: v for k, v in out.items() if k in ids}


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


REGISTER_EXPORTS = {name: fmt for fmt, name in REPORT_NAME.items()}


def render(db: Database, tenant: str, job_id: str, name: str) -> tuple[str, bytes] | None:
    """The artifact ``name`` with the triage applied; None when nothing was triaged (serve
    the stored one) or when the artifact is not a register export."""
    if name != "threats.json" and name not in REGISTER_EXPORTS:
        return None
    if jobs.artifact(db, tenant, job_id, name) is None:
        return None
    base = register(db, tenant, job_id)
    triage = effective(db, tenant, job_id, base)
    if not triage:
        return None
    result = applied(base, triage)  # type: ignore[arg-type]
    if name == "threats.json":
        return MEDIA["json"], result.model_dump_json(indent=2).encode()
    job = jobs.get(db, tenant, job_id)
    request = json.loads(job.request) if job is not None else {}
    fmt = REGISTER_EXPORTS[name]
    rep = _report(db, tenant, job_id, request, result) if fmt in ("html", "markdown", "pdf", "json") else None
    return MEDIA[fmt], render_format(fmt, rep, result, request.get("name", "input"))


def _report(db: Database, tenant: str, job_id: str, request: dict[str, Any], result: ThreatModel) -> Any:
    """The report rebuilt from what the job stored: register, discussion, input, goals."""
    from ..agents.protocol import Discussion
    from ..knowledge import load_knowledge
    from ..render.report import build_report

    conv = jobs.artifact(db, tenant, job_id, "conversation.json")
    record = Discussion.model_validate_json(conv.data) if conv is not None and conv.data != b"null" else None
    source = request.get("text") if request.get("text") is not None else json.dumps(request.get("model"), indent=2)
    return build_report(result, load_knowledge(), source_name=request.get("name", "input"), source_text=(source or "")[:500_000],
                        discussion=record, with_discussion=record is not None, goals=request.get("goals") or None)


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


__all__ = ["UnknownThreat", "applied", "compare", "decisions", "effective", "register", "render", "set_triage"]
