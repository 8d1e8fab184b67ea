"""The threat register as CSV, safe to open in a spreadsheet.

Element names, titles and descriptions come from the user's input, so every cell is
defended against CSV (formula) injection:

* line breaks inside a cell (``\\n``, ``\\r``, ``\\r\\n``, and the other Unicode line
  boundaries) become single spaces, so each threat is exactly one line of the file;
* a cell whose first non-blank character could start a formula (``=``, ``+``, ``-``,
  ``@``, their full-width forms, or a leading tab or carriage return) gets a leading
  single quote, which spreadsheets show as text and never evaluate;
* every cell is quoted, so a ``,`` or ``;`` inside a cell can't split it into a new cell
  whatever list separator the spreadsheet's locale uses.

Rows follow the register's order; the output is deterministic, byte for byte.
"""

from __future__ import annotations

import csv
import io
import re

from ..model.threats import Threat, ThreatModel

COLUMNS: tuple[str, ...] = (
    "id",
    "element",
    "component_id",
    "flow_id",
    "stride",
    "title",
    "severity",
    "dread_score",
    "damage",
    "reproducibility",
    "exploitability",
    "affected_users",
    "discoverability",
    "cwe",
    "capec",
    "mitigations",
    "description",
    "triage_status",
    "triage_note",
)

#: First characters a spreadsheet may read as the start of a formula (or, for tab and
#: carriage return, that hide one behind whitespace).
FORMULA_TRIGGERS = frozenset("=+-@\t\r\uff1d\uff0b\uff0d\uff20")

_LINE_BREAKS = re.compile(r"\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]")


def safe_cell(value: object) -> str:
    """A cell value that a spreadsheet shows as text: one line, never a formula."""
    raw = "" if value is None else str(value)
    text = _LINE_BREAKS.sub(" ", raw)
    stripped = text.lstrip(" \t\u00a0\u3000")
    if raw[:1] in FORMULA_TRIGGERS or stripped[:1] in FORMULA_TRIGGERS:
        text = "'" + text
    return text


def _row(t: Threat) -> list[str]:
    d = t.dread
    values: list[object] = [
        t.id,
        t.element_name,
        t.component_id or "",
        t.flow_id or "",
        str(t.stride),
        t.title,
        str(t.severity),
        f"{d.score:.1f}",
        d.damage,
        d.reproducibility,
        d.exploitability,
        d.affected_users,
        d.discoverability,
        "; ".join(t.cwe),
        "; ".join(t.capec),
        "; ".join(m.title for m in t.mitigations),
        t.description,
        t.triage.status if t.triage else "",
        t.triage.note if t.triage else "",
    ]
    return [safe_cell(v) for v in values]


def to_csv(result: ThreatModel) -> str:
    """The threat register as CSV text: a header row, then one row per threat (CRLF line ends)."""
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for t in result.threats:
        writer.writerow(_row(t))
    return buf.getvalue()
