"""The report as Markdown, with Mermaid blocks for the diagrams. User text is escaped."""

from __future__ import annotations

from ..escape import md_block, md_cell as ec, md_inline as e
from .build import Report


def _fence(text: str, lang: str = "") -> str:
    ticks = "```"
    while ticks in text:
        ticks += "`"
    return f"{ticks}{lang}\n{text.rstrip()}\n{ticks}"


def to_markdown_report(r: Report) -> str:
    m = r.result
    names = {c.id: c.name for c in m.components}
    out = [f"# Threat model: {e(m.system.name)}", "",
           f"Generated {r.generated_at} by threatroom {r.version} from {e(r.source_name)}. "
           f"{len(m.components)} components, {len(m.flows)} data flows, {len(m.trust_boundaries)} trust zones, {len(m.threats)} threats.",
           ""]
    if r.offline:
        out += ["Offline analysis: no language model was used and it cost $0.", ""]
    if r.discussion and r.discussion.partial:
        out += [f"> **Partial result:** the stakeholder discussion stopped early ({e(r.discussion.stop_reason or r.discussion.status)}). "
                "The threat register is complete; missing role analyses are marked as not available.", ""]
    out += ["## Executive summary", "", " · ".join(f"{k}: {v}" for k, v in reversed(m.summary.by_severity.items())), "", "Top priorities:", ""]
    for n, p in enumerate(r.priorities, start=1):
        t = p.threat
        out.append(f"{n}. **{e(t.title)}** ({t.severity.value}, {t.stride.value}, DREAD {t.dread.score:.1f}) on {e(t.element_name)}. "
                   f"Why it matters: {e('; '.join(p.why))}. First fix: {e(t.mitigations[0].title)}.")
    out += ["", "## Scope, assumptions and the model", ""]
    out += [f"- {e(a)}" for a in m.system.assumptions] or ["No assumptions were needed."]
    out += ["", "| Id | Name | Type | Technologies | Zone |", "| --- | --- | --- | --- | --- |"]
    out += [f"| {ec(c.id)} | {ec(c.name)} | {c.type.value} | {ec(', '.join(c.technology_names))} | {ec(c.zone or '')} |" for c in m.components]
    out += ["", "| # | From | To | Label | Crosses a boundary |", "| --- | --- | --- | --- | --- |"]
    out += [f"| {i} | {ec(names[f.source])} | {ec(names[f.target])} | {ec(f.label)} | {'yes' if f.crosses_boundary else 'no'} |" for i, f in enumerate(m.flows, 1)]
    out += ["", "## Data-flow diagram", "", _fence(r.dfd_mermaid, "mermaid"), "", "## Threat register", "",
            "| Element | STRIDE | Threat | DREAD | Severity | Mitigations | CWE/CAPEC |", "| --- | --- | --- | --- | --- | --- | --- |"]
    for t in m.threats:
        mit = "; ".join(x.title for x in t.mitigations[:3])
        llm = " (proposed by the LLM)" if t.source == "llm" else ""
        if t.triage is not None:
            llm += f" [{t.triage.status.replace('_', ' ')}{': ' + e(t.triage.note) if t.triage.note else ''}]"
        out.append(f"| {ec(t.element_name)} | {t.stride.value} | {ec(t.title)}{llm} | {t.dread.score:.1f} | {t.severity.value} | {ec(mit)} | {ec(', '.join(t.cwe + t.capec))} |")
    out += ["", "## Attack trees", ""]
    for tr in r.trees:
        out += [f"### Goal: {e(tr.goal)}", "", _fence(tr.mermaid, "mermaid"), ""]
    out += ["## Stakeholder discussion", ""]
    if r.discussion:
        out += ["| Member | Role | Analysis |", "| --- | --- | --- |"]
        for ra in r.discussion.roles:
            gist = next((x for x in ra.analysis.splitlines()[1:] if x.strip()), "").removeprefix("In short: ")
            out.append(f"| {ec(ra.member)} | {ra.role.replace('_', ' ')} | {ec(gist)} |")
        for ra in r.discussion.roles:
            out += ["", f"### {e(ra.member)}: {ra.role.replace('_', ' ')}", "", md_block(ra.analysis) if ra.by_llm else ra.analysis]
    for title, role in (("Compliance summary", "compliance_officer"), ("Action plan", "business_stakeholder")):
        ra = next((x for x in r.discussion.roles if x.role == role), None) if r.discussion else None
        text = (md_block(ra.analysis) if ra.by_llm else ra.analysis) if ra else None
        out += ["", f"## {title}", "", text or "Not available: the discussion was not run."]
    out += ["", "## Security test cases", "", _fence(r.feature, "gherkin"), "", "## Appendix", "", f"### Original input ({e(r.source_name)})", "",
            _fence(r.source_text), "", "### Usage and cost", ""]
    if r.offline:
        out.append("Produced offline: no language model was called, no tokens were used, cost $0.")
    out += ["", "| Agent | Messages | Input tokens | Output tokens | Cost (USD) |", "| --- | --- | --- | --- | --- |"]
    out += [f"| {ec(u.agent)} | {u.messages} | {u.input_tokens} | {u.output_tokens} | {u.cost_usd:.4f} |" for u in r.usage]
    if r.discussion and r.discussion.llm:
        out += ["", *_llm_section(r.discussion.llm)]
    if r.discussion:
        out += ["", "### Conversation log", ""]
        for msg in r.discussion.messages:
            to = f" → {e(msg.addressee)}" if msg.addressee else ""
            if msg.agent == "human" or msg.role == "user":
                body = "\n".join(e(x) for x in msg.content.splitlines())
            else:
                body = md_block(msg.content) if msg.by_llm else msg.content
            note = f" · {e(msg.note)}" if msg.note else ""
            out += [f"**{msg.index}. {e(msg.speaker)} ({msg.role.replace('_', ' ')}){to}** · {e(msg.agent)} · {e(msg.timestamp)}{note}", "", body, ""]
    return "\n".join(out) + "\n"


def _llm_section(u) -> list[str]:  # type: ignore[no-untyped-def]
    budget = ", ".join(x for x in (f"max ${u.max_cost:g}" if u.max_cost else "", f"max {u.max_tokens} tokens" if u.max_tokens else "") if x) or "none"
    out = ["### Language model", "",
           f"- Model: {e(u.model)}" + (f" at {e(u.endpoint)}" if u.endpoint else ""),
           f"- Calls: {len(u.calls)} ({u.cached_calls} served from the response cache)",
           f"- Tokens: {u.input_tokens} input, {u.output_tokens} output (as reported by the provider)",
           f"- Cost: ${u.cost_usd:.4f}, priced with {e(u.price_source)}" + ("; no price is known for this model" if any(not c.price_known for c in u.calls if not c.cached) else ""),
           f"- Budget: {e(budget)}",
           f"- Turns taken by the offline agent: {u.fallbacks}",
           f"- Prompt templates: {e(', '.join(u.prompts.values()))}",
           f"- Threats added by the LLM: {len(u.threats_added)}; proposals dropped: {len(u.proposals_dropped)}"]
    out += [f"  - dropped: {e(d)}" for d in u.proposals_dropped]
    if u.events:
        out += ["", "Events:", ""] + [f"- {e(x)}" for x in u.events]
    return out
