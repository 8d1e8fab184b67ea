"""Data-flow diagrams of a threat model, as Graphviz DOT and as Mermaid.

External entities are boxes, processes ellipses (stadiums in Mermaid), data stores
cylinders; trust boundaries are dashed red clusters named after the zone; flows are
numbered in model order and drawn bold red where they cross a trust boundary. Nodes
can be filled by the highest severity of their threats.

Every piece of user text (names, labels, zone names) goes through :func:`dot_quote`
or :func:`mermaid_text`; user ids never become DOT or Mermaid identifiers: nodes are
``n1, n2...`` and clusters ``cluster_z1...`` in model order. The escaping helpers here
are shared with the attack-tree renderer.
"""

from __future__ import annotations

import html
import textwrap
import unicodedata
from collections.abc import Iterable

from ..engine.facts import TYPE_LABELS
from ..model.system import Flow, TrustBoundary
from ..model.threats import ComponentOut, ThreatModel
from ..model.vocabulary import DATA_STORE_TYPES, EXTERNAL_TYPES, SEVERITY_ORDER, Severity, ZoneKind

# --------------------------------------------------------------------------- escaping

_LINE_BREAKS = frozenset("\t\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029")
_DOT_SPECIAL = {"\\": "\\\\", '"': '\\"', "{": "\\{", "}": "\\}", "<": "\\<", ">": "\\>", "|": "\\|"}
_MERMAID_SAFE = frozenset(" .,:-_/'!?+=@$~^*")


def clean_text(text: object, limit: int = 160) -> str:
    """One line of printable text: line breaks become spaces, control, format and
    surrogate characters (not allowed in XML, or able to reorder text) are dropped,
    runs of spaces collapse, and text longer than ``limit`` is cut with an ellipsis."""
    out: list[str] = []
    for ch in str(text):
        if ch in _LINE_BREAKS:
            out.append(" ")
        elif unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Cn") or ch in "\ufffe\uffff":
            continue
        else:
            out.append(ch)
    line = " ".join("".join(out).split())
    if len(line) > limit:
        line = line[: max(limit - 1, 1)].rstrip() + "\u2026"
    return line


def dot_escape(text: object, limit: int = 160) -> str:
    """User text for the inside of a double-quoted DOT string (no quotes added).

    Backslashes are doubled (so ``\\N``, ``\\l``... stay literal), double quotes escaped,
    and ``{ } < > |`` backslash-escaped so the text is inert even in a record label."""
    return "".join(_DOT_SPECIAL.get(ch, ch) for ch in clean_text(text, limit))


def dot_quote(text: object, limit: int = 160) -> str:
    """User text as a complete double-quoted DOT string."""
    return f'"{dot_escape(text, limit)}"'


def dot_label(lines: Iterable[str], width: int = 0) -> str:
    """A quoted DOT label made of several lines of user text, each optionally wrapped
    at ``width`` characters; lines are joined with DOT's centred line break."""
    parts: list[str] = []
    for line in lines:
        text = clean_text(line)
        if not text:
            continue
        wrapped = textwrap.wrap(text, width, break_long_words=True) if width > 0 else [text]
        if len(wrapped) > 4:
            wrapped = wrapped[:3] + [wrapped[3].rstrip(".,;: ") + "\u2026"]
        parts.extend(dot_escape(w) for w in wrapped)
    return '"' + "\\n".join(parts) + '"'


def mermaid_text(text: object, limit: int = 160) -> str:
    """User text for the inside of a double-quoted Mermaid label (no quotes added).

    Letters, digits, spaces and harmless punctuation are kept; every other character
    (quotes, ``< > & # ; | [ ] ( ) { }``, backticks...) becomes a Mermaid entity code
    such as ``#34;``, which Mermaid shows as the character itself."""
    out: list[str] = []
    for ch in clean_text(text, limit):
        if ch.isalnum() or ch in _MERMAID_SAFE:
            out.append(ch)
        else:
            out.append(f"#{ord(ch)};")
    return "".join(out)


def html_text(text: object, limit: int = 160) -> str:
    """User text for a Graphviz HTML-like label (entity-escaped)."""
    return html.escape(clean_text(text, limit), quote=True)


# --------------------------------------------------------------------------- palette

#: Fill colour per severity: light tints, readable with black text.
SEVERITY_FILL: dict[Severity, str] = {
    Severity.CRITICAL: "#f4a3a3",
    Severity.HIGH: "#f9c78f",
    Severity.MEDIUM: "#fbe7a1",
    Severity.LOW: "#cfe8c8",
}
NO_THREAT_FILL = "#ffffff"
BOUNDARY_COLOR = "#c0392b"
FLOW_COLOR = "#555555"
_FONT = "Helvetica"


def highest_severity(result: ThreatModel) -> dict[str, Severity]:
    """The highest severity among the threats of each component, by component id."""
    worst: dict[str, Severity] = {}
    for t in result.threats:
        if t.component_id is None:
            continue
        current = worst.get(t.component_id)
        if current is None or SEVERITY_ORDER[t.severity] > SEVERITY_ORDER[current]:
            worst[t.component_id] = t.severity
    return worst


def node_kind(component: ComponentOut, zones: dict[str, TrustBoundary]) -> str:
    """``external``, ``store`` or ``process``: how a component is drawn in a DFD."""
    zone = zones.get(component.zone or "")
    if component.type in EXTERNAL_TYPES or (zone is not None and zone.kind == ZoneKind.THIRD_PARTY):
        return "external"
    if component.type in DATA_STORE_TYPES:
        return "store"
    return "process"


def flow_crosses(flow: Flow, comps: dict[str, ComponentOut]) -> bool:
    """Whether a flow crosses a trust boundary (declared, else from the ends' zones)."""
    if flow.crosses_boundary is not None:
        return flow.crosses_boundary
    src, dst = comps.get(flow.source), comps.get(flow.target)
    return src is not None and dst is not None and (src.zone or "") != (dst.zone or "")


class _Layout:
    """Generated identifiers and the zone tree, shared by the DOT and Mermaid writers."""

    def __init__(self, result: ThreatModel) -> None:
        self.result = result
        self.comps = {c.id: c for c in result.components}
        self.zones = {z.id: z for z in result.trust_boundaries}
        self.node_id = {c.id: f"n{i}" for i, c in enumerate(result.components, start=1)}
        self.zone_id = {z.id: f"z{i}" for i, z in enumerate(result.trust_boundaries, start=1)}
        self.members: dict[str | None, list[ComponentOut]] = {}
        for c in result.components:
            key = c.zone if c.zone in self.zones else None
            self.members.setdefault(key, []).append(c)
        self.children: dict[str | None, list[TrustBoundary]] = {}
        for z in result.trust_boundaries:
            parent = z.parent if z.parent in self.zones and not self._cycle(z) else None
            self.children.setdefault(parent, []).append(z)
        self.used = {z.id for z in result.trust_boundaries if self._in_use(z.id, set())}
        self.flows = [f for f in result.flows if f.source in self.comps and f.target in self.comps]
        self.worst = highest_severity(result)

    def _cycle(self, zone: TrustBoundary) -> bool:
        seen = {zone.id}
        parent = zone.parent
        while parent is not None and parent in self.zones:
            if parent in seen:
                return True
            seen.add(parent)
            parent = self.zones[parent].parent
        return False

    def _in_use(self, zone_id: str, seen: set[str]) -> bool:
        if zone_id in seen:
            return False
        seen.add(zone_id)
        if self.members.get(zone_id):
            return True
        return any(self._in_use(z.id, seen) for z in self.children.get(zone_id, []))

    def sublabel(self, c: ComponentOut) -> str:
        kind = TYPE_LABELS.get(c.type, c.type.value.replace("_", " "))
        tech = next((n for n in c.technology_names if n.lower() not in c.name.lower()), None)
        return f"{kind} \u00b7 {tech}" if tech else kind

    def host_note(self, c: ComponentOut) -> str | None:
        host = self.comps.get(c.runs_on or "")
        return f"runs on {host.name}" if host is not None else None

    def flow_text(self, number: int, flow: Flow) -> str:
        data = f" ({', '.join(d.value for d in flow.data_classes)})" if flow.data_classes else ""
        return f"{number}. {clean_text(flow.label, 80)}{data}"


# --------------------------------------------------------------------------- DOT

_DOT_SHAPES = {
    "external": 'shape=box, style="filled"',
    "process": 'shape=ellipse, style="filled"',
    "store": 'shape=cylinder, style="filled"',
}


def _legend(title: str, color: bool) -> str:
    """A graph label holding the legend, as an HTML-like table of constant text."""
    def row(key: str, text: str) -> str:
        return f'<TR><TD ALIGN="LEFT">{key}</TD><TD COLSPAN="4" ALIGN="LEFT">{text}</TD></TR>'

    red = f'<FONT COLOR="{BOUNDARY_COLOR}">'
    rows = [
        f'<TR><TD COLSPAN="5"><B>{html_text(title, 120)}</B></TD></TR>',
        row("box", "external entity"),
        row("ellipse", "process"),
        row("cylinder", "data store"),
        row(f"{red}dashed frame</FONT>", "trust boundary (zone)"),
        row(f"{red}<B>bold red arrow</B></FONT>", "flow crossing a trust boundary"),
    ]
    if color:
        cells = "".join(
            f'<TD BGCOLOR="{SEVERITY_FILL[sev]}">{sev.value}</TD>'
            for sev in (Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW)
        )
        rows.append(f'<TR><TD ALIGN="LEFT">fill: worst threat</TD>{cells}</TR>')
    return '<<TABLE BORDER="0" CELLBORDER="1" CELLSPACING="0" CELLPADDING="3">' + "".join(rows) + "</TABLE>>"


def _dot_node(lay: _Layout, c: ComponentOut, color: bool, indent: str) -> str:
    kind = node_kind(c, lay.zones)
    lines = [c.name, lay.sublabel(c)]
    note = lay.host_note(c)
    if note:
        lines.append(note)
    sev = lay.worst.get(c.id)
    fill = SEVERITY_FILL[sev] if color and sev is not None else NO_THREAT_FILL
    if color and sev is not None:
        lines.append(f"worst threat: {sev.value}")
    return f'{indent}{lay.node_id[c.id]} [label={dot_label(lines, 28)}, {_DOT_SHAPES[kind]}, fillcolor="{fill}"];'


def _dot_zone(lay: _Layout, zone: TrustBoundary, color: bool, depth: int, out: list[str]) -> None:
    pad = "  " * depth
    out.append(f"{pad}subgraph cluster_{lay.zone_id[zone.id]} {{")
    out.append(f"{pad}  label={dot_label([f'{zone.name} ({zone.kind})'], 40)};")
    out.append(f'{pad}  style="dashed,rounded"; color="{BOUNDARY_COLOR}"; fontcolor="{BOUNDARY_COLOR}"; penwidth=1.6;')
    for c in lay.members.get(zone.id, []):
        out.append(_dot_node(lay, c, color, pad + "  "))
    for child in lay.children.get(zone.id, []):
        if child.id in lay.used:
            _dot_zone(lay, child, color, depth + 1, out)
    out.append(f"{pad}}}")


def dfd_dot(result: ThreatModel, color_by_severity: bool = True, legend: bool = True) -> str:
    """The data-flow diagram of ``result`` as a Graphviz DOT digraph.

    One node per component (``n1``... in model order), one ``cluster_z<k>`` per trust
    boundary holding components, one edge per flow labelled ``"<n>. <label>"``."""
    lay = _Layout(result)
    out = [
        "digraph dfd {",
        f'  graph [charset="UTF-8", rankdir=LR, fontname="{_FONT}", fontsize=11, nodesep=0.45, ranksep=0.9, '
        'labelloc=b, labeljust=l, newrank=true];',
        f'  node [fontname="{_FONT}", fontsize=11, color="#333333", fontcolor="#111111", margin="0.15,0.06"];',
        f'  edge [fontname="{_FONT}", fontsize=9, color="{FLOW_COLOR}", fontcolor="#333333", arrowsize=0.8];',
    ]
    if legend:
        out.append(f"  label={_legend(f'Data-flow diagram: {clean_text(result.system.name)}', color_by_severity)};")
    for zone in lay.children.get(None, []):
        if zone.id in lay.used:
            _dot_zone(lay, zone, color_by_severity, 1, out)
    for c in lay.members.get(None, []):
        out.append(_dot_node(lay, c, color_by_severity, "  "))
    for n, f in enumerate(lay.flows, start=1):
        attrs = f"label={dot_label([lay.flow_text(n, f)], 30)}"
        if flow_crosses(f, lay.comps):
            attrs += f', color="{BOUNDARY_COLOR}", fontcolor="{BOUNDARY_COLOR}", penwidth=2.2, style=bold'
        out.append(f"  {lay.node_id[f.source]} -> {lay.node_id[f.target]} [{attrs}];")
    out.append("}")
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------- Mermaid

_MERMAID_SHAPES = {"external": ('["', '"]'), "process": ('(["', '"])'), "store": ('[("', '")]')}


def _mermaid_node(lay: _Layout, c: ComponentOut, indent: str) -> str:
    kind = node_kind(c, lay.zones)
    text = f"{clean_text(c.name, 80)} - {lay.sublabel(c)}"
    note = lay.host_note(c)
    if note:
        text += f" - {note}"
    start, end = _MERMAID_SHAPES[kind]
    return f"{indent}{lay.node_id[c.id]}{start}{mermaid_text(text, 200)}{end}"


def _mermaid_zone(lay: _Layout, zone: TrustBoundary, depth: int, out: list[str]) -> None:
    pad = "  " * depth
    zid = lay.zone_id[zone.id]
    out.append(f'{pad}subgraph {zid}["{mermaid_text(f"{zone.name} ({zone.kind})", 80)}"]')
    for c in lay.members.get(zone.id, []):
        out.append(_mermaid_node(lay, c, pad + "  "))
    for child in lay.children.get(zone.id, []):
        if child.id in lay.used:
            _mermaid_zone(lay, child, depth + 1, out)
    out.append(f"{pad}end")
    out.append(f"{pad}style {zid} fill:none,stroke:{BOUNDARY_COLOR},stroke-width:2px,stroke-dasharray:6 4")


def dfd_mermaid(result: ThreatModel, color_by_severity: bool = True) -> str:
    """The data-flow diagram of ``result`` as a Mermaid flowchart.

    External entities are rectangles, processes stadiums, data stores cylinders;
    trust boundaries are dashed red subgraphs; boundary-crossing flows are thick red."""
    lay = _Layout(result)
    out = [
        "flowchart LR",
        "  %% Data-flow diagram generated by threatroom. Shapes: rectangle = external entity,",
        "  %% stadium = process, cylinder = data store; dashed red subgraph = trust boundary;",
        "  %% thick red arrow = flow crossing a trust boundary; fill = highest threat severity.",
    ]
    for zone in lay.children.get(None, []):
        if zone.id in lay.used:
            _mermaid_zone(lay, zone, 1, out)
    for c in lay.members.get(None, []):
        out.append(_mermaid_node(lay, c, "  "))
    crossing: list[int] = []
    for n, f in enumerate(lay.flows, start=1):
        arrow = "==>" if flow_crosses(f, lay.comps) else "-->"
        if arrow == "==>":
            crossing.append(n - 1)
        text = mermaid_text(lay.flow_text(n, f), 120)
        out.append(f'  {lay.node_id[f.source]} {arrow}|"{text}"| {lay.node_id[f.target]}')
    if crossing:
        out.append(f"  linkStyle {','.join(str(i) for i in crossing)} stroke:{BOUNDARY_COLOR},stroke-width:3px")
    if color_by_severity:
        for sev in (Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW):
            ids = [lay.node_id[c.id] for c in result.components if lay.worst.get(c.id) == sev]
            out.append(f"  classDef sev{sev.value} fill:{SEVERITY_FILL[sev]},stroke:#333333,color:#111111")
            if ids:
                out.append(f"  class {','.join(ids)} sev{sev.value}")
    return "\n".join(out) + "\n"
