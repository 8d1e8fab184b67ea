"""Engine behaviour on a tiny controlled knowledge base (tests/kb_sample)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from threatroom import analyze
from threatroom.errors import InputError
from threatroom.knowledge import load_knowledge
from threatroom.model import SystemModel
from threatroom.render import to_json

from .conftest import SAMPLE_KB


def _model(**extra: object) -> SystemModel:
    data: dict[str, object] = {
        "components": [
            {"id": "u", "name": "User", "type": "user"},
            {"id": "app", "name": "Blog", "type": "web_app", "technology": "Flask", "facets": ["Jinja"]},
            {"id": "db", "name": "Posts DB", "type": "relational_db", "technology": "aws.rds-mysql"},
        ],
        "flows": [
            {"id": "f1", "source": "u", "target": "app", "protocol": "http"},
            {"id": "f2", "source": "app", "target": "db"},
        ],
    }
    data.update(extra)
    return SystemModel.model_validate(data)


def test_aliases_are_resolved_and_threats_name_the_technology(sample_kb) -> None:
    r = analyze(_model(), sample_kb)
    app = next(c for c in r.components if c.id == "app")
    assert app.technology == "flask" and app.facets == ["jinja2"]
    assert app.technologies == ["flask", "jinja2"]
    xss = r.threat("sample.jinja-xss@app")
    assert "Jinja2" in xss.title and xss.technologies == ["jinja2"]
    sqli = r.threat("sample.sqli@app")
    assert sqli.title == "SQL injection from Blog (Flask) into Posts DB"
    assert "aws.rds-mysql" in sqli.technologies  # matched through is_a: mysql


def test_hints_only_for_technologies_present(sample_kb) -> None:
    r = analyze(_model(), sample_kb)
    hints = r.threat("sample.sqli@app").mitigations[0].hints
    assert any("MySQL" in h for h in hints) and any("Flask" in h for h in hints)
    m = _model(
        components=[
            {"id": "u", "name": "User", "type": "user"},
            {"id": "app", "name": "Blog", "type": "web_app"},
            {"id": "db", "name": "Posts DB", "type": "relational_db", "technology": "mysql"},
        ]
    )
    hints = analyze(m, sample_kb).threat("sample.sqli@app").mitigations[0].hints
    assert any("MySQL" in h for h in hints) and not any("Flask" in h for h in hints)


def test_dread_is_adjusted_in_context_with_reasons(sample_kb) -> None:
    exposed = analyze(_model(), sample_kb).threat("sample.sqli@app")
    assert exposed.dread.exploitability == 7
    assert "internet-facing (receives traffic from User)" in exposed.dread.rationale.exploitability
    internal = _model(
        trust_boundaries=[{"id": "lan", "name": "LAN", "kind": "private"}],
        components=[
            {"id": "ops", "name": "Ops box", "type": "background_worker", "zone": "lan"},
            {"id": "app", "name": "Blog", "type": "web_app", "technology": "flask", "zone": "lan"},
            {"id": "db", "name": "Posts DB", "type": "relational_db", "technology": "mysql", "zone": "lan"},
        ],
        flows=[{"id": "f1", "source": "ops", "target": "app"}, {"id": "f2", "source": "app", "target": "db"}],
    )
    t = analyze(internal, sample_kb).threat("sample.sqli@app")
    assert t.dread.exploitability == 5 and "reached only from inside its network" in t.dread.rationale.exploitability
    assert t.dread.score < exposed.dread.score


def test_sensitive_data_raises_damage(sample_kb) -> None:
    plain = analyze(_model(), sample_kb).threat("sample.sqli@app")
    m = _model(data_assets=[{"id": "cards", "name": "Cards", "classification": "payment_card", "stored_in": ["app"]}])
    carded = analyze(m, sample_kb).threat("sample.sqli@app")
    assert carded.dread.damage == min(10, plain.dread.damage + 2)
    assert "payment card data" in carded.dread.rationale.damage


def test_interception_only_on_flows_that_cross_the_internet(sample_kb) -> None:
    r = analyze(_model(), sample_kb)
    assert [t.flow_id for t in r.threats if t.rule_id == "sample.interception"] == ["f1"]
    https = _model(flows=[{"id": "f1", "source": "u", "target": "app", "protocol": "https"}])
    assert not [t for t in analyze(https, sample_kb).threats if t.rule_id == "sample.interception"]


def _with_rule(tmp_path: Path, text: str) -> Path:
    d = tmp_path / "kb"
    shutil.copytree(SAMPLE_KB, d)
    (d / "more.yaml").write_text(text, encoding="utf-8")
    return d


GENERIC_XSS = """
threats:
  - id: sample.generic-xss
    title: Cross-site scripting in {name}
    stride: Tampering
    cause: xss
    when: {type: [web_application]}
    description: Output is not encoded for the HTML context it lands in.
    attack_vector: Script injected through any reflected or stored field.
    cwe: [79, 80]
    capec: [588]
    dread: {damage: 5, reproducibility: 5, exploitability: 5, affected_users: 5, discoverability: 5}
    mitigations:
      - title: Encode output by context
    fixtures:
      fires: [{components: [{id: a, type: web_application}]}]
      not_fires: [{components: [{id: a, type: api_service}]}]
"""


def test_same_cause_merges_into_the_most_specific(tmp_path: Path) -> None:
    kb = load_knowledge([_with_rule(tmp_path, GENERIC_XSS)], include_builtin=False)
    r = analyze(_model(), kb)
    xss = [t for t in r.threats if t.component_id == "app" and "script" in t.title.lower()]
    assert len(xss) == 1
    t = xss[0]
    assert t.rule_id == "sample.jinja-xss" and t.merged_from == ["sample.generic-xss"]
    assert {m.title for m in t.mitigations} == {"Keep autoescape on", "Encode output by context"}
    assert t.cwe == ["CWE-79", "CWE-80"] and "CAPEC-588" in t.capec
    # Without Jinja2 the generic one speaks.
    plain = _model(components=[{"id": "u", "name": "U", "type": "user"}, {"id": "app", "name": "Blog", "type": "web_app"}, {"id": "db", "name": "D", "type": "database"}])
    assert analyze(plain, kb).threat("sample.generic-xss@app").merged_from == []


def test_supersedes_removes_the_other_rule(tmp_path: Path) -> None:
    text = GENERIC_XSS.replace("cause: xss", "cause: other-cause").replace(
        "id: sample.generic-xss", "id: sample.generic-xss\n    supersedes: [sample.jinja-xss]"
    )
    kb = load_knowledge([_with_rule(tmp_path, text)], include_builtin=False)
    ids = {t.id for t in analyze(_model(), kb).threats}
    assert "sample.generic-xss@app" in ids and "sample.jinja-xss@app" not in ids


def test_same_input_same_bytes(sample_kb) -> None:
    assert to_json(analyze(_model(), sample_kb)) == to_json(analyze(_model(), sample_kb))


def test_two_analyses_do_not_share_state(sample_kb) -> None:
    a = _model(system={"name": "Alpha"})
    b = SystemModel.model_validate(
        {"system": {"name": "Beta"}, "components": [{"id": "x", "name": "X", "type": "web_app", "facets": ["jinja2"]}]}
    )
    ra1 = to_json(analyze(a, sample_kb))
    rb = analyze(b, sample_kb)
    ra2 = to_json(analyze(a, sample_kb))
    assert ra1 == ra2
    assert {t.component_id for t in rb.threats} == {"x"}
    assert "Blog" not in to_json(rb)
    assert a.components[1].technology == "Flask"  # the caller's model is not modified


def test_unknown_technology_is_a_warning_and_type_rules_still_apply(tmp_path: Path) -> None:
    kb = load_knowledge([_with_rule(tmp_path, GENERIC_XSS)], include_builtin=False)
    m = SystemModel.model_validate({"components": [{"id": "a", "name": "A", "type": "web_app", "technology": "QuuxFramework"}]})
    r = analyze(m, kb)
    assert [w.code for w in r.warnings] == ["unknown-technology"]
    assert "QuuxFramework" in r.warnings[0].message and r.warnings[0].path == "components[0].technology"
    assert r.threat("sample.generic-xss@a")


def test_dangling_references_are_input_errors(sample_kb) -> None:
    m = SystemModel.model_validate({"components": [{"id": "a", "name": "A", "type": "user"}], "flows": [{"id": "f", "source": "a", "target": "b"}]})
    with pytest.raises(InputError, match="flows.0.target"):
        analyze(m, sample_kb)


def test_summary_and_priorities(sample_kb) -> None:
    r = analyze(_model(), sample_kb)
    assert r.summary.total == len(r.threats) == 3
    assert sum(r.summary.by_severity.values()) == 3
    assert r.top_priorities[0] == max(r.threats, key=lambda t: t.dread.score).id
    assert [t.dread.score for t in r.threats] == sorted((t.dread.score for t in r.threats), reverse=True)


def test_json_is_written_in_pieces_identical_to_the_whole(sample_kb) -> None:
    import io

    from threatroom.render.jsonout import iter_json, write_json

    r = analyze(_model(), sample_kb)
    buf = io.StringIO()
    write_json(r, buf)
    assert buf.getvalue() == r.model_dump_json(indent=2) + "\n" == "".join(iter_json(r))
