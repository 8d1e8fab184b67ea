"""What every offline role reads: the register, per-element facts, escaping."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ...engine.facts import ComponentFacts, Facts, build_facts
from ...knowledge.base import KnowledgeBase
from ...model.system import Component, SystemModel
from ...model.threats import Threat, ThreatModel
from ...model.vocabulary import SEVERITY_ORDER
from ...render.escape import md_cell, md_inline
from ..base import TurnContext

e = md_inline
ec = md_cell


@dataclass(frozen=True)
class Analysis:
    heading: str
    summary: str  # one line, for the leaders' synthesis
    body: str

    def text(self) -> str:
        return f"{self.heading}\nIn short: {e(self.summary)}.\n\n{self.body}".rstrip()


def facts(result: ThreatModel, kb: KnowledgeBase) -> Facts:
    """Per-component facts (data handled, exposure, neighbours) for an analysed model."""
    comps = [Component(**c.model_dump(exclude={"technologies", "technology_names"})) for c in result.components]
    model = SystemModel(
        system=result.system, components=comps, flows=result.flows,
        trust_boundaries=result.trust_boundaries, data_assets=result.data_assets,
    )
    return build_facts(model, kb)


def memo(ctx: TurnContext, key: str, make: Callable[[], object]) -> object:
    if key not in ctx.memo:
        ctx.memo[key] = make()
    return ctx.memo[key]


def component_facts(ctx: TurnContext) -> dict[str, ComponentFacts]:
    f = memo(ctx, "facts", lambda: facts(ctx.result, ctx.kb))
    assert isinstance(f, Facts)
    return f.by_id


def rank(threats: list[Threat]) -> list[Threat]:
    return sorted(threats, key=lambda t: (-t.dread.score, -SEVERITY_ORDER[t.severity], t.id))


def names(result: ThreatModel) -> dict[str, str]:
    out = {c.id: c.name for c in result.components}
    out.update({f.id: f"{out.get(f.source, f.source)} → {out.get(f.target, f.target)}" for f in result.flows})
    return out


def element(t: Threat) -> str:
    return t.component_id or t.flow_id or ""


def shorten(text: str, limit: int = 140) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"


def plural(n: int, word: str) -> str:
    if n == 1:
        return f"{n} {word}"
    if word.endswith("y") and word[-2:-1] not in "aeiou":
        return f"{n} {word[:-1]}ies"
    if word.endswith(("s", "x", "sh", "ch")):
        return f"{n} {word[:-2]}es" if word.endswith("is") else f"{n} {word}es"
    return f"{n} {word}s"
