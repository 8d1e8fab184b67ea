"""Quality bar for the register on the seed examples (structured versions in examples/)."""

from __future__ import annotations

from collections import Counter

import pytest

from threatroom import analyze_file
from threatroom.knowledge import load_knowledge
from threatroom.render import to_json

from .conftest import EXAMPLES, SHARED

# The seed examples, as structured models and as the original plain words.
SEEDS = sorted(EXAMPLES.glob("*.yaml")) + sorted((SHARED / "examples").glob("*.txt"))


@pytest.fixture(scope="module", params=SEEDS, ids=[p.name for p in SEEDS])
def seed(request):
    return request.param


@pytest.fixture(scope="module")
def result(seed):
    return analyze_file(seed)


def test_seed_models_have_no_warnings(result) -> None:
    assert result.warnings == []
    assert len(result.components) >= 4


def test_every_known_technology_gets_threats_naming_it(result) -> None:
    kb = load_knowledge()
    for c in result.components:
        if not c.technology:
            continue
        tech = kb.technologies[c.technology]
        own = [t for t in result.threats if t.component_id == c.id]
        naming = [t for t in own if tech.name.lower() in (t.title + t.description).lower()]
        assert naming, f"no threat on {c.id} names {tech.name}"
        lineage = kb.lineage(c.technology)
        specific = [t for t in own if lineage & set(t.technologies)]
        assert specific, f"no rule specific to {tech.name} fired on {c.id}"
        assert all(t.mitigations for t in own)


def test_no_threat_about_absent_technology(result) -> None:
    kb = load_knowledge()
    present: set[str] = set()
    for c in result.components:
        for tid in c.technologies:
            present |= kb.lineage(tid)
    for t in result.threats:
        assert set(t.technologies) <= present, (t.id, t.technologies)


def test_no_near_duplicates(result) -> None:
    kb = load_knowledge()
    cause = {r.id: r.cause for r in kb.threats}
    keys = Counter((t.component_id or t.flow_id, cause[t.rule_id]) for t in result.threats)
    assert [k for k, n in keys.items() if n > 1] == []
    titles = Counter((t.component_id or t.flow_id, t.title.lower()) for t in result.threats)
    assert [k for k, n in titles.items() if n > 1] == []


def test_severity_discriminates(result) -> None:
    high = sum(1 for t in result.threats if t.severity.value in ("High", "Critical"))
    assert high / len(result.threats) <= 0.30, f"{high}/{len(result.threats)} High or Critical"
    assert len({t.severity for t in result.threats}) >= 3


def test_interception_only_where_a_boundary_is_crossed(result) -> None:
    flows = {f.id: f for f in result.flows}
    for t in result.threats:
        if t.flow_id and t.stride.value in ("Information Disclosure", "Tampering"):
            f = flows[t.flow_id]
            src = next(c for c in result.components if c.id == f.source)
            dst = next(c for c in result.components if c.id == f.target)
            assert src.zone != dst.zone, t.id


def test_every_score_has_reasons(result) -> None:
    for t in result.threats:
        r = t.dread.rationale
        for factor in ("damage", "reproducibility", "exploitability", "affected_users", "discoverability"):
            assert getattr(r, factor).startswith(f"{getattr(t.dread, factor)}:")


def test_output_is_deterministic(seed, result) -> None:
    assert to_json(analyze_file(seed)) == to_json(result)


def test_flask_blog_is_specific() -> None:
    r = analyze_file(EXAMPLES / "flask-blog.yaml")
    text = {t.id: (t.title + " " + t.description).lower() for t in r.threats}
    named = {tech for t in r.threats for tech in t.technologies}
    for tech in ("flask", "jinja2", "flask-login", "flask-admin", "flask-restful", "flask-wtf", "mysql", "aws.ec2"):
        assert tech in named, tech
    assert any("sql injection" in s for s in text.values())
    top = [r.threat(i) for i in r.top_priorities[:5]]
    assert any("sql" in (t.title.lower()) for t in top), [t.title for t in top]
