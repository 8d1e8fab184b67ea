"""The business stakeholder: critical assets, business impact of the top threats, and a
prioritized plan (now / next / later) with effort."""

from __future__ import annotations

from ...model.threats import Threat
from ...model.vocabulary import DATA_SENSITIVITY, SEVERITY_ORDER, DataClass, Severity
from ..base import TurnContext
from .common import Analysis, component_facts, e, plural, rank
from .config import ImpactRule, roles_config

HEADING = "Business Discussion:"
DATA_WORDS = {
    DataClass.PHI: "health records", DataClass.PAYMENT_CARD: "payment card data", DataClass.CREDENTIALS: "credentials",
    DataClass.PII: "personal data", DataClass.FINANCIAL: "financial records", DataClass.INTERNAL: "internal data",
    DataClass.PUBLIC: "public content",
}


def impacts(t: Threat, ctx: TurnContext) -> list[str]:
    cfg = roles_config().business
    facts = component_facts(ctx)
    el = t.component_id or (next((f.target for f in ctx.result.flows if f.id == t.flow_id), None))
    cf = facts.get(el or "")
    out: list[str] = []
    for rule in cfg.impacts:
        if rule.impact not in out and _holds(rule, t, cf):
            out.append(rule.impact)
    return out


def _holds(rule: ImpactRule, t: Threat, cf) -> bool:
    if t.stride not in rule.stride:
        return False
    if cf is None:
        return not (rule.data or rule.features or rule.types or rule.internet_facing is not None)
    if rule.data and not (set(rule.data) & cf.data):
        return False
    if rule.features and not ({f.value for f in rule.features} & cf.features):
        return False
    if rule.types and cf.type not in rule.types:
        return False
    return rule.internet_facing is None or cf.internet_facing == rule.internet_facing


def analyze(ctx: TurnContext) -> Analysis:
    r = ctx.result
    cfg = roles_config().business
    facts = component_facts(ctx)
    # Critical assets: where the most sensitive data sits, exposed ones first.
    assets = []
    for c in r.components:
        cf = facts[c.id]
        if not cf.data:
            continue
        top = max(cf.data, key=lambda d: DATA_SENSITIVITY[d])
        assets.append((DATA_SENSITIVITY[top], cf.internet_facing is True, c.name, sorted(cf.data, key=lambda d: -DATA_SENSITIVITY[d])))
    assets.sort(key=lambda a: (-a[0], -a[1], a[2]))
    lines = ["Critical assets:"]
    if assets:
        for _, exposed, name, data in assets[:6]:
            what = ", ".join(DATA_WORDS[d] for d in data)
            lines.append(f"- {e(name)}: {e(what)}" + (" (reachable from the internet)" if exposed else ""))
    else:
        lines.append("- the model does not say which data the system holds; until it does, every store counts as critical.")
    lines += ["", "Business impact of the top threats:"]
    for tid in r.top_priorities[:5]:
        t = r.threat(tid)
        hit = impacts(t, ctx) or ["reputation"]
        lines.append(f"- {e(t.title)} ({t.severity.value}): {', '.join(cfg.labels[i] for i in hit)}.")
    plan = _plan(ctx)
    for phase, items in plan:
        lines += ["", f"{phase}:"]
        if not items:
            lines.append("- nothing at this level.")
        for title, threats, effort in items:
            worst = max(threats, key=lambda t: SEVERITY_ORDER[t.severity])
            lines.append(f"- {e(title)}: closes {plural(len(threats), 'threat')} (worst {worst.severity.value}); effort {effort}.")
    now = plan[0][1]
    summary = f"{plural(len(assets), 'critical asset')}; do now: {now[0][0] if now else 'nothing urgent'}"
    return Analysis(HEADING, summary, "\n".join(lines))


def _plan(ctx: TurnContext) -> list[tuple[str, list[tuple[str, list[Threat], str]]]]:
    """Group threats by the mitigation that closes the most of them (greedy cover)."""
    cfg = roles_config().business
    r, kb = ctx.result, ctx.kb
    ranked = rank(r.threats)
    first3 = set(r.top_priorities[:3])
    now = [t for t in ranked if SEVERITY_ORDER[t.severity] >= SEVERITY_ORDER[Severity.HIGH] or t.id in first3]
    taken = {t.id for t in now}
    rest = [t for t in ranked if t.id not in taken]
    nxt = [t for t in rest if t.severity == Severity.MEDIUM][: max(10, len(rest) // 3)]
    taken |= {t.id for t in nxt}
    phases = {"Now (this sprint)": now, "Next (this quarter)": nxt, "Later (backlog)": [t for t in rest if t.id not in taken]}
    out = []
    for phase, threats in phases.items():
        todo = list(threats)
        items = []
        while todo and len(items) < cfg.plan_size:
            counts: dict[str, list[Threat]] = {}
            titles: dict[str, str] = {}
            rank_sum: dict[str, int] = {}
            for t in todo:
                for pos, m in enumerate(t.mitigations):
                    counts.setdefault(m.id, []).append(t)
                    titles[m.id] = m.title
                    rank_sum[m.id] = rank_sum.get(m.id, 0) + pos
            # Most threats closed first; then the fix the rules list first (the primary one).
            best = max(counts, key=lambda k: (len(counts[k]), max(x.dread.score for x in counts[k]), -rank_sum[k] / len(counts[k]), k))
            closed = counts[best]
            items.append((titles[best], closed, _effort(closed, kb, cfg.high_effort_causes)))
            done = {t.id for t in closed}
            todo = [t for t in todo if t.id not in done]
        out.append((phase, items))
    return out


def _effort(threats: list[Threat], kb, high: list[str]) -> str:
    if any(kb.rule(t.rule_id).cause in high for t in threats):
        return "high (architecture change)"
    if any(m.hints for t in threats for m in t.mitigations[:1]):
        return "low (configuration or code change)"
    return "medium"
