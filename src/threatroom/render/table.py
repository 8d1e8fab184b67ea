"""A Rich table of the register for people at a terminal. User text is never markup."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..model.threats import ThreatModel

SEVERITY_STYLE = {"Critical": "bold red", "High": "red", "Medium": "yellow", "Low": "green"}


def print_table(result: ThreatModel, console: Console) -> None:
    table = Table(title=Text(f"Threats: {result.system.name}"), show_lines=False, expand=True)
    for col, kw in (
        ("Severity", {"no_wrap": True}),
        ("DREAD", {"justify": "right"}),
        ("STRIDE", {}),
        ("Element", {}),
        ("Threat", {"ratio": 3}),
        ("First mitigation", {"ratio": 2}),
    ):
        table.add_column(col, **kw)
    for t in result.threats:
        table.add_row(
            Text(t.severity.value, style=SEVERITY_STYLE[t.severity.value]),
            Text(f"{t.dread.score:.1f}"),
            Text(t.stride.value),
            Text(t.element_name),
            Text(t.title),
            Text(t.mitigations[0].title if t.mitigations else ""),
        )
    console.print(table)
    s = result.summary
    console.print(Text(f"{s.total} threats: " + ", ".join(f"{k} {v}" for k, v in s.by_severity.items())))
