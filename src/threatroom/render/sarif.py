"""The threat register as a SARIF 2.1.0 log, for code-scanning dashboards and SARIF viewers.

One run; one ``reportingDescriptor`` per rule the register uses; one result per threat.
Each result names its element (component or flow) as a logical location and, when the
input file is given, points at it as a physical location: the text span it came from for
a plain-words description (character offsets, counted in Unicode code points), the file
alone for a YAML/JSON model (which carries no spans). Output is deterministic, byte for
byte, for the same register and ``source``.
"""

from __future__ import annotations

import json
import re
from importlib import metadata
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote

from .. import __version__
from ..model.system import Evidence
from ..model.threats import MitigationOut, Threat, ThreatModel
from ..model.vocabulary import SEVERITY_ORDER, Severity
from .escape import md_inline

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_VERSION = "2.1.0"
FINGERPRINT_KEY = "threatroomId/v1"

LEVELS: dict[Severity, str] = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
}

_HTTP_URL = re.compile(r"https?://[^\s<>()\[\]`\"']+")
_MIME = {".yaml": "application/yaml", ".yml": "application/yaml", ".json": "application/json"}


def _information_uri() -> str | None:
    """The project's home page, from the installed distribution's metadata, if it declares one."""
    try:
        meta = metadata.metadata("threatroom")
    except metadata.PackageNotFoundError:
        return None
    urls = []
    for entry in meta.get_all("Project-URL") or []:
        label, _, url = entry.partition(",")
        urls.append((label.strip().lower(), url.strip()))
    for wanted in ("homepage", "home", "documentation", "repository", "source"):
        for label, url in urls:
            if label == wanted and _HTTP_URL.fullmatch(url):
                return url
    home = meta.get("Home-page")
    if home and _HTTP_URL.fullmatch(home.strip()):
        return home.strip()
    for _, url in urls:
        if _HTTP_URL.fullmatch(url):
            return url
    return None


def _artifact_uri(source: str) -> str:
    """A URI reference for the input file: relative (to the working directory) where possible."""
    p = Path(source)
    if p.is_absolute():
        try:
            p = p.relative_to(Path.cwd())
        except ValueError:
            return p.as_uri()
    posix = PurePosixPath(*p.parts).as_posix() if p.parts else "."
    # ':' is encoded too, so that no first segment can read as a URI scheme.
    return quote(posix, safe="/-._~!$&'()*+,;=@")


def _camel(rule_id: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", rule_id) if part)


def _unique(items: list[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for item in items:
        if item not in seen:
            seen.add(item)
            out.append(item)
    return out


def _message_text(t: Threat) -> str:
    title = t.title.strip()
    if title and title[-1] not in ".!?":
        title += "."
    return f"{title} {t.description.strip()}".strip()


def _merged_mitigations(threats: list[Threat]) -> list[MitigationOut]:
    """Mitigations of all the rule's threats, first seen first; hints merged per mitigation."""
    order: list[str] = []
    by_id: dict[str, MitigationOut] = {}
    hints: dict[str, list[str]] = {}
    for t in threats:
        for m in t.mitigations:
            if m.id not in by_id:
                order.append(m.id)
                by_id[m.id] = m
                hints[m.id] = []
            hints[m.id].extend(m.hints)
    return [by_id[i].model_copy(update={"hints": _unique(hints[i])}) for i in order]


def _help(threats: list[Threat]) -> dict[str, str]:
    mitigations = _merged_mitigations(threats)
    refs = _unique([r for t in threats for r in t.references])
    text = [threats[0].description.strip()]
    md = [md_inline(threats[0].description)]
    if mitigations:
        text += ["", "Mitigations:"]
        md += ["", "**Mitigations**", ""]
        for m in mitigations:
            text.append(f"- {m.title}" + (f": {m.description}" if m.description else ""))
            md.append(f"- **{md_inline(m.title)}**" + (f": {md_inline(m.description)}" if m.description else ""))
            for h in m.hints:
                text.append(f"  - {h}")
                md.append(f"  - {md_inline(h)}")
    if refs:
        text += ["", "References:"]
        md += ["", "**References**", ""]
        for r in refs:
            text.append(f"- {r}")
            md.append(f"- <{r}>" if _HTTP_URL.fullmatch(r) else f"- {md_inline(r)}")
    return {"text": "\n".join(text), "markdown": "\n".join(md)}


def _rule(rule_id: str, threats: list[Threat]) -> dict[str, Any]:
    first = threats[0]
    worst = max((t.severity for t in threats), key=lambda s: SEVERITY_ORDER[s])
    score = max(t.dread.score for t in threats)
    cwe = sorted({c for t in threats for c in t.cwe})
    tags = _unique([str(t.stride) for t in threats] + ["security"] + cwe)
    rule: dict[str, Any] = {
        "id": rule_id,
        "name": _camel(rule_id) or rule_id,
        "shortDescription": {"text": first.title},
        "fullDescription": {"text": first.description},
        "defaultConfiguration": {"level": LEVELS[worst]},
        "help": _help(threats),
    }
    help_uri = next((r for t in threats for r in t.references if _HTTP_URL.fullmatch(r)), None)
    if help_uri:
        rule["helpUri"] = help_uri
    rule["properties"] = {
        "tags": tags,
        "security-severity": f"{score:.1f}",
        "precision": "medium",
    }
    return rule


def _region(e: Evidence) -> dict[str, Any] | None:
    region: dict[str, Any] = {}
    if e.start is not None and e.end is not None:
        region["charOffset"] = e.start
        region["charLength"] = e.end - e.start
    elif e.line is not None:
        region["startLine"] = e.line
    else:
        return None
    # The quote is the span's text with surrounding whitespace trimmed (and long quotes are
    # cut): a snippet must be the region's exact text, so only an untouched quote is one.
    if e.quote and e.start is not None and e.end is not None and len(e.quote) == e.end - e.start:
        region["snippet"] = {"text": e.quote}
    return region


def _regions(evidence: list[Evidence]) -> list[dict[str, Any]]:
    """Distinct regions, in file order (text spans by offset, then file lines)."""
    keyed: dict[tuple[int, int, int], dict[str, Any]] = {}
    for e in evidence:
        region = _region(e)
        if region is None:
            continue
        key = (
            0 if "charOffset" in region else 1,
            region.get("charOffset", region.get("startLine", 0)),
            region.get("charLength", 0),
        )
        keyed.setdefault(key, region)
    return [keyed[k] for k in sorted(keyed)]


def _result(
    t: Threat,
    rule_index: int,
    elements: dict[str, tuple[str, list[Evidence]]],
    artifact_uri: str | None,
) -> dict[str, Any]:
    if t.component_id is not None:
        key = "component:" + t.component_id
    elif t.flow_id is not None:
        key = "flow:" + t.flow_id
    else:
        key = ""
    kind, evidence = elements.get(key, ("", []))
    logical: dict[str, Any] = {"name": t.element_name}
    if key:
        logical["fullyQualifiedName"] = key
        logical["kind"] = kind or ("module" if key.startswith("component:") else "resource")
    location: dict[str, Any] = {}
    if artifact_uri is not None:
        physical: dict[str, Any] = {"artifactLocation": {"uri": artifact_uri, "index": 0}}
        regions = _regions(evidence)
        if regions:
            physical["region"] = regions[0]
        location["physicalLocation"] = physical
        if len(regions) > 1:
            location["annotations"] = regions[1:]
    location["logicalLocations"] = [logical]

    props: dict[str, Any] = {
        "stride": str(t.stride),
        "severity": str(t.severity),
        "dread": {
            "score": t.dread.score,
            "damage": t.dread.damage,
            "reproducibility": t.dread.reproducibility,
            "exploitability": t.dread.exploitability,
            "affected_users": t.dread.affected_users,
            "discoverability": t.dread.discoverability,
        },
    }
    if t.component_id is not None:
        props["component_id"] = t.component_id
    if t.flow_id is not None:
        props["flow_id"] = t.flow_id
    props["cwe"] = list(t.cwe)
    props["capec"] = list(t.capec)
    out: dict[str, Any] = {
        "ruleId": t.rule_id,
        "ruleIndex": rule_index,
        "level": LEVELS[t.severity],
        "message": {"text": _message_text(t)},
        "locations": [location],
        "partialFingerprints": {FINGERPRINT_KEY: t.id},
        "properties": props,
    }
    if t.triage is not None:
        props["triage"] = t.triage.status
        if t.triage.status in ("accepted", "false_positive", "mitigated"):  # a person closed it: SARIF's own way to say so
            out["suppressions"] = [{"kind": "external", "status": "accepted",
                                    "justification": f"{t.triage.status.replace('_', ' ')}: {t.triage.note}".strip(": ")}]
    return out


def sarif_log(result: ThreatModel, source: str | None = None) -> dict[str, Any]:
    """The SARIF log as a JSON-ready dict (see ``to_sarif``)."""
    by_rule: dict[str, list[Threat]] = {}
    for t in result.threats:
        by_rule.setdefault(t.rule_id, []).append(t)
    rule_ids = sorted(by_rule)
    index = {rid: i for i, rid in enumerate(rule_ids)}

    elements: dict[str, tuple[str, list[Evidence]]] = {}
    for c in result.components:
        elements["component:" + c.id] = ("module", list(c.evidence))
    for f in result.flows:
        elements["flow:" + f.id] = ("resource", list(f.evidence))

    artifact_uri = _artifact_uri(source) if source is not None else None

    driver: dict[str, Any] = {"name": "threatroom", "version": __version__, "semanticVersion": __version__}
    info = _information_uri()
    if info:
        driver["informationUri"] = info
    driver["rules"] = [_rule(rid, by_rule[rid]) for rid in rule_ids]

    run: dict[str, Any] = {"tool": {"driver": driver}}
    if artifact_uri is not None:
        artifact: dict[str, Any] = {"location": {"uri": artifact_uri}, "roles": ["analysisTarget"]}
        artifact["mimeType"] = _MIME.get(Path(source or "").suffix.lower(), "text/plain")
        run["artifacts"] = [artifact]
    run["columnKind"] = "unicodeCodePoints"
    run["results"] = [_result(t, index[t.rule_id], elements, artifact_uri) for t in result.threats]
    run["properties"] = {"system": result.system.name, "schema_version": result.schema_version}
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}


def to_sarif(result: ThreatModel, source: str | None = None) -> str:
    """The register as an indented SARIF 2.1.0 JSON document.

    ``source`` is the path of the analysed input file; given, each result also carries a
    physical location in it (a character span for plain text, the file for YAML/JSON).
    """
    return json.dumps(sarif_log(result, source), indent=2, ensure_ascii=False) + "\n"
