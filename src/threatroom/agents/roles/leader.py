"""Team leaders: route the work, hand the threat model across teams, and sum up.

A leader's turn, in order of precedence:
1. its team's threat modeler has not delivered -> hand over to them;
2. its team holds the delivered threat model and another leader has not received it
   while that leader's team still has work -> brief that leader;
3. a member of its team has not delivered -> hand over to the first one;
4. its team is done and another team still has work -> confirm to that team's leader;
5. everyone is done -> synthesis, to whoever ends the exercise (or TERMINATE if it is them).
"""

from __future__ import annotations

from ..base import Reply, TurnContext
from ..topology import Role
from .common import e, plural

HEADING = "Leader Synthesis:"


def _pending(ctx: TurnContext, team_name: str) -> list[str]:
    team = next(t for t in ctx.topology.teams if t.name == team_name)
    return [m.name for m in team.members if m.role != Role.LEADER and not ctx.delivered(m.name)]


def _briefed(ctx: TurnContext, me: str, other: str) -> bool:
    tm_done = [m.index for m in ctx.messages if m.role == Role.THREAT_MODELER.value and ctx.delivered(m.speaker)]
    since = min(tm_done) if tm_done else 0
    return any(m.speaker == me and m.addressee == other and m.index > since for m in ctx.messages)


def respond(ctx: TurnContext, summaries: dict[str, str]) -> Reply:
    topo, me = ctx.topology, ctx.member.name
    team = topo.team_of(me)
    others = [t for t in topo.teams if t.name != team.name]
    leaders = {t.name: next(m.name for m in t.members if m.role == Role.LEADER) for t in topo.teams}
    modelers = [m for m in team.members if m.role == Role.THREAT_MODELER]
    pending_mine = _pending(ctx, team.name)
    first_turn = not ctx.spoken(me)
    opener = "Task received. " if first_turn and ctx.messages[-1].speaker == "user" else ""
    for m in modelers:
        if not ctx.delivered(m.name):
            return Reply(f"{opener}{m.name}, please build the STRIDE/DREAD threat model of the system first.\nNEXT: {m.name}")
    tm_done = any(ctx.delivered(m.name) for m in topo.members() if m.role == Role.THREAT_MODELER)
    if modelers and tm_done:
        for t in others:
            if _pending(ctx, t.name) and not _briefed(ctx, me, leaders[t.name]):
                brief = e(summaries.get(Role.THREAT_MODELER.value, ""))
                return Reply(
                    f"{opener}Handing the threat model to team {t.name}. In short: {brief}. "
                    f"Please have your members write their analyses and confirm back.\nNEXT: {leaders[t.name]}"
                )
    if pending_mine:
        nxt = pending_mine[0]
        role = topo.member(nxt).role  # type: ignore[union-attr]
        return Reply(f"{opener}{nxt}, your turn: write the {role.value.replace('_', ' ')} analysis for this system.\nNEXT: {nxt}")
    busy = [t for t in others if _pending(ctx, t.name)]
    if busy:
        done = [e(summaries[m.role.value]) for m in team.members if m.role != Role.LEADER and m.role.value in summaries]
        lines = f"{HEADING}\nTeam {team.name} is done: " + ("; ".join(done) if done else "nothing to add") + "."
        return Reply(f"{lines}\nNEXT: {leaders[busy[0].name]}")
    ender = topo.ending_member()
    text = _synthesis(ctx, summaries)
    if ender == me:
        return Reply(f"{text}\nTERMINATE")
    target = ender if topo.allowed(me, ender) else topo.leader_of(ender).name
    if target == me:
        return Reply(f"{text}\nTERMINATE")
    return Reply(f"{text}\nNEXT: {target}")


def _synthesis(ctx: TurnContext, summaries: dict[str, str]) -> str:
    r = ctx.result
    parts = [HEADING, f"All {plural(len(ctx.workers()), 'analysis')} are in for {e(r.system.name)}."]
    for role in (Role.THREAT_MODELER, Role.ENGINEER, Role.ARCHITECT, Role.COMPLIANCE_OFFICER, Role.BUSINESS_STAKEHOLDER):
        if role.value in summaries:
            parts.append(f"- {role.value.replace('_', ' ').capitalize()}: {e(summaries[role.value])}.")
    if r.top_priorities:
        top = [e(r.threat(t).title) for t in r.top_priorities[:3]]
        parts.append("First three priorities: " + "; ".join(top) + ".")
    return "\n".join(parts)
