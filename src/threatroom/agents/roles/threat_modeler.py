"""The threat modeler: the component / attack-vector table with STRIDE and DREAD, top risks."""

from __future__ import annotations

from collections import Counter, defaultdict

from ...model.vocabulary import Stride
from ..base import TurnContext
from .common import Analysis, e, ec, element, names, plural, rank, shorten

HEADING = "Threat Modeling Analysis:"
LETTERS = {s: s.value[0] if s != Stride.DENIAL_OF_SERVICE else "D" for s in Stride}


def analyze(ctx: TurnContext) -> Analysis:
    r = ctx.result
    label = names(r)
    by_element: dict[str, list] = defaultdict(list)
    for t in rank(r.threats):
        by_element[element(t)].append(t)
    ordered = sorted(by_element.items(), key=lambda kv: (-kv[1][0].dread.score, kv[0]))
    sev = ", ".join(f"{v} {k}" for k, v in r.summary.by_severity.items() if v)
    lines = [
        f"{plural(len(r.threats), 'threat')} across {plural(len(r.components), 'component')} and "
        f"{plural(len(r.flows), 'data flow')} ({sev}).",
        "",
        "| Component | Attack vector | STRIDE | D | R | E | A | D | DREAD | Severity |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    rows = 0
    for el, threats in ordered:
        for t in threats[:2]:
            d = t.dread
            lines.append(
                f"| {ec(label.get(el, el))} | {ec(shorten(t.attack_vector, 110))} | {t.stride.value} | {d.damage} | "
                f"{d.reproducibility} | {d.exploitability} | {d.affected_users} | {d.discoverability} | {d.score:.1f} | {t.severity.value} |"
            )
            rows += 1
        if rows >= 24:
            break
    lines += ["", "Top risks:"]
    for n, tid in enumerate(r.top_priorities[:5], start=1):
        t = r.threat(tid)
        raised = [getattr(t.dread.rationale, f) for f in ("exploitability", "damage", "affected_users")]
        because = "; ".join(x.split(", ", 1)[1] for x in raised if ", " in x)
        why = f" — raised because {e(because)}" if because else ""
        lines.append(f"{n}. {e(t.title)} ({t.stride.value}, {t.severity.value}, DREAD {t.dread.score:.1f}){why}")
    counts = Counter((element(t), t.stride) for t in r.threats)
    lines += ["", "STRIDE coverage of the most exposed elements:", "", "| Element | S | T | R | I | D | E |", "| --- | --- | --- | --- | --- | --- | --- |"]
    for el, _ in ordered[:8]:
        cells = " | ".join(str(counts.get((el, s), 0)) for s in Stride)
        lines.append(f"| {ec(label.get(el, el))} | {cells} |")
    top = r.threat(r.top_priorities[0]) if r.top_priorities else None
    summary = f"{plural(len(r.threats), 'threat')}, worst: {top.title} ({top.severity.value})" if top else "no threats found"
    return Analysis(HEADING, summary, "\n".join(lines))
