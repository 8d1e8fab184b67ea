"""The agent interface: an agent receives the conversation so far and the model, and
returns a message (content ending with `NEXT: <name>` or `TERMINATE`).

Offline agents reason from the threat model and the knowledge base; a person takes a
seat through `HumanAgent` and a callback; an LLM agent (later) implements the same
`respond` method.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from ..knowledge.base import KnowledgeBase
from ..model.threats import ThreatModel
from .protocol import Message
from .topology import Member, Role, Topology


@dataclass(frozen=True)
class Reply:
    text: str
    agent: str = "offline"
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    note: str | None = None


@dataclass
class TurnContext:
    """Everything an agent may look at when it is its turn."""

    member: Member
    topology: Topology
    messages: tuple[Message, ...]
    result: ThreatModel
    kb: KnowledgeBase
    task: str
    memo: dict[str, object] = field(default_factory=dict)  # shared, per discussion: analyses computed once

    def spoken(self, name: str) -> list[Message]:
        return [m for m in self.messages if m.speaker == name]

    def delivered(self, name: str) -> bool:
        """Has this member delivered its analysis (a message under its role heading)?"""
        from .roles import HEADINGS

        member = self.topology.member(name)
        if member is None or member.role == Role.LEADER:
            return False
        heading = HEADINGS[member.role]
        # A person in the seat decides what their analysis is: anything they said counts.
        return any(m.content.startswith(heading) or m.agent == "human" for m in self.spoken(name))

    def workers(self) -> list[Member]:
        return [m for m in self.topology.members() if m.role != Role.LEADER]


class Agent(Protocol):
    def respond(self, ctx: TurnContext) -> Reply: ...


@dataclass(frozen=True)
class HumanAgent:
    """A person at a seat: `ask` receives the context and returns what they typed."""

    ask: Callable[[TurnContext], str]

    def respond(self, ctx: TurnContext) -> Reply:
        return Reply(self.ask(ctx), agent="human")
