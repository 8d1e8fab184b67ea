"""Markdown threat register: summary, top priorities, the register, warnings."""

from __future__ import annotations

from ..model.threats import Threat, ThreatModel
from .escape import md_cell as ec, md_inline as e


def _row(t: Threat) -> str:
    mit = "; ".join(m.title for m in t.mitigations[:3])
    refs = ", ".join(t.cwe + t.capec)
    return (
        f"| {ec(t.id)} | {ec(t.element_name)} | {t.stride.value} | {ec(t.title)} | {t.dread.score:.1f} | "
        f"{t.severity.value} | {ec(mit)} | {ec(refs)} |"
    )


def to_markdown(result: ThreatModel) -> str:
    lines = [f"# Threat model: {e(result.system.name)}", ""]
    if result.system.description:
        lines += [e(result.system.description), ""]
    s = result.summary
    sev = ", ".join(f"{k}: {v}" for k, v in s.by_severity.items())
    lines += [
        f"{len(result.components)} components, {len(result.flows)} flows, "
        f"{len(result.trust_boundaries)} trust boundaries; {s.total} threats ({sev}).",
        "",
        "## Top priorities",
        "",
    ]
    for n, tid in enumerate(result.top_priorities, start=1):
        t = result.threat(tid)
        lines.append(f"{n}. **{e(t.title)}** ({t.severity.value}, DREAD {t.dread.score:.1f}) on {e(t.element_name)}")
        if t.mitigations:
            lines.append(f"   - {e(t.mitigations[0].title)}")
    lines += ["", "## Components", "", "| Id | Name | Type | Technologies | Internet-facing |", "| --- | --- | --- | --- | --- |"]
    for c in result.components:
        lines.append(
            f"| {ec(c.id)} | {ec(c.name)} | {c.type.value} | {ec(', '.join(c.technology_names))} | "
            f"{e(str(c.attributes.internet_facing))} |"
        )
    lines += [
        "",
        "## Threat register",
        "",
        "| Id | Element | STRIDE | Threat | DREAD | Severity | Mitigations | CWE/CAPEC |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    lines += [_row(t) for t in result.threats]
    lines += ["", "## Threat details", ""]
    for t in result.threats:
        lines += [f"### {e(t.title)}", "", f"`{e(t.id)}` · {t.stride.value} · {t.severity.value} · DREAD {t.dread.score:.1f}", ""]
        lines += [e(t.description), "", f"*Attack vector:* {e(t.attack_vector)}", ""]
        r = t.dread.rationale
        for factor in ("damage", "reproducibility", "exploitability", "affected_users", "discoverability"):
            lines.append(f"- {factor.replace('_', ' ')}: {e(getattr(r, factor))}")
        lines += ["", "Mitigations:", ""]
        for m in t.mitigations:
            lines.append(f"- **{e(m.title)}**" + (f": {e(m.description)}" if m.description else ""))
            for h in m.hints:
                lines.append(f"  - {e(h)}")
        lines.append("")
    if result.warnings:
        lines += ["## Warnings", ""]
        lines += [f"- {e(w.message)}" + (f" (`{e(w.path)}`)" if w.path else "") for w in result.warnings]
        lines.append("")
    return "\n".join(lines)
