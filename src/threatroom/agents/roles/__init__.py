"""The offline roles. Each worker writes one analysis under its role heading, then hands
back to its leader; the one who ends the exercise closes it once every analysis is in."""

from __future__ import annotations

from collections.abc import Callable

from ..base import Agent, Reply, TurnContext
from ..topology import Role
from . import architect, business, compliance, engineer, leader, threat_modeler
from .common import Analysis, e, memo

ANALYSTS: dict[Role, Callable[[TurnContext], Analysis]] = {
    Role.THREAT_MODELER: threat_modeler.analyze,
    Role.ENGINEER: engineer.analyze,
    Role.ARCHITECT: architect.analyze,
    Role.COMPLIANCE_OFFICER: compliance.analyze,
    Role.BUSINESS_STAKEHOLDER: business.analyze,
}
HEADINGS: dict[Role, str] = {
    Role.LEADER: leader.HEADING,
    Role.THREAT_MODELER: threat_modeler.HEADING,
    Role.ENGINEER: engineer.HEADING,
    Role.ARCHITECT: architect.HEADING,
    Role.COMPLIANCE_OFFICER: compliance.HEADING,
    Role.BUSINESS_STAKEHOLDER: business.HEADING,
}


def analysis(ctx: TurnContext, role: Role) -> Analysis:
    a = memo(ctx, f"analysis:{role.value}", lambda: ANALYSTS[role](ctx))
    assert isinstance(a, Analysis)
    return a


def summaries(ctx: TurnContext) -> dict[str, str]:
    """One line per role that has delivered, for the leaders."""
    out = {}
    for m in ctx.topology.members():
        if m.role != Role.LEADER and ctx.delivered(m.name):
            out[m.role.value] = analysis(ctx, m.role).summary
    return out


class OfflineWorker:
    def __init__(self, role: Role) -> None:
        self.role = role

    def respond(self, ctx: TurnContext) -> Reply:
        me = ctx.member.name
        lead = ctx.topology.leader_of(me).name
        if not ctx.delivered(me):
            return Reply(f"{analysis(ctx, self.role).text()}\n\nNEXT: {lead}")
        pending = [w.name for w in ctx.workers() if not ctx.delivered(w.name)]
        if me == ctx.topology.ending_member() and not pending:
            s = summaries(ctx)
            closing = "\n".join(f"- {k.replace('_', ' ')}: {e(v)}" for k, v in s.items())
            return Reply(f"Every role has reported. Closing the exercise.\n{closing}\nTERMINATE")
        waiting = ", ".join(pending) if pending else "nobody"
        return Reply(f"My analysis above stands. Still waiting for: {waiting}.\nNEXT: {lead}")


class OfflineLeader:
    def respond(self, ctx: TurnContext) -> Reply:
        return leader.respond(ctx, summaries(ctx))


def offline_agent(role: Role) -> Agent:
    return OfflineLeader() if role == Role.LEADER else OfflineWorker(role)


__all__ = ["HEADINGS", "OfflineLeader", "OfflineWorker", "analysis", "offline_agent"]
