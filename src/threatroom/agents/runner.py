"""Run a discussion: turns pass by hand-over until TERMINATE or the round limit.

Same model, topology and agents give the same conversation: offline agents are
deterministic and no choice is random. Timestamps come from an injectable clock.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from ..errors import RunStopped
from ..knowledge.base import KnowledgeBase
from ..model.threats import ThreatModel
from .base import Agent, TurnContext
from .protocol import Discussion, Message, RoleAnalysis, parse_reply
from .roles import HEADINGS, offline_agent
from .topology import Role, Topology, load_topology

Clock = Callable[[], str]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def default_task(result: ThreatModel) -> str:
    return (
        f"Threat-model the system '{result.system.name}': {len(result.components)} components, "
        f"{len(result.flows)} data flows and {len(result.threats)} threats in the register. "
        "Each role writes its analysis; the leaders coordinate the teams."
    )


def discuss(
    result: ThreatModel,
    kb: KnowledgeBase,
    *,
    topology: Topology | None = None,
    agents: Mapping[str, Agent] | None = None,
    task: str | None = None,
    clock: Clock | None = None,
    on_message: Callable[[Message], None] | None = None,
    max_rounds: int | None = None,
) -> Discussion:
    """Run the stakeholder discussion over an analysed model and return the record."""
    topo = topology or load_topology()
    clock = clock or _now
    seats: dict[str, Agent] = {m.name: offline_agent(m.role) for m in topo.members()}
    for name, agent in (agents or {}).items():
        member = topo.member(name)
        if member is None:
            raise ValueError(f"no member named {name} in topology {topo.name}")
        seats[member.name] = agent
    task_text = task or default_task(result)
    messages: list[Message] = [
        Message(index=0, speaker="user", role="user", team=None, addressee=topo.start, content=task_text, timestamp=clock())
    ]
    if on_message:
        on_message(messages[0])
    memo: dict[str, object] = {}
    current = topo.start
    limit = max_rounds or topo.max_rounds
    status = "max_rounds"
    rejected = 0
    stop_reason: str | None = None
    for _ in range(limit):
        member = topo.member(current)
        assert member is not None
        ctx = TurnContext(member, topo, tuple(messages), result, kb, task_text, memo)
        try:
            reply = seats[current].respond(ctx)
        except RunStopped as exc:  # budget reached or cancelled: keep what was said, marked partial
            status, stop_reason = exc.status, str(exc)
            break
        content, wanted, terminate = parse_reply(reply.text)
        addressee, refusal = None, None
        if not terminate:
            addressee, refusal = _route(topo, current, wanted)
            rejected += refusal is not None
        msg = Message(
            index=len(messages),
            speaker=current,
            role=member.role.value,
            team=topo.team_of(current).name,
            addressee=addressee,
            content=content,
            timestamp=clock(),
            handover=wanted,
            handover_rejected=refusal,
            terminate=terminate,
            agent=reply.agent,
            input_tokens=reply.input_tokens,
            output_tokens=reply.output_tokens,
            cost_usd=reply.cost_usd,
            note=reply.note,
        )
        messages.append(msg)
        if on_message:
            on_message(msg)
        if terminate:
            status = "terminated"
            break
        assert addressee is not None
        current = addressee
    return Discussion(
        topology=topo.name,
        task=task_text,
        status=status,  # type: ignore[arg-type]
        stop_reason=stop_reason,
        messages=messages,
        roles=_roles(topo, messages),
        rejected_handovers=rejected,
    )


def _route(topo: Topology, speaker: str, wanted: str | None) -> tuple[str, str | None]:
    """The requested target if it exists and may be addressed; else the default order."""
    if wanted is None:
        return topo.default_next(speaker), None
    target = topo.member(wanted)
    if target is None:
        return topo.default_next(speaker), f"no member named {wanted}"
    if not topo.allowed(speaker, target.name):
        why = "cannot hand over to itself" if target.name == speaker else "members talk only within their team; only leaders talk across teams"
        return topo.default_next(speaker), f"{speaker} may not hand over to {target.name}: {why}"
    return target.name, None


def _roles(topo: Topology, messages: list[Message]) -> list[RoleAnalysis]:
    """Each member's latest analysis under its role heading (leaders: their last synthesis)."""
    out: list[RoleAnalysis] = []
    for m in topo.members():
        heading = HEADINGS[m.role]
        said = [x for x in messages if x.speaker == m.name and x.content.startswith(heading)]
        if said:
            out.append(RoleAnalysis(member=m.name, role=m.role.value, heading=heading, analysis=said[-1].content, agent=said[-1].agent))
    return out


__all__ = ["discuss", "default_task", "Role"]
