"""Everything a report shows, gathered once: the register, the diagrams, the team's
analyses, the plan, the test cases and the appendix. Renderers only lay it out."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from ... import __version__
from ...agents import Discussion, discuss, load_topology
from ...agents.base import TurnContext
from ...agents.roles import business
from ...errors import ThreatroomError
from ...knowledge.base import KnowledgeBase
from ...model.threats import Threat, ThreatModel


@dataclass(frozen=True)
class TreeView:
    goal: str
    json: str
    mermaid: str
    svg: str | None
    dot: str = ""


@dataclass(frozen=True)
class Priority:
    threat: Threat
    why: list[str]


@dataclass(frozen=True)
class Usage:
    agent: str
    messages: int
    input_tokens: int
    output_tokens: int
    cost_usd: float


@dataclass
class Report:
    result: ThreatModel
    discussion: Discussion | None
    source_name: str
    source_text: str
    generated_at: str
    priorities: list[Priority]
    dfd_mermaid: str
    dfd_svg: str | None
    dfd_dot: str
    trees: list[TreeView]
    feature: str
    usage: list[Usage]
    notes: list[str] = field(default_factory=list)
    version: str = __version__

    @property
    def offline(self) -> bool:
        if self.discussion is not None and self.discussion.llm is not None:
            return False
        return all(u.cost_usd == 0 and u.input_tokens == 0 for u in self.usage)

    def role(self, role: str) -> str | None:
        if self.discussion is None:
            return None
        return next((r.analysis for r in self.discussion.roles if r.role == role), None)


def _context(result: ThreatModel, kb: KnowledgeBase) -> TurnContext:
    topo = load_topology()
    return TurnContext(topo.members()[0], topo, (), result, kb, "report")


def build_report(
    result: ThreatModel,
    kb: KnowledgeBase,
    *,
    source_name: str,
    source_text: str,
    discussion: Discussion | None = None,
    with_discussion: bool = True,
    goals: list[str] | None = None,
    render_svg: bool = True,
    now: str | None = None,
) -> Report:
    """Collect the report's content; SVG rendering failures become notes, not errors."""
    from ..attack_tree import attack_tree_dot, attack_tree_json, attack_tree_mermaid
    from ..dfd import dfd_dot, dfd_mermaid
    from ..gherkin import feature_file
    from ...engine.attack_trees import build_attack_tree, default_goals

    notes: list[str] = []
    if discussion is None and with_discussion:
        discussion = discuss(result, kb)
    ctx = _context(result, kb)
    priorities = []
    for tid in result.top_priorities[:3]:
        t = result.threat(tid)
        impact = [business.roles_config().business.labels[i] for i in business.impacts(t, ctx)]
        raised = [getattr(t.dread.rationale, f) for f in ("damage", "exploitability", "affected_users")]
        why = [f"puts at risk: {', '.join(impact)}" if impact else "puts the service's trustworthiness at risk"]
        why += [r.split(", ", 1)[1] for r in raised if ", " in r]
        priorities.append(Priority(t, why))

    def svg(dot: str, what: str) -> str | None:
        if not render_svg:
            return None
        from ..graphviz import render_dot

        try:
            return render_dot(dot, "svg").decode("utf-8")
        except ThreatroomError as exc:
            notes.append(f"The {what} could not be drawn as SVG ({exc}); its Mermaid text is in the Markdown report.")
            return None

    trees = []
    for goal in goals or default_goals(result):
        tree = build_attack_tree(result, goal)
        dot = attack_tree_dot(tree)
        trees.append(TreeView(goal, attack_tree_json(tree), attack_tree_mermaid(tree), svg(dot, f"attack tree '{goal}'"), dot))
    dfd_text = dfd_dot(result)
    usage: dict[str, list] = {}
    for m in discussion.messages if discussion else []:
        if m.speaker == "user":
            continue
        u = usage.setdefault(f"{m.speaker} ({m.role.replace('_', ' ')}, {m.agent})", [0, 0, 0, 0.0])
        u[0] += 1
        u[1] += m.input_tokens
        u[2] += m.output_tokens
        u[3] += m.cost_usd
    return Report(
        result=result,
        discussion=discussion,
        source_name=source_name,
        source_text=source_text,
        generated_at=now or datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        priorities=priorities,
        dfd_mermaid=dfd_mermaid(result),
        dfd_svg=svg(dfd_text, "data-flow diagram"),
        dfd_dot=dfd_text,
        trees=trees,
        feature=feature_file(result),
        usage=[Usage(k, *v) for k, v in usage.items()],
        notes=notes,
    )
