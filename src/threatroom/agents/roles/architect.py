"""The architect: weak points of the design and the architectural change for each."""

from __future__ import annotations

from ...model.vocabulary import SEVERITY_ORDER, ZoneKind
from ..base import TurnContext
from .common import Analysis, e, names, plural, rank
from .config import roles_config

HEADING = "Architecture Discussion:"


def analyze(ctx: TurnContext) -> Analysis:
    r, kb = ctx.result, ctx.kb
    label = names(r)
    cause_of = {t.id: kb.rule(t.rule_id).cause for t in r.threats}
    points = []
    for cat in roles_config().architect.categories:
        hits = [t for t in rank(r.threats) if cause_of[t.id] in cat.causes]
        if not hits:
            continue
        worst = max(hits, key=lambda t: (SEVERITY_ORDER[t.severity], t.dread.score))
        where = sorted({label.get(t.component_id or t.flow_id or "", "") for t in hits})
        points.append((SEVERITY_ORDER[worst.severity], worst.dread.score, len(hits), cat, hits, where))
    points.sort(key=lambda p: (-p[0], -p[1], -p[2], p[3].id))
    zones = {z.id: z.kind for z in r.trust_boundaries}
    comp_zone = {c.id: c.zone for c in r.components}
    crossings = [f for f in r.flows if f.crosses_boundary]
    unprotected = [f for f in crossings if f.encrypted is not True or f.authenticated is not True]
    lines = [
        f"{plural(len(points), 'weak point')} in the design, from {plural(len(r.trust_boundaries), 'trust zone')} "
        f"and {plural(len(crossings), 'boundary crossing')} ({len(unprotected)} without confirmed TLS and authentication).",
    ]
    for n, (_, _, count, cat, hits, where) in enumerate(points, start=1):
        shown = ", ".join(where[:5]) + (f" and {len(where) - 5} more" if len(where) > 5 else "")
        lines += [
            "",
            f"{n}. **{e(cat.title)}**: {plural(count, 'threat')}, worst {hits[0].severity.value} ({e(hits[0].title)}). Where: {e(shown)}.",
            f"   Change: {e(cat.change)}",
        ]
    if unprotected:
        lines += ["", "Boundary crossings to secure first:"]
        for f in unprotected[:6]:
            src_zone = zones.get(comp_zone.get(f.source) or "")
            dst_zone = zones.get(comp_zone.get(f.target) or "")
            missing = [w for w, ok in (("TLS", f.encrypted is True), ("caller authentication", f.authenticated is True)) if not ok]
            lines.append(
                f"- {e(label[f.source])} ({_zone(src_zone)}) → {e(label[f.target])} ({_zone(dst_zone)}): "
                f"{e(f.label)}; not confirmed: {', '.join(missing)}"
            )
    if not points and not unprotected:
        lines.append("No architectural weak points found in the register for this model.")
    summary = (f"{plural(len(points), 'weak point')}; first: {points[0][3].title}" if points else "no architectural weak points")
    return Analysis(HEADING, summary, "\n".join(lines))


def _zone(kind: ZoneKind | None) -> str:
    return kind.value.replace("_", " ") if kind else "no zone"
