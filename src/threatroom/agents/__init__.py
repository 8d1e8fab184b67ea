"""The stakeholder team: routed, multi-agent deliberation over a threat model."""

from .base import Agent, HumanAgent, Reply, TurnContext
from .protocol import Discussion, Message, RoleAnalysis, parse_reply
from .runner import discuss
from .topology import Role, Topology, load_topology

__all__ = [
    "Agent", "Discussion", "HumanAgent", "Message", "Reply", "Role", "RoleAnalysis", "Topology", "TurnContext",
    "discuss", "load_topology", "parse_reply",
]
