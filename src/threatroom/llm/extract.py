"""LLM-assisted extraction (opt-in): the model proposes components and flows the
deterministic reader missed. Every proposal must quote the description; a quote that
is not in the text, or that does not mention what it claims, drops the proposal,
and every drop is listed. Accepted proposals carry their span as evidence."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pydantic_ai import Agent as PydanticAgent
from pydantic_ai.exceptions import AgentRunError, ModelAPIError, UnexpectedModelBehavior

from ..errors import RunStopped
from ..knowledge.base import KnowledgeBase
from ..model.system import Component, Evidence, Flow, SystemModel
from ..model.threats import Finding
from ..model.vocabulary import ComponentType
from .grounding import data_block
from .outputs import ExtractionOutput, ProposedComponent, ProposedFlow
from .runtime import LLMRuntime

_SPACE = re.compile(r"\s+")
_WORD = re.compile(r"[a-z0-9][a-z0-9.+#-]*")


@dataclass
class ExtractionReport:
    added_components: list[str] = field(default_factory=list)
    added_flows: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    failed: str | None = None

    def findings(self) -> list[Finding]:
        out = [Finding(code="llm-proposal-added", message=f"the LLM proposed '{n}', supported by a quote of the description") for n in [*self.added_components, *self.added_flows]]
        out += [Finding(code="llm-proposal-dropped", message=f"dropped an LLM proposal: {d}") for d in self.dropped]
        if self.failed:
            out.append(Finding(code="llm-extraction-failed", message=f"LLM-assisted extraction did not run ({self.failed}); the deterministic extraction stands"))
        return out


def find_span(text: str, quote: str) -> tuple[int, int] | None:
    """Where ``quote`` occurs in ``text``, ignoring case and runs of whitespace."""
    norm_chars: list[str] = []
    index: list[int] = []
    prev_space = False
    for i, ch in enumerate(text):
        if ch.isspace():
            if prev_space:
                continue
            norm_chars.append(" ")
            prev_space = True
        else:
            norm_chars.append(ch.lower())
            prev_space = False
        index.append(i)
    needle = _SPACE.sub(" ", quote.strip().lower())
    if len(needle) < 2:
        return None
    at = "".join(norm_chars).find(needle)
    if at < 0:
        return None
    return index[at], index[at + len(needle) - 1] + 1


def _mentions(quote: str, *names: str | None) -> bool:
    said = set(_WORD.findall(quote.lower()))
    return any(w in said for n in names if n for w in _WORD.findall(n.lower()) if len(w) > 2)


def _slug(name: str, taken: set[str]) -> str:
    base = "-".join(_WORD.findall(name.lower()))[:50].strip("-.") or "component"
    base = re.sub(r"[^a-z0-9-]", "-", base)
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    taken.add(slug)
    return slug


def _component(p: ProposedComponent, text: str, model: SystemModel, kb: KnowledgeBase, taken: set[str]) -> Component | str:
    """A new component, the id of the one already found, or why the proposal is dropped (prefixed '!')."""
    span = find_span(text, p.quote)
    if span is None:
        return f"!component '{p.name}': its quote is not in the description"
    tech = kb.resolve(p.technology) if p.technology else None
    if not _mentions(p.quote, p.name, p.technology):
        return f"!component '{p.name}': its quote does not mention it"
    for c in model.components:
        if c.name.lower() == p.name.lower() or (tech and c.technology == tech):
            return c.id  # already found: not a new proposal, not a drop
    return Component(
        id=_slug(p.name, taken), name=p.name, type=ComponentType(p.type), technology=tech,
        description="Proposed by the LLM from the quoted text.",
        evidence=[Evidence(start=span[0], end=span[1], quote=text[span[0] : span[1]][:2000])],
    )


def _flow(p: ProposedFlow, text: str, model: SystemModel, taken: set[str], aliases: dict[str, str]) -> Flow | str:
    by_name = aliases | {c.name.lower(): c.id for c in model.components} | {c.id: c.id for c in model.components}
    src, dst = by_name.get(p.source.lower()), by_name.get(p.target.lower())
    if src is None or dst is None or src == dst:
        return f"flow '{p.source} -> {p.target}': an end is not a component of the model"
    span = find_span(text, p.quote)
    if span is None:
        return f"flow '{p.source} -> {p.target}': its quote is not in the description"
    if any(f.source == src and f.target == dst for f in model.flows):
        return ""
    return Flow(id=_slug(f"{src}-to-{dst}", taken), source=src, target=dst, label=p.label or "data", protocol=p.protocol,
                evidence=[Evidence(start=span[0], end=span[1], quote=text[span[0] : span[1]][:2000])])


def merge_proposals(out: ExtractionOutput, text: str, model: SystemModel, kb: KnowledgeBase) -> tuple[SystemModel, ExtractionReport]:
    report = ExtractionReport()
    taken = {c.id for c in model.components} | {f.id for f in model.flows}
    components = list(model.components)
    aliases: dict[str, str] = {}
    for p in out.components:
        c = _component(p, text, model.model_copy(update={"components": components}), kb, taken)
        if isinstance(c, Component):
            components.append(c)
            report.added_components.append(c.name)
        elif c.startswith("!"):
            report.dropped.append(c[1:])
        else:
            aliases[p.name.lower()] = c
    grown = model.model_copy(update={"components": components})
    flows = list(model.flows)
    for p in out.flows:
        f = _flow(p, text, grown.model_copy(update={"flows": flows}), taken, aliases)
        if isinstance(f, Flow):
            flows.append(f)
            report.added_flows.append(f"{f.source} -> {f.target}")
        elif f:
            report.dropped.append(f)
    return grown.model_copy(update={"flows": flows}), report


def llm_extract(text: str, model: SystemModel, kb: KnowledgeBase, runtime: LLMRuntime) -> tuple[SystemModel, ExtractionReport]:
    """Ask the model for what the reader missed and merge what the text supports."""
    template = runtime.prompts.extraction
    instructions, task = template.render()
    instructions = f"{instructions}\n\n{runtime.prompts.common.instructions.strip()}"
    doc = {
        "architecture_text": text[:20_000],
        "types": [t.value for t in ComponentType],
        "already_found": [
            {"name": c.name, "type": c.type.value, "technology": c.technology, "quote": c.evidence[0].quote if c.evidence else None}
            for c in model.components
        ],
    }
    agent: PydanticAgent[None, ExtractionOutput] = PydanticAgent(
        runtime.model, output_type=runtime.output_spec(ExtractionOutput), instructions=instructions,
        retries={"output": runtime.settings.output_retries}, defer_model_check=True,
    )
    runtime.meter.agent = "extraction"
    try:
        out = runtime.run(agent, f"{task}\n\n{data_block(doc, runtime.settings.max_prompt_chars)}", model_settings=runtime.model_settings(ExtractionOutput)).output
    except RunStopped:
        raise
    except (ModelAPIError, UnexpectedModelBehavior, AgentRunError) as exc:
        runtime.meter.events.append(f"extraction: {type(exc).__name__}; the deterministic extraction stands")
        return model, ExtractionReport(failed=type(exc).__name__)
    return merge_proposals(out, text, model, kb)


__all__ = ["ExtractionReport", "find_span", "llm_extract", "merge_proposals"]
