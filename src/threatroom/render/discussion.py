"""The stakeholder discussion as Markdown or JSON, and the roles table."""

from __future__ import annotations

from rich.console import Console
from rich.markdown import Markdown
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from ..agents.protocol import Discussion, Message
from .escape import md_block, md_cell as ec, md_inline as e

ROLE_STYLE = {
    "user": "white", "leader": "bold cyan", "threat_modeler": "magenta", "engineer": "green",
    "architect": "blue", "compliance_officer": "yellow", "business_stakeholder": "bright_red",
}


def role_label(role: str) -> str:
    return role.replace("_", " ").capitalize()


def gist(analysis: str) -> str:
    """The line under the heading: 'In short: ...' for the offline roles."""
    lines = [x for x in analysis.splitlines()[1:] if x.strip()]
    return (lines[0] if lines else analysis).removeprefix("In short: ")


def discussion_json(d: Discussion) -> str:
    return d.model_dump_json(indent=2) + "\n"


def discussion_markdown(d: Discussion) -> str:
    lines = [f"# Stakeholder discussion ({e(d.topology)} topology)", "", f"Task: {e(d.task)}", "",
             f"Status: {d.status}; {len(d.messages)} messages; {d.rejected_handovers} hand-overs refused.", ""]
    if d.partial:
        lines += [f"> **Partial record:** the exercise stopped early ({e(d.stop_reason or d.status)}); roles that had not spoken have no analysis.", ""]
    if d.llm:
        u = d.llm
        lines += [f"LLM: {e(u.model)}; {len(u.calls)} calls ({u.cached_calls} from cache); {u.input_tokens} input and {u.output_tokens} output tokens; "
                  f"${u.cost_usd:.4f}; {u.fallbacks} turn(s) taken by the offline agent.", ""]
    lines += ["## Roles", "", "| Member | Role | Analysis |", "| --- | --- | --- |"]
    for r in d.roles:
        lines.append(f"| {ec(r.member)} | {role_label(r.role)} | {ec(gist(r.analysis))} |")
    lines += ["", "## Conversation", ""]
    for m in d.messages:
        to = f" → {e(m.addressee)}" if m.addressee else (" (ends the exercise)" if m.terminate else "")
        lines += [f"### {m.index}. {e(m.speaker)} ({role_label(m.role)}){to}", ""]
        if m.handover_rejected:
            lines += [f"> Hand-over to {e(m.handover or '')} refused: {e(m.handover_rejected)}", ""]
        if m.note:
            lines += [f"> Note: {e(m.note)}", ""]
        lines += [_quote_user(m), ""]
    lines += ["## Role analyses", ""]
    for r in d.roles:
        lines += [f"### {e(r.member)}: {role_label(r.role)}", "", md_block(r.analysis) if r.by_llm else r.analysis, ""]
    return "\n".join(lines)


def _quote_user(m: Message) -> str:
    # Agents write Markdown with user text already escaped; a person's message is escaped here.
    if m.agent == "human" or m.role == "user":
        return "\n".join(e(line) for line in m.content.splitlines())
    return md_block(m.content) if m.by_llm else m.content


def print_message(m: Message, console: Console) -> None:
    style = ROLE_STYLE.get(m.role, "white")
    head = Text(f"{m.index}. {m.speaker} ({role_label(m.role)})", style=style)
    if m.addressee:
        head.append(f" → {m.addressee}")
    elif m.terminate:
        head.append(" · TERMINATE")
    body = Markdown(_quote_user(m)) if m.content else Text("(no content)")
    console.print(Panel(body, title=head, title_align="left", border_style=style))
    if m.handover_rejected:
        console.print(Text(f"hand-over to {m.handover} refused: {m.handover_rejected}", style="red"))
    if m.note:
        console.print(Text(f"note: {m.note}", style="yellow"))


def print_roles(d: Discussion, console: Console) -> None:
    table = Table(title=Text("Roles"), show_lines=True, expand=True)
    table.add_column("Member", no_wrap=True)
    table.add_column("Role", no_wrap=True)
    table.add_column("Analysis", ratio=1)
    for r in d.roles:
        table.add_row(Text(r.member), Text(role_label(r.role), style=ROLE_STYLE.get(r.role, "")), Text(gist(r.analysis)))
    console.print(table)
