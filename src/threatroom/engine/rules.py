"""Rules compiled once per knowledge base, indexed so each element meets only candidates."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from ..knowledge.base import KnowledgeBase
from ..knowledge.schema import Condition, ThreatRule
from .conditions import CompPred, FlowPred, compile_component, compile_flow
from .facts import ComponentFacts


@dataclass(frozen=True)
class CompiledRule:
    rule: ThreatRule
    component: CompPred | None
    flow: FlowPred | None
    specificity: int


@dataclass(frozen=True)
class RuleIndex:
    by_type: dict[str, list[CompiledRule]]
    by_tech: dict[str, list[CompiledRule]]
    unindexed: list[CompiledRule]
    flow_rules: list[CompiledRule]

    def candidates(self, c: ComponentFacts) -> list[CompiledRule]:
        seen: dict[str, CompiledRule] = {r.rule.id: r for r in self.by_type.get(c.type.value, ())}
        for tid in c.uses:
            for r in self.by_tech.get(tid, ()):
                seen[r.rule.id] = r
        for r in self.unindexed:
            seen[r.rule.id] = r
        return [seen[k] for k in sorted(seen)]


def _specificity(rule: ThreatRule) -> int:
    if rule.specificity is not None:
        return rule.specificity
    best = 0
    for node in _positive(rule.when):
        if node.technology or node.facet or node.uses:
            best = max(best, 3)
        elif node.tag:
            best = max(best, 2)
        elif node.feature or node.connected:
            best = max(best, 1)
    return best


def _positive(cond: Condition):
    """Nodes that must hold for the rule to fire: not under 'not' or 'system_has'."""
    yield cond
    for child in (cond.all or []) + (cond.any or []):
        yield from _positive(child)
    for child in (cond.source, cond.target):
        if child is not None:
            yield from _positive(child)
    if cond.connected is not None:
        yield from _positive(cond.connected.where)


def _required(cond: Condition) -> tuple[str, frozenset[str]] | None:
    """A key every match must satisfy (top-level AND only), for indexing."""
    s = cond.model_fields_set
    for key in ("technology", "uses"):
        if key in s and getattr(cond, key):
            return "tech", frozenset(getattr(cond, key))
    if "type" in s and cond.type:
        return "type", frozenset(t.value for t in cond.type)
    for child in cond.all or []:
        found = _required(child)
        if found:
            return found
    return None


@lru_cache(maxsize=8)
def compile_rules(kb: KnowledgeBase) -> RuleIndex:
    by_type: dict[str, list[CompiledRule]] = {}
    by_tech: dict[str, list[CompiledRule]] = {}
    unindexed: list[CompiledRule] = []
    flows: list[CompiledRule] = []
    # A technology id matches its narrower technologies too, so index each rule under
    # every technology whose lineage contains a required one.
    narrower: dict[str, set[str]] = {}
    for tid in kb.technologies:
        for anc in kb.lineage(tid):
            narrower.setdefault(anc, set()).add(tid)
    for rule in kb.threats:
        spec = _specificity(rule)
        if rule.applies_to == "flow":
            flows.append(CompiledRule(rule, None, compile_flow(rule.when), spec))
            continue
        cr = CompiledRule(rule, compile_component(rule.when), None, spec)
        req = _required(rule.when)
        if req is None:
            unindexed.append(cr)
        elif req[0] == "type":
            for t in req[1]:
                by_type.setdefault(t, []).append(cr)
        else:
            for t in req[1]:
                for n in narrower.get(t, {t}):
                    by_tech.setdefault(n, []).append(cr)
    return RuleIndex(by_type, by_tech, unindexed, flows)
