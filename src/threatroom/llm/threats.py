"""Threats the LLM threat modeler proposes beyond the library: checked against the
model, scored from the proposal's DREAD factors, marked ``source: llm``."""

from __future__ import annotations

import re

from ..engine.dread import FACTORS, severity_of
from ..model.threats import DreadRationale, DreadScore, MitigationOut, Threat, ThreatModel
from .outputs import ProposedThreat

_CWE = re.compile(r"^CWE-\d{1,5}$")
_WORD = re.compile(r"[a-z0-9]+")


def _slug(text: str) -> str:
    return "-".join(_WORD.findall(text.lower()))[:60].strip("-") or "threat"


def _words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if len(w) > 3}


def _duplicate(p: ProposedThreat, existing: list[Threat]) -> Threat | None:
    mine = _words(p.title)
    for t in existing:
        if t.stride != p.stride or (t.component_id or t.flow_id) != p.element_id:
            continue
        theirs = _words(t.title)
        if mine and theirs and len(mine & theirs) / min(len(mine), len(theirs)) >= 0.6:
            return t
    return None


def to_threat(p: ProposedThreat, result: ThreatModel, taken: set[str]) -> Threat | str:
    """The proposal as a register entry, or why it was dropped."""
    comps = {c.id: c for c in result.components}
    flows = {f.id: f for f in result.flows}
    if p.element_id not in comps and p.element_id not in flows:
        return f"'{p.title}' refers to '{p.element_id}', which is not a component or flow of the model"
    same = _duplicate(p, result.threats)
    if same is not None:
        return f"'{p.title}' repeats the library threat '{same.title}'"
    tid = f"llm.{_slug(p.title)}@{p.element_id}"
    if tid in taken:
        return f"'{p.title}' was proposed twice"
    values = {f: getattr(p, f) for f in FACTORS}
    why = p.dread_reason.strip()
    rationale = DreadRationale(**{f: f"{v}: proposed by the LLM threat modeler ({why})" for f, v in values.items()})
    dread = DreadScore(**values, score=round(sum(values.values()) / len(FACTORS), 1), rationale=rationale)
    comp = comps.get(p.element_id)
    flow = flows.get(p.element_id)
    return Threat(
        id=tid,
        rule_id=f"llm.{_slug(p.title)}",
        component_id=comp.id if comp else None,
        flow_id=flow.id if flow else None,
        element_name=comp.name if comp else f"{flow.source} -> {flow.target}" if flow else p.element_id,
        stride=p.stride,
        title=p.title.strip(),
        description=p.description.strip() or p.attack_vector.strip(),
        attack_vector=p.attack_vector.strip(),
        technologies=list(comp.technologies) if comp else [],
        mitigations=[MitigationOut(id=f"llm-{i}", title=m.strip()[:160], description=m.strip()) for i, m in enumerate(p.mitigations, 1) if m.strip()],
        dread=dread,
        severity=severity_of(dread.score),
        cwe=[c for c in (x.strip().upper() for x in p.cwe) if _CWE.match(c)],
        source="llm",
    )


def accept(proposals: list[ProposedThreat], result: ThreatModel) -> tuple[list[Threat], list[str]]:
    """Valid, new threats and the reasons the others were dropped."""
    kept: list[Threat] = []
    dropped: list[str] = []
    taken = {t.id for t in result.threats}
    for p in proposals:
        t = to_threat(p, result, taken)
        if isinstance(t, str):
            dropped.append(t)
        else:
            taken.add(t.id)
            kept.append(t)
    return kept, dropped


__all__ = ["accept", "to_threat"]
