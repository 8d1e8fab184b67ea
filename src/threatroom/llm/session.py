"""The LLM run, end to end: the team discussion with LLM seats, the threats the threat
modeler added, and the usage record that goes into the report's appendix."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from ..agents import Discussion, Message, discuss, load_topology
from ..agents.base import Agent
from ..agents.protocol import LLMUsage
from ..agents.topology import Topology
from ..engine.merge import add_threats
from ..knowledge.base import KnowledgeBase
from ..model.threats import ThreatModel
from .agents import LLMAgent
from .runtime import LLMRuntime
from .threats import accept


def price_source() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"genai-prices {version('genai-prices')} (pydantic-ai's price table)"
    except PackageNotFoundError:  # pragma: no cover - installed with pydantic-ai
        return "pydantic-ai's price table"


def usage_record(runtime: LLMRuntime, added: list[str], dropped: list[str]) -> LLMUsage:
    m = runtime.meter
    return LLMUsage(
        model=runtime.settings.model,
        endpoint=runtime.settings.base_url,
        prompts=runtime.prompts.versions(),
        calls=list(m.calls),
        input_tokens=m.input_tokens,
        output_tokens=m.output_tokens,
        cost_usd=m.cost_usd,
        cached_calls=sum(c.cached for c in m.calls),
        fallbacks=runtime.fallbacks,
        max_cost=runtime.settings.max_cost,
        max_tokens=runtime.settings.max_tokens,
        price_source=price_source(),
        events=list(m.events),
        threats_added=added,
        proposals_dropped=dropped,
    )


def llm_discuss(
    result: ThreatModel,
    kb: KnowledgeBase,
    runtime: LLMRuntime,
    *,
    topology: Topology | None = None,
    seats: Mapping[str, Agent] | None = None,
    on_message: Callable[[Message], None] | None = None,
    max_rounds: int | None = None,
    task: str | None = None,
) -> tuple[ThreatModel, Discussion]:
    """Discuss ``result`` with LLM seats (people in ``seats`` keep theirs); returns the
    register with the accepted LLM threats, and the record with its usage."""
    topo = topology or load_topology()
    agents: dict[str, Agent] = {m.name: LLMAgent(m.role, runtime) for m in topo.members()}
    agents.update(seats or {})
    record = discuss(result, kb, topology=topo, agents=agents, on_message=on_message, max_rounds=max_rounds, task=task)
    kept, dropped = accept(runtime.proposals, result)
    merged = add_threats(result, kept)
    record.llm = usage_record(runtime, [t.id for t in kept], dropped)
    if record.stop_reason:
        record.llm.events.append(f"stopped: {record.stop_reason}")
    return merged, record


__all__ = ["llm_discuss", "price_source", "usage_record"]
