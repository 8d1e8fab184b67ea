"""The engineer: coding pitfalls for each technology present, with fixes and config/code hints."""

from __future__ import annotations

from collections import defaultdict

from ...model.threats import Threat
from ..base import TurnContext
from .common import Analysis, e, names, plural, rank
from .config import roles_config

HEADING = "Engineering Discussion:"
CODE_CAUSES = frozenset(
    {"sql-injection", "nosql-injection", "xss", "csrf", "ssrf", "ssti", "insecure-deserialization", "mass-assignment",
     "path-traversal", "open-redirect", "xxe", "idor", "broken-access-control", "prototype-pollution", "csv-injection",
     "unrestricted-file-upload", "jwt-validation", "weak-password-storage", "session-hijacking", "debug-exposure"}
)


def analyze(ctx: TurnContext) -> Analysis:
    cfg = roles_config().engineer
    r, kb = ctx.result, ctx.kb
    label = names(r)
    comp_type = {c.id: c.type for c in r.components}
    relevant = set(cfg.code_types) | set(cfg.data_types)
    # technology -> the threats that are about it (the rule matched that technology)
    per_tech: dict[str, list[Threat]] = defaultdict(list)
    for t in rank(r.threats):
        if t.component_id is None or comp_type.get(t.component_id) not in relevant:
            continue
        for tid in t.technologies:
            per_tech[tid].append(t)
    techs = sorted(per_tech, key=lambda tid: (-per_tech[tid][0].dread.score, tid))[: cfg.technologies]
    lines = [f"Coding pitfalls for the {plural(len(techs), 'technology')} in this design, worst first, each with the fix:"]
    fixes = 0
    for tid in techs:
        tech = kb.technologies.get(tid)
        where = sorted({label[t.component_id or ""] for t in per_tech[tid]})
        lines += ["", f"**{e(tech.name if tech else tid)}** (in {e(', '.join(where))})"]
        for t in per_tech[tid][: cfg.pitfalls_per_technology]:
            m = next((m for m in t.mitigations if m.hints), t.mitigations[0])
            hint = f" Hint: {e(m.hints[0])}" if m.hints else ""
            lines.append(f"- Pitfall: {e(t.title)} ({t.stride.value}, {t.severity.value}). Fix: {e(m.title)}.{hint}")
            fixes += 1
    generic = [t for t in rank(r.threats) if t.component_id and comp_type.get(t.component_id) in set(cfg.code_types)
               and not t.technologies and ctx.kb.rule(t.rule_id).cause in CODE_CAUSES]
    if generic:
        lines += ["", "For code the design does not tie to a named framework:"]
        seen: set[str] = set()
        for t in generic:
            cause = ctx.kb.rule(t.rule_id).cause
            if cause in seen:
                continue
            seen.add(cause)
            lines.append(f"- {e(t.title)}: {e(t.mitigations[0].title)}.")
            if len(seen) == 5:
                break
    if not techs and not generic:
        lines.append("No technology-specific coding pitfalls: the model names no frameworks or libraries. Name them to get specific advice.")
    first = per_tech[techs[0]][0].title if techs else "none"
    summary = f"{plural(fixes, 'pitfall')} across {plural(len(techs), 'technology')}; first: {first}"
    return Analysis(HEADING, summary, "\n".join(lines))
