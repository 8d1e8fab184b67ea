"""The stakeholder team: topology rules, hand-over protocol, offline analyses, people."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from threatroom import analyze_file
from threatroom.agents import HumanAgent, Reply, discuss, load_topology, parse_reply
from threatroom.agents.topology import DEFAULT, Topology
from threatroom.cli import main
from threatroom.errors import InputError

from .conftest import SHARED

SEEDS = {p.stem: p for p in sorted((SHARED / "examples").glob("*.txt"))}
FIXED = lambda: "2026-01-01T00:00:00.000+00:00"  # noqa: E731


@pytest.fixture(scope="module")
def results():
    return {name: analyze_file(path) for name, path in SEEDS.items()}


@pytest.fixture(scope="module")
def records(results, kb):
    return {name: discuss(r, kb, clock=FIXED) for name, r in results.items()}


def test_default_topology_runs_to_the_end(records) -> None:
    topo = load_topology()
    for name, d in records.items():
        assert d.status == "terminated", name
        assert d.messages[-1].speaker == "B4" and d.messages[-1].terminate
        assert {r.role for r in d.roles} >= {"threat_modeler", "engineer", "architect", "compliance_officer", "business_stakeholder", "leader"}
        assert d.rejected_handovers == 0
        for m in d.messages[1:]:
            if m.addressee:
                assert topo.allowed(m.speaker, m.addressee), (m.speaker, m.addressee)


def test_the_original_flow(records) -> None:
    d = records["flask-blog"]
    order = [m.speaker for m in d.messages]
    assert order[:3] == ["user", "B1", "B4"]  # B1 receives the task, the threat modeler goes first
    b4 = order.index("B4")
    a_members = [i for i, s in enumerate(order) if s in ("A2", "A3")]
    assert a_members and min(a_members) > b4  # team A works after receiving the threat model
    crossing = [m for m in d.messages if m.speaker in ("A1", "B1") and m.addressee in ("A1", "B1")]
    assert crossing, "the leaders pass the work across teams"
    headings = {m.speaker: m.content.splitlines()[0] for m in d.messages if m.content.endswith(".") or True}
    assert headings["A2"] == "Engineering Discussion:" and headings["A3"] == "Architecture Discussion:"


def test_analyses_are_specific_to_each_system(records) -> None:
    def role(d, r):
        return next(x.analysis for x in d.roles if x.role == r)

    flask, game, aws = records["flask-blog"], records["mobile-game"], records["aws-web-app"]
    assert "Flask" in role(flask, "engineer") and "Jinja2" in role(flask, "engineer")
    assert "Cognito" in role(game, "engineer") or "Cognito" in role(game, "threat_modeler")
    assert "Flask" not in role(game, "engineer")
    assert "RDS" in role(aws, "threat_modeler")
    assert role(flask, "architect") != role(aws, "architect")
    assert role(flask, "business_stakeholder") != role(game, "business_stakeholder")
    for d in records.values():
        assert "| Component | Attack vector | STRIDE |" in role(d, "threat_modeler")
        assert "Pitfall:" in role(d, "engineer") and "Fix:" in role(d, "engineer")
        assert "Change:" in role(d, "architect")
        assert "Now (this sprint):" in role(d, "business_stakeholder") and "effort" in role(d, "business_stakeholder")


def test_compliance_names_regimes_and_control_ids(records, kb) -> None:
    if not kb.regimes:
        pytest.skip("no compliance knowledge loaded")
    text = next(x.analysis for x in records["flask-blog"].roles if x.role == "compliance_officer")
    assert "GDPR" in text and "| Control |" in text
    assert any(c in text for c in ("Art. 32", "A.8", "CC6", "SI-10", "AC-3"))


def test_same_input_same_conversation(results, kb) -> None:
    a = discuss(results["mobile-game"], kb, clock=FIXED)
    b = discuss(results["mobile-game"], kb, clock=FIXED)
    assert a.model_dump_json() == b.model_dump_json()
    c = discuss(results["mobile-game"], kb)  # real clock: times differ, the conversation does not
    assert c.transcript() == a.transcript()


def test_parse_reply_reads_only_the_last_line() -> None:
    assert parse_reply("hello\nNEXT: A2\n") == ("hello", "A2", False)
    assert parse_reply("done\nTERMINATE") == ("done", None, True)
    text = "A component named\nNEXT: B3\nor TERMINATE inside the content\nNEXT: A1"
    assert parse_reply(text) == ("A component named\nNEXT: B3\nor TERMINATE inside the content", "A1", False)
    assert parse_reply("no hand-over here") == ("no hand-over here", None, False)


class Scripted:
    """A seat that says fixed things, one per turn."""

    def __init__(self, *lines: str) -> None:
        self.lines = list(lines)

    def respond(self, ctx) -> Reply:
        return Reply(self.lines.pop(0) if self.lines else "ok\nNEXT: B1", agent="scripted")


def test_unknown_and_disallowed_handovers_are_refused(results, kb) -> None:
    seats = {"B1": Scripted("start\nNEXT: Z9", "again\nNEXT: A2", "fine\nTERMINATE")}
    d = discuss(results["flask-blog"], kb, agents=seats, clock=FIXED)
    first, second = d.messages[1], next(m for m in d.messages[2:] if m.speaker == "B1")
    assert first.handover == "Z9" and "no member named Z9" in (first.handover_rejected or "")
    assert first.addressee == load_topology().default_next("B1")  # the default order applies
    assert second.handover == "A2" and "only leaders talk across teams" in (second.handover_rejected or "")
    assert d.rejected_handovers >= 2


def test_a_person_takes_a_seat(results, kb) -> None:
    seen = []

    def ask(ctx) -> str:
        seen.append(len(ctx.messages))
        return "Engineering Discussion:\nWe will move sessions to server-side storage.\nNEXT: A1"

    d = discuss(results["flask-blog"], kb, agents={"A2": HumanAgent(ask)}, clock=FIXED)
    mine = [m for m in d.messages if m.speaker == "A2"]
    assert mine and mine[0].agent == "human" and "server-side storage" in mine[0].content
    assert seen and d.status == "terminated"
    assert next(r for r in d.roles if r.member == "A2").analysis.startswith("Engineering Discussion:")


def test_round_limit_stops_cleanly(results, kb) -> None:
    d = discuss(results["flask-blog"], kb, max_rounds=4, clock=FIXED)
    assert d.status == "max_rounds" and len(d.messages) == 5


def _topology(tmp_path: Path, data: dict) -> Path:
    p = tmp_path / "t.yaml"
    p.write_text(yaml.safe_dump(data))
    return p


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t["teams"][0]["members"].append({"name": "A9", "role": "wizard"}), "role"),
        (lambda t: t["teams"][0]["members"].pop(0), "team A needs exactly one leader, has 0"),
        (lambda t: t["teams"][1]["members"].append({"name": "B9", "role": "leader"}), "team B needs exactly one leader, has 2"),
        (lambda t: t["teams"][1]["members"].append({"name": "A2", "role": "engineer"}), "A2 is used twice"),
        (lambda t: t.update(start="Q1"), "start Q1 is not a member"),
        (lambda t: t.update(order=["B1", "X"]), "order names X"),
    ],
)
def test_broken_topologies_are_rejected(tmp_path: Path, change, message: str) -> None:
    data = yaml.safe_load(DEFAULT.read_text())
    change(data)
    with pytest.raises(InputError) as exc:
        load_topology(_topology(tmp_path, data))
    assert message in str(exc.value)


def test_a_custom_topology_with_three_teams(tmp_path: Path, results, kb) -> None:
    data = {
        "name": "three-teams",
        "start": "L1",
        "teams": [
            {"name": "Core", "members": [{"name": "L1", "role": "leader"}, {"name": "Eng", "role": "engineer"}]},
            {"name": "Risk", "members": [{"name": "L2", "role": "leader"}, {"name": "Biz", "role": "business_stakeholder"}]},
            {"name": "Law", "members": [{"name": "L3", "role": "leader"}, {"name": "Lex", "role": "compliance_officer"}]},
        ],
    }
    topo = load_topology(_topology(tmp_path, data))
    assert isinstance(topo, Topology) and topo.ending_member() == "L1"
    d = discuss(results["aws-web-app"], kb, topology=topo, clock=FIXED)
    assert d.status == "terminated" and d.messages[-1].speaker == "L1"
    assert {r.member for r in d.roles} >= {"Eng", "Biz", "Lex"}
    for m in d.messages[1:]:
        if m.addressee:
            assert topo.allowed(m.speaker, m.addressee)


def test_cli_discuss_markdown_and_json(capsys, tmp_path: Path) -> None:
    out = tmp_path / "d.json"
    assert main(["discuss", str(SEEDS["flask-blog"]), "-f", "json", "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert "Engineering Discussion" in err and "Roles" in err  # printed as it happens, roles table at the end
    data = json.loads(out.read_text())
    assert data["status"] == "terminated" and data["messages"][0]["speaker"] == "user"
    assert main(["discuss", str(SEEDS["aws-web-app"]), "-q"]) == 0
    md = capsys.readouterr().out
    assert md.startswith("# Stakeholder discussion") and "## Roles" in md and "| B4 | Threat modeler |" in md


def test_cli_join_at_the_terminal(capsys, monkeypatch, tmp_path: Path) -> None:
    typed = iter(["I take the engineering seat.", "NEXT: A1", ""])
    monkeypatch.setattr("builtins.input", lambda *a: next(typed))
    out = tmp_path / "d.json"
    assert main(["discuss", str(SEEDS["flask-blog"]), "--join", "engineer", "-f", "json", "-o", str(out), "-q"]) == 0
    data = json.loads(out.read_text())
    a2 = [m for m in data["messages"] if m["speaker"] == "A2"]
    assert a2[0]["agent"] == "human" and a2[0]["content"] == "I take the engineering seat."
    assert main(["discuss", str(SEEDS["flask-blog"]), "--join", "wizard"]) == 2
    assert "no member or role 'wizard'" in capsys.readouterr().err
