"""Who may talk to whom: teams, leaders, the start, the default order. Topologies are data.

Rules: members talk only within their team; leaders also talk to each other. A topology
is rejected (with every problem listed) when a role is unknown, a team has no leader or
more than one, a name repeats, or the start, order or terminator name someone absent.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ..errors import InputError, InputProblem

DEFAULT = Path(__file__).parent / "data" / "default-topology.yaml"
Name = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z][A-Za-z0-9_-]*$")]


class Role(StrEnum):
    LEADER = "leader"
    THREAT_MODELER = "threat_modeler"
    ENGINEER = "engineer"
    ARCHITECT = "architect"
    COMPLIANCE_OFFICER = "compliance_officer"
    BUSINESS_STAKEHOLDER = "business_stakeholder"


ROLE_TITLES = {
    Role.LEADER: "Team leader",
    Role.THREAT_MODELER: "Threat modeler",
    Role.ENGINEER: "Engineer",
    Role.ARCHITECT: "Architect",
    Role.COMPLIANCE_OFFICER: "Compliance officer",
    Role.BUSINESS_STAKEHOLDER: "Business stakeholder",
}


class Member(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: Name
    role: Role


class Team(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: Name
    members: list[Member] = Field(min_length=1)


class Topology(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = "custom"
    start: Name
    terminator: Name | None = Field(default=None, description="Who ends the exercise; default: the first threat modeler, else the start.")
    max_rounds: int = Field(default=40, ge=2, le=500)
    teams: list[Team] = Field(min_length=1)
    order: list[Name] = Field(default_factory=list, description="Default speaking order when no valid NEXT is given.")

    @model_validator(mode="after")
    def _rules(self) -> Topology:
        problems: list[str] = []
        names: dict[str, str] = {}
        for team in self.teams:
            leaders = [m for m in team.members if m.role == Role.LEADER]
            if len(leaders) != 1:
                problems.append(f"team {team.name} needs exactly one leader, has {len(leaders)}")
            for m in team.members:
                if m.name in names:
                    problems.append(f"member name {m.name} is used twice (teams {names[m.name]} and {team.name})")
                names[m.name] = team.name
        for label, ref in (("start", self.start), ("terminator", self.terminator)):
            if ref is not None and ref not in names:
                problems.append(f"{label} {ref} is not a member of any team")
        for ref in self.order:
            if ref not in names:
                problems.append(f"order names {ref}, who is not a member of any team")
        if not problems:
            unreachable = set(names) - self._reachable()
            if unreachable:
                problems.append(f"members {sorted(unreachable)} cannot be reached from {self.start}")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def _reachable(self) -> set[str]:
        seen, todo = {self.start}, [self.start]
        while todo:
            cur = todo.pop()
            for m in self.members():
                if m.name not in seen and self.allowed(cur, m.name):
                    seen.add(m.name)
                    todo.append(m.name)
        return seen

    def members(self) -> list[Member]:
        return [m for t in self.teams for m in t.members]

    def member(self, name: str) -> Member | None:
        return next((m for m in self.members() if m.name.lower() == name.lower()), None)

    def team_of(self, name: str) -> Team:
        return next(t for t in self.teams if any(m.name == name for m in t.members))

    def leader_of(self, name: str) -> Member:
        return next(m for m in self.team_of(name).members if m.role == Role.LEADER)

    def allowed(self, sender: str, target: str) -> bool:
        """Same team, or both leaders; nobody talks to themselves."""
        if sender == target:
            return False
        s, t = self.member(sender), self.member(target)
        if s is None or t is None:
            return False
        if self.team_of(s.name).name == self.team_of(t.name).name:
            return True
        return s.role == Role.LEADER and t.role == Role.LEADER

    def ending_member(self) -> str:
        if self.terminator:
            return self.terminator
        modelers = [m.name for m in self.members() if m.role == Role.THREAT_MODELER]
        return modelers[0] if modelers else self.start

    def default_next(self, speaker: str) -> str:
        """The first member after the speaker in the default order who may hear from them."""
        order = self.order or [m.name for m in self.members()]
        if speaker in order:
            i = order.index(speaker)
            cycle = order[i + 1 :] + order[: i + 1]
        else:
            cycle = order
        for name in cycle:
            if self.allowed(speaker, name):
                return name
        return self.leader_of(speaker).name if self.leader_of(speaker).name != speaker else self.start


def load_topology(path: str | Path | None = None) -> Topology:
    """The default topology, or one from a YAML file, validated with clear errors."""
    p = Path(path) if path is not None else DEFAULT
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"cannot read topology: {exc.strerror or exc}", str(p)) from None
    except yaml.YAMLError as exc:
        raise InputError(f"topology is not valid YAML: {exc}", str(p)) from None
    try:
        return Topology.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_url=False):
            loc = ".".join(str(x) for x in err["loc"])
            msg = err["msg"].removeprefix("Value error, ")
            problems.append(InputProblem(str(p), loc, msg))
        raise InputError(problems) from None
