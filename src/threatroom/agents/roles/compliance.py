"""The compliance officer: which regimes apply, threats mapped to article/control ids, gaps."""

from __future__ import annotations

from collections import defaultdict

from ...model.threats import Threat
from ...model.vocabulary import SEVERITY_ORDER, Severity
from ..base import TurnContext
from .common import Analysis, e, ec, plural, rank

HEADING = "Compliance Discussion:"


def applicable(ctx: TurnContext) -> list[tuple[str, str]]:
    """(regime id, reason) for each regime that applies to this system."""
    r, kb = ctx.result, ctx.kb
    data = set(r.system.data_classifications)
    for c in r.components:
        if c.attributes.data_classes != "unknown":
            data |= set(c.attributes.data_classes)
    data |= {a.classification for a in r.data_assets}
    for f in r.flows:
        data |= set(f.data_classes)
    features = {f.value for c in r.components for f in c.features}
    domain_words = set((r.system.domain or "").lower().replace("-", " ").split())
    out = []
    for regime in kb.regimes.values():
        w = regime.applies_when
        reasons = []
        if w.always:
            reasons.append(f"a baseline {regime.kind} that customers and auditors ask for whatever the data")
        hit_data = sorted(d.value for d in set(w.data) & data)
        if hit_data:
            reasons.append(f"the system handles {', '.join(hit_data)}")
        hit_dom = sorted(domain_words & {d.lower() for d in w.domains})
        if hit_dom:
            reasons.append(f"the domain is {', '.join(hit_dom)}")
        hit_feat = sorted(features & set(w.features))
        if hit_feat:
            reasons.append(f"it has {', '.join(hit_feat)}")
        if reasons:
            out.append((regime.id, "; ".join(reasons)))
    return out


def analyze(ctx: TurnContext) -> Analysis:
    r, kb = ctx.result, ctx.kb
    regimes = applicable(ctx)
    lines = []
    if not kb.regimes:
        lines.append("The knowledge base has no compliance mappings; add regimes, control themes and cause mappings.")
        return Analysis(HEADING, "no compliance knowledge", "\n".join(lines))
    lines.append("Regimes in scope:")
    for rid, why in regimes:
        reg = kb.regimes[rid]
        lines.append(f"- **{e(reg.name)}** ({e(reg.full_name)}): {e(why)}.")
    # control -> threats, per regime
    gaps = []
    unmapped: set[str] = set()
    for rid, _ in regimes:
        per_control: dict[str, list[Threat]] = defaultdict(list)
        for t in rank(r.threats):
            cause = kb.rule(t.rule_id).cause
            themes = kb.cause_themes.get(cause)
            if not themes:
                unmapped.add(cause)
                continue
            for control in _controls(kb, tuple(themes), rid):
                per_control[control].append(t)
        if not per_control:
            continue
        reg = kb.regimes[rid]
        ranked = sorted(per_control.items(), key=lambda kv: (-SEVERITY_ORDER[_worst(kv[1])], -len(kv[1]), kv[0]))
        lines += ["", f"{e(reg.name)}: {plural(len(per_control), 'control')} touched by open threats.", "",
                  "| Control | Threats | Worst | Example |", "| --- | --- | --- | --- |"]
        for control, threats in ranked[:8]:
            lines.append(f"| {ec(control)} | {len(threats)} | {_worst(threats).value} | {ec(threats[0].title)} |")
        for control, threats in ranked:
            if SEVERITY_ORDER[_worst(threats)] >= SEVERITY_ORDER[Severity.HIGH]:
                gaps.append((reg.name, control, threats[0]))
    lines += ["", "Gaps (controls with a High or Critical threat open against them):"]
    if gaps:
        for name, control, t in gaps[:10]:
            lines.append(f"- {e(name)} {e(control)}: {e(t.title)} on {e(t.element_name)} — {e(t.mitigations[0].title)}.")
    else:
        lines.append("- none at High or Critical; the Medium findings above still need owners and dates.")
    if unmapped:
        lines.append(f"\nCauses with no control mapping yet: {e(', '.join(sorted(unmapped)))}.")
    names_ = ", ".join(kb.regimes[rid].name for rid, _ in regimes)
    summary = f"{plural(len(regimes), 'regime')} in scope ({names_}); {plural(len(gaps), 'gap')} at High or above"
    return Analysis(HEADING, summary, "\n".join(lines))


def _controls(kb, themes: tuple[str, ...], regime: str) -> list[str]:
    """The distinct control ids of a regime that cover these themes."""
    out: list[str] = []
    for theme in themes:
        for control in kb.control_themes[theme].controls.get(regime, []):
            if control not in out:
                out.append(control)
    return out


def _worst(threats: list[Threat]) -> Severity:
    return max((t.severity for t in threats), key=lambda s: SEVERITY_ORDER[s])
