"""Diagrams: data-flow diagrams, attack trees and Gherkin scenarios, on the seed
examples and on a model whose every name is hostile."""

from __future__ import annotations

import json
import re
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from threatroom import analyze_file
from threatroom.engine.analyze import analyze
from threatroom.engine.attack_trees import AttackNode, AttackTree, build_attack_tree, default_goals, goal_profile
from threatroom.errors import AnalysisError
from threatroom.knowledge import load_knowledge
from threatroom.model import Stride, SystemModel, ThreatModel
from threatroom.render.attack_tree import attack_tree_dot, attack_tree_json, attack_tree_mermaid
from threatroom.render.dfd import dfd_dot, dfd_mermaid, mermaid_text
from threatroom.render.gherkin import feature_file
from threatroom.render.graphviz import PNG_SIGNATURE, find_renderer, render_dot

from .conftest import EXAMPLES, SHARED

SEEDS = sorted((SHARED / "examples").glob("*.txt")) + sorted(EXAMPLES.glob("*.yaml"))
SVG = "{http://www.w3.org/2000/svg}"
needs_renderer = pytest.mark.skipif(find_renderer() is None, reason="no Graphviz renderer: pip install graphviz-pure")

# A goal per seed that targets a component the internet reaches only through others.
# In the mobile game's text every service is called straight from the phone: no component
# sits behind another, so no step needs a foothold first (no AND).
ALL_DIRECT = {"mobile-game.txt"}
INNER_GOALS = {
    "flask-blog.txt": "Steal personal data from MySQL database",
    "aws-web-app.txt": "Steal data from Amazon RDS",
    "mobile-game.txt": "Steal data from AWS AppSync",
    "flask-blog.yaml": "Steal credentials from Blog database",
    "aws-web-app.yaml": "Steal data from Amazon RDS database",
    "mobile-game.yaml": "Tamper with Game event functions",
}

HOSTILE = [
    "<script>alert(1)</script>",
    '"quoted" name',
    "a|b",
    "{brace}",
    "=cmd|'/C calc'!A0",
    "line1\nline2",
]
HOSTILE_ZONE = '<img src=x onerror=alert(1)> "zone" {z} |z| \\N --> ]]>'


@pytest.fixture(scope="module", params=SEEDS, ids=[p.name for p in SEEDS])
def seed(request: pytest.FixtureRequest) -> tuple[str, ThreatModel]:
    return request.param.name, analyze_file(request.param)


@pytest.fixture(scope="module")
def hostile() -> ThreatModel:
    model = SystemModel.model_validate(
        {
            "system": {"name": "<script>alert('sys')</script> | `x` # @tag", "data_classifications": ["pii"]},
            "trust_boundaries": [
                {"id": "internet", "name": "Internet", "kind": "internet"},
                {"id": "evil", "name": HOSTILE_ZONE, "kind": "cloud"},
                {"id": "inner", "name": "</text><script>z</script>", "kind": "private", "parent": "evil"},
                {"id": "unused", "name": "nobody here", "kind": "private"},
            ],
            "components": [
                {"id": "user", "name": HOSTILE[0], "type": "user", "zone": "internet"},
                {"id": "browser", "name": HOSTILE[1], "type": "browser", "zone": "internet"},
                {"id": "app", "name": HOSTILE[2], "type": "web_application", "technology": "flask",
                 "zone": "evil", "runs_on": "host", "features": ["user_accounts"]},
                {"id": "host", "name": HOSTILE[3], "type": "host", "zone": "evil"},
                {"id": "db", "name": HOSTILE[4], "type": "relational_db", "technology": "mysql", "zone": "inner"},
                {"id": "cache", "name": HOSTILE[5], "type": "cache", "zone": "inner"},
                {"id": "extra", "name": 'Feature: x\n@tag\n# c\n| t |\nScenario: y \\\\ \x01 \u202e "]; n9 [label="pwn',
                 "type": "api_service", "zone": "evil"},
            ],
            "flows": [
                {"id": "f1", "source": "user", "target": "browser", "label": "</text><script>x</script>"},
                {"id": "f2", "source": "browser", "target": "app", "label": '"]; evil -> pwn [label="x'},
                {"id": "f3", "source": "app", "target": "db", "label": "a|b|c {d} <e>"},
                {"id": "f4", "source": "app", "target": "cache", "label": "line1\nline2 --> ]]>"},
                {"id": "f5", "source": "app", "target": "extra", "label": "`code` [link](http://x) #35;"},
            ],
            "data_assets": [
                {"id": "acct", "name": "<b>accounts</b>", "classification": "credentials", "stored_in": ["db"]}
            ],
        }
    )
    return analyze(model, load_knowledge())


# --------------------------------------------------------------------------- helpers


def _zones_in_use(result: ThreatModel) -> set[str]:
    zones = {z.id: z for z in result.trust_boundaries}
    used: set[str] = set()
    for c in result.components:
        zid = c.zone
        while zid in zones and zid not in used:
            used.add(zid)
            zid = zones[zid].parent
    return used


def _svg_groups(svg: bytes) -> dict[str, int]:
    root = ET.fromstring(svg)  # noqa: S314 - our own renderer's output
    counts = {"node": 0, "edge": 0, "cluster": 0}
    for g in root.iter(f"{SVG}g"):
        cls = g.get("class")
        if cls in counts:
            counts[cls] += 1
    return counts


def _assert_safe_svg(svg: bytes) -> list[str]:
    """Parses, has no script or event handler, returns every text of the drawing."""
    assert b"<script" not in svg.lower()
    root = ET.fromstring(svg)  # noqa: S314 - our own renderer's output
    texts: list[str] = []
    for el in root.iter():
        local = el.tag.rsplit("}", 1)[-1].lower()
        assert local not in ("script", "foreignobject", "a", "iframe"), local
        assert not any(k.rsplit("}", 1)[-1].lower().startswith("on") for k in el.attrib), el.attrib
        if local == "text" and el.text:
            texts.append(el.text)
    return texts


_MERMAID_QUOTED = re.compile(r'"([^"]*)"')


def _assert_safe_mermaid(text: str) -> None:
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("%%"):
            continue
        assert stripped.count('"') % 2 == 0, line
        for inner in _MERMAID_QUOTED.findall(stripped):
            for bad in '<>`[]{}|\n':
                assert bad not in inner, (bad, line)
        outside = _MERMAID_QUOTED.sub("", stripped)
        assert "<" not in outside and "script" not in outside.lower(), line


_GHERKIN_LINE = re.compile(r"^(?:(?:Feature|Scenario|Background|Rule|Examples?):|(?:Given|When|Then|And|But) |#|@)")


def _assert_gherkin_structure(text: str) -> None:
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        assert _GHERKIN_LINE.match(stripped), line
        if stripped.startswith("@"):
            for token in stripped.split():
                assert re.fullmatch(r"@[a-z0-9_.-]+", token), token


def _walk(node: AttackNode) -> list[AttackNode]:
    return [node] + [n for child in node.children for n in _walk(child)]


# --------------------------------------------------------------------------- data-flow diagrams


def test_dfd_text_matches_model(seed: tuple[str, ThreatModel]) -> None:
    _, result = seed
    dot = dfd_dot(result)
    assert dot.startswith("digraph dfd {") and dot.rstrip().endswith("}")
    for i in range(1, len(result.flows) + 1):
        assert f'label="{i}. ' in dot
    assert dot.count("subgraph cluster_") == len(_zones_in_use(result))
    assert "shape=cylinder" in dot and "shape=box" in dot and "shape=ellipse" in dot
    mermaid = dfd_mermaid(result)
    assert mermaid.startswith("flowchart LR")
    assert len(re.findall(r"^\s*n\d+[\[(]", mermaid, flags=re.M)) == len(result.components)
    assert len(re.findall(r"(-->|==>)\|", mermaid)) == len(result.flows)
    _assert_safe_mermaid(mermaid)
    assert dfd_dot(result) == dot and dfd_mermaid(result) == mermaid  # deterministic


def test_boundary_crossings_are_marked(seed: tuple[str, ThreatModel]) -> None:
    _, result = seed
    dot = dfd_dot(result)
    crossing = [f for f in result.flows if f.crosses_boundary]
    assert crossing
    assert dot.count("style=bold") == len(crossing)
    assert dfd_mermaid(result).count("==>") == len(crossing)


@needs_renderer
def test_dfd_svg_counts_match_model(seed: tuple[str, ThreatModel]) -> None:
    _, result = seed
    svg = render_dot(dfd_dot(result), "svg")
    _assert_safe_svg(svg)
    assert _svg_groups(svg) == {
        "node": len(result.components),
        "edge": len(result.flows),
        "cluster": len(_zones_in_use(result)),
    }
    plain = render_dot(dfd_dot(result, color_by_severity=False, legend=False), "svg")
    assert _svg_groups(plain)["node"] == len(result.components)


@needs_renderer
def test_dfd_png(seed: tuple[str, ThreatModel]) -> None:
    _, result = seed
    png = render_dot(dfd_dot(result), "png")
    assert png.startswith(PNG_SIGNATURE) and len(png) > 1000


# --------------------------------------------------------------------------- attack trees


def test_attack_trees(seed: tuple[str, ThreatModel]) -> None:
    name, result = seed
    goals = default_goals(result)
    assert 1 <= len(goals) <= 3 and len(set(goals)) == len(goals)
    assert default_goals(result) == goals
    ids = {t.id for t in result.threats}
    for goal in [INNER_GOALS[name], *goals]:
        tree = build_attack_tree(result, goal)
        assert tree.root.kind == "goal" and tree.goal == goal
        nodes = _walk(tree.root)
        steps = [n for n in nodes if n.kind == "step"]
        assert steps and all(n.threat_id in ids for n in steps)
        assert all(n.dread is not None and n.severity is not None for n in steps)
        assert all(n.mitigations == [m.title for m in result.threat(n.threat_id or "").mitigations] for n in steps)
        assert all(not n.children for n in steps) and all(n.children for n in nodes if n.kind != "step")
        assert len({n.id for n in nodes}) == len(nodes)
        assert all(len([c for c in n.children if c.kind == "step"]) <= 6 for n in nodes)
        for n in nodes:  # children ordered by DREAD, highest first, within steps
            scores = [c.dread or 0 for c in n.children if c.kind == "step"]
            assert scores == sorted(scores, reverse=True)
        assert any(n.kind == "or" for n in nodes)
        back = AttackTree.model_validate_json(attack_tree_json(tree))
        assert back == tree
        assert json.loads(attack_tree_json(tree))["root"]["kind"] == "goal"
        assert build_attack_tree(result, goal) == tree
        mermaid = attack_tree_mermaid(tree)
        _assert_safe_mermaid(mermaid)
        assert len(re.findall(r"^\s*n\d+[\[{(]", mermaid, flags=re.M)) == len(nodes)
    inner = build_attack_tree(result, INNER_GOALS[name])
    ands = [n for n in _walk(inner.root) if n.kind == "and"]
    if name in ALL_DIRECT:
        assert not ands  # nothing needs a foothold first when the internet reaches everything
    else:
        assert ands and all(len(n.children) >= 2 for n in ands)


def test_goal_words_select_stride(seed: tuple[str, ThreatModel]) -> None:
    _, result = seed
    assert goal_profile("data stolen").primary == {Stride.INFORMATION_DISCLOSURE}
    assert goal_profile("cause an outage").primary == {Stride.DENIAL_OF_SERVICE}
    assert goal_profile("impersonate a player").primary == {Stride.SPOOFING}
    assert goal_profile("commit fraud").primary == {Stride.TAMPERING}
    assert goal_profile("whatever").primary == set(Stride)
    tree = build_attack_tree(result, "Take the service down")
    strides = {result.threat(n.threat_id or "").stride for n in _walk(tree.root) if n.kind == "step"}
    assert Stride.DENIAL_OF_SERVICE in strides


@needs_renderer
def test_attack_tree_svg(seed: tuple[str, ThreatModel]) -> None:
    name, result = seed
    tree = build_attack_tree(result, INNER_GOALS[name])
    svg = render_dot(attack_tree_dot(tree), "svg")
    _assert_safe_svg(svg)
    counts = _svg_groups(svg)
    nodes = _walk(tree.root)
    assert counts["node"] == len(nodes) and counts["edge"] == len(nodes) - 1
    texts = " ".join(_assert_safe_svg(svg))
    assert "OR" in texts and "DREAD" in texts
    assert ("AND" in texts) == (name not in ALL_DIRECT)


# --------------------------------------------------------------------------- Gherkin


def test_feature_file(seed: tuple[str, ThreatModel]) -> None:
    _, result = seed
    text = feature_file(result)
    _assert_gherkin_structure(text)
    expected = result.top_priorities[:10]
    assert text.count("\n  Scenario: ") == len(expected)
    for tid in expected:
        t = result.threat(tid)
        assert f"# threat {tid}:" in text
        assert f"@stride-{t.stride.value.lower().replace(' ', '-')} @severity-{t.severity.value.lower()}" in text
    assert feature_file(result, top=2).count("Scenario:") == min(2, len(expected))


# --------------------------------------------------------------------------- hostile names


def test_hostile_text_is_escaped(hostile: ThreatModel) -> None:
    dot = dfd_dot(hostile)
    assert "\n" not in "".join(re.findall(r'label="((?:[^"\\]|\\.)*)"', dot))
    assert 'n9 [label="pwn' not in dot and "evil -> pwn" not in dot.replace('\\"', "")
    _assert_safe_mermaid(dfd_mermaid(hostile))
    assert mermaid_text('"<&>|`#') == "#34;#60;#38;#62;#124;#96;#35;"
    _assert_gherkin_structure(feature_file(hostile))
    scenarios = [line for line in feature_file(hostile).splitlines() if line.strip().startswith("Scenario:")]
    assert len(scenarios) == len(hostile.top_priorities[:10])
    for goal in [*default_goals(hostile), HOSTILE[0], "Steal <b>accounts</b> from " + HOSTILE[4]]:
        tree = build_attack_tree(hostile, goal)
        _assert_safe_mermaid(attack_tree_mermaid(tree))
        assert AttackTree.model_validate_json(attack_tree_json(tree)) == tree


@needs_renderer
def test_hostile_svg(hostile: ThreatModel) -> None:
    svg = render_dot(dfd_dot(hostile), "svg")
    texts = _assert_safe_svg(svg)
    assert _svg_groups(svg) == {"node": len(hostile.components), "edge": len(hostile.flows), "cluster": 3}
    joined = "\n".join(texts)
    for name in [*HOSTILE[:5], "line1 line2", "a|b|c {d} <e>", "</text><script>x</script>"]:
        assert name in joined, name
    assert "Data-flow diagram: <script>alert('sys')</script> | `x` # @tag" in texts
    for goal in [*default_goals(hostile), HOSTILE[0]]:
        tree = build_attack_tree(hostile, goal)
        tsvg = render_dot(attack_tree_dot(tree), "svg")
        _assert_safe_svg(tsvg)
        assert _svg_groups(tsvg)["node"] == len(_walk(tree.root))
    assert render_dot(dfd_dot(hostile), "png").startswith(PNG_SIGNATURE)


# --------------------------------------------------------------------------- running the renderer


def test_missing_renderer_names_the_fix(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr("threatroom.render.graphviz.shutil.which", lambda name: None)
    monkeypatch.setattr("threatroom.render.graphviz.sys.executable", str(tmp_path / "python"))
    with pytest.raises(AnalysisError, match="pip install graphviz-pure"):
        render_dot("digraph { a }", "svg")


def test_renderer_gets_no_user_text_on_its_command_line(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, object] = {}

    def fake_run(args: list[str], **kwargs: object) -> subprocess.CompletedProcess[bytes]:
        seen["args"] = args
        seen.update(kwargs)
        return subprocess.CompletedProcess(args, 0, stdout=b"<svg></svg>", stderr=b"")

    monkeypatch.setattr("threatroom.render.graphviz.find_renderer", lambda: "/opt/bin/dot")
    monkeypatch.setattr("threatroom.render.graphviz.subprocess.run", fake_run)
    render_dot('digraph { a [label="$(rm -rf /)"] }', "svg")
    assert seen["args"] == ["/opt/bin/dot", "-Tsvg"]
    assert seen["shell"] is False and seen["timeout"] == 30.0
    assert b"rm -rf" in seen["input"]  # type: ignore[operator]


def test_renderer_failures_are_analysis_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(AnalysisError, match="unsupported"):
        render_dot("digraph { a }", "pdf")  # type: ignore[arg-type]

    def timeout(*args: object, **kwargs: object) -> None:
        raise subprocess.TimeoutExpired("dot", 30)

    monkeypatch.setattr("threatroom.render.graphviz.find_renderer", lambda: "/opt/bin/dot")
    monkeypatch.setattr("threatroom.render.graphviz.subprocess.run", timeout)
    with pytest.raises(AnalysisError, match="longer than"):
        render_dot("digraph { a }", "svg")


@needs_renderer
def test_bad_dot_is_an_analysis_error() -> None:
    with pytest.raises(AnalysisError, match="failed"):
        render_dot("digraph { a -> ", "svg")
