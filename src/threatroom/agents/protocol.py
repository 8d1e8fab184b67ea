"""Messages, the hand-over protocol (NEXT: <name>, TERMINATE) and the discussion record."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

_NEXT = re.compile(r"^\s*NEXT:\s*(\S+)\s*$", re.IGNORECASE)
_TERMINATE = re.compile(r"^\s*TERMINATE\s*$")


class Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    index: int
    speaker: str
    role: str
    team: str | None
    addressee: str | None = Field(description="Who speaks next (after routing); None when the exercise ended.")
    content: str
    timestamp: str
    handover: str | None = Field(default=None, description="The NEXT target the speaker asked for.")
    handover_rejected: str | None = Field(default=None, description="Why the requested hand-over was refused.")
    terminate: bool = False
    agent: str = Field(default="offline", description="offline, human, or the LLM model id.")
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    note: str | None = None

    @property
    def by_llm(self) -> bool:
        """Written by a language model: rendered as untrusted text."""
        return self.agent not in ("offline", "human") and self.role != "user"


class RoleAnalysis(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    member: str
    role: str
    heading: str
    analysis: str
    agent: str = Field(default="offline", description="offline, human, or the LLM model id that wrote it.")

    @property
    def by_llm(self) -> bool:
        return self.agent not in ("offline", "human")


class LLMCall(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    agent: str
    model: str
    input_tokens: int
    output_tokens: int
    cost_usd: float
    cached: bool = False
    attempts: int = 1
    price_known: bool = True
    error: str | None = None


class LLMUsage(BaseModel):
    """What the language model was asked and what it cost, from the provider's usage."""

    model_config = ConfigDict(extra="forbid")
    model: str
    endpoint: str | None = None
    prompts: dict[str, str] = Field(default_factory=dict, description="Template id and version per prompt.")
    calls: list[LLMCall] = Field(default_factory=list)
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    cached_calls: int = 0
    fallbacks: int = Field(default=0, description="Turns the offline agent took because the LLM answer was unusable.")
    max_cost: float | None = None
    max_tokens: int | None = None
    price_source: str = ""
    events: list[str] = Field(default_factory=list, description="Retries, fallbacks and stops, in order.")
    threats_added: list[str] = Field(default_factory=list)
    proposals_dropped: list[str] = Field(default_factory=list)


class Discussion(BaseModel):
    """The whole exercise: who said what to whom, and each role's analysis."""

    model_config = ConfigDict(extra="forbid")

    topology: str
    task: str
    status: Literal["terminated", "max_rounds", "budget_exceeded", "cancelled", "stopped"]
    stop_reason: str | None = Field(default=None, description="Why the exercise stopped early; the record is then partial.")
    messages: list[Message]
    roles: list[RoleAnalysis]
    rejected_handovers: int = 0
    llm: LLMUsage | None = None

    @property
    def partial(self) -> bool:
        return self.status in ("budget_exceeded", "cancelled", "stopped")

    def transcript(self) -> list[tuple[str, str | None, str]]:
        """Speaker, addressee and content of each message, without times: what 'the same
        conversation' means."""
        return [(m.speaker, m.addressee, m.content) for m in self.messages]


def parse_reply(text: str) -> tuple[str, str | None, bool]:
    """Split a reply into content, requested NEXT target and TERMINATE.

    Only the last non-empty line counts, so a NEXT: or TERMINATE quoted inside the
    content (from an architecture's own text, say) cannot steer the conversation.
    """
    lines = text.rstrip().splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        return "", None, False
    last = lines[-1]
    if _TERMINATE.match(last):
        return "\n".join(lines[:-1]).rstrip(), None, True
    m = _NEXT.match(last)
    if m:
        return "\n".join(lines[:-1]).rstrip(), m.group(1).rstrip(".,;"), False
    return "\n".join(lines).rstrip(), None, False
