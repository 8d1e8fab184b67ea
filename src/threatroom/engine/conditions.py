"""Compile a rule's condition tree into a predicate over facts.

Each leaf becomes a small closure; matching a technology, facet or neighbour records
bindings (``facet``, ``peer``, matched technology ids) used to word the threat and to
pick technology-specific mitigation hints.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..knowledge.schema import Condition
from .facts import ComponentFacts, Facts, FlowFacts

Bind = dict[str, Any]
CompPred = Callable[[ComponentFacts, Facts, Bind], bool]
FlowPred = Callable[[FlowFacts, Facts, Bind], bool]


def _record(bind: Bind, key: str, ids: set[str]) -> None:
    bind.setdefault(key, set()).update(ids)


def _all(preds: list[Callable[..., bool]]) -> Callable[..., bool]:
    if len(preds) == 1:
        return preds[0]

    def f(x: Any, facts: Facts, bind: Bind) -> bool:
        return all(p(x, facts, bind) for p in preds)

    return f


def _any(preds: list[Callable[..., bool]]) -> Callable[..., bool]:
    def f(x: Any, facts: Facts, bind: Bind) -> bool:
        for p in preds:
            trial: Bind = {}
            if p(x, facts, trial):
                for k, v in trial.items():
                    if isinstance(v, set):
                        _record(bind, k, v)
                    else:
                        bind.setdefault(k, v)
                return True
        return False

    return f


def _not(pred: Callable[..., bool]) -> Callable[..., bool]:
    return lambda x, facts, bind: not pred(x, facts, {})


def _system_has(cond: Condition, pred: CompPred) -> Callable[..., bool]:
    key = id(cond)

    def f(_x: Any, facts: Facts, _bind: Bind) -> bool:
        if key not in facts.memo:
            facts.memo[key] = any(pred(c, facts, {}) for c in facts.components)
        return facts.memo[key]

    return f


def _attr_pred(name: str, wanted: list[Any]) -> CompPred:
    if name == "authentication":
        want = {w.value if hasattr(w, "value") else w for w in wanted}

        def auth(c: ComponentFacts, _f: Facts, _b: Bind) -> bool:
            if c.auth == "unknown":
                return "unknown" in want
            return bool(c.auth & want)

        return auth
    attr = {"internet_facing": "internet_facing", "encryption_at_rest": "encryption_at_rest", "encryption_in_transit": "encryption_in_transit"}[name]
    return lambda c, _f, _b: getattr(c, attr) in wanted


def compile_component(cond: Condition) -> CompPred:
    preds: list[CompPred] = []
    s = cond.model_fields_set
    if "type" in s and cond.type:
        types = frozenset(cond.type)
        preds.append(lambda c, _f, _b: c.type in types)
    if "technology" in s and cond.technology:
        techs = frozenset(cond.technology)

        def own(c: ComponentFacts, _f: Facts, b: Bind) -> bool:
            hit = c.own & techs
            if hit:
                _record(b, "techs", {c.comp.technology or ""} | set(hit))
            return bool(hit)

        preds.append(own)
    if "facet" in s and cond.facet:
        fs = frozenset(cond.facet)

        def facet(c: ComponentFacts, f: Facts, b: Bind) -> bool:
            return _bind_facets(c, f, b, lambda x: bool(f.kb.lineage(x) & fs))

        preds.append(facet)
    if "uses" in s and cond.uses:
        us = frozenset(cond.uses)

        def uses(c: ComponentFacts, f: Facts, b: Bind) -> bool:
            if c.own & us:
                _record(b, "techs", {c.comp.technology or ""})
                return True
            return _bind_facets(c, f, b, lambda x: bool(f.kb.lineage(x) & us))

        preds.append(uses)
    if "tag" in s and cond.tag:
        tags = frozenset(cond.tag)

        def tag(c: ComponentFacts, f: Facts, b: Bind) -> bool:
            if not (c.tags & tags):
                return False
            if c.comp.technology in f.kb.technologies and f.kb.tags_of(c.own) & tags:
                _record(b, "techs", {c.comp.technology or ""})
            else:
                _bind_facets(c, f, b, lambda x: bool(f.kb.tags_of(f.kb.lineage(x)) & tags))
            return True

        preds.append(tag)
    if "feature" in s and cond.feature:
        feats = frozenset(cond.feature)
        preds.append(lambda c, _f, _b: bool(c.features & feats))
    if "data" in s and cond.data:
        data = frozenset(cond.data)
        preds.append(lambda c, _f, _b: bool(c.data & data))
    if "attributes" in s and cond.attributes:
        for name, wanted in sorted(cond.attributes.items()):
            preds.append(_attr_pred(name, list(wanted)))
    if "zone" in s and cond.zone:
        zones = frozenset(cond.zone)
        preds.append(lambda c, _f, _b: c.zone_kind in zones)
    if "inferred" in s and cond.inferred is not None:
        want = cond.inferred
        preds.append(lambda c, _f, _b: c.comp.inferred == want)
    if "connected" in s and cond.connected is not None:
        where = compile_component(cond.connected.where)
        direction = cond.connected.direction

        def connected(c: ComponentFacts, f: Facts, b: Bind) -> bool:
            if direction == "in":
                idx = c.inbound
            elif direction == "out":
                idx = c.outbound
            else:
                idx = c.inbound + c.outbound
            for j in sorted(set(idx)):
                trial: Bind = {}
                peer = f.components[j]
                if where(peer, f, trial):
                    b.setdefault("peer", peer.comp.name)
                    b.setdefault("peer_tech", peer.tech_name)
                    _record(b, "peer_techs", trial.get("techs", set()) | set(peer.uses))
                    named = trial.get("techs") or ({peer.comp.technology} if peer.comp.technology else set())
                    _record(b, "peer_named", set(named))
                    return True
            return False

        preds.append(connected)
    preds.extend(_structural(cond, compile_component))
    if not preds:
        raise ValueError("condition has nothing to match on")
    return _all(preds)


def _bind_facets(c: ComponentFacts, _f: Facts, b: Bind, hit: Callable[[str], bool]) -> bool:
    """Record the facets that match (the first one names {facet}); False when none does."""
    matched = sorted(x for x in c.facet_names if hit(x))
    if not matched:
        return False
    b.setdefault("facet", c.facet_names[matched[0]])
    _record(b, "techs", set(matched))
    return True


def compile_flow(cond: Condition) -> FlowPred:
    preds: list[FlowPred] = []
    s = cond.model_fields_set
    if "flow" in s and cond.flow is not None:
        fc = cond.flow
        if fc.crosses_boundary is not None:
            want_cb = fc.crosses_boundary
            preds.append(lambda x, _f, _b: x.crosses_boundary == want_cb)
        if fc.crosses_internet is not None:
            want_ci = fc.crosses_internet
            preds.append(lambda x, _f, _b: x.crosses_internet == want_ci)
        if fc.protocol is not None:
            protos = frozenset(p.lower() for p in fc.protocol)
            preds.append(lambda x, _f, _b: (x.protocol or "unknown") in protos)
        if fc.encrypted is not None:
            enc = list(fc.encrypted)
            preds.append(lambda x, _f, _b: x.encrypted in enc)
        if fc.authenticated is not None:
            auth = list(fc.authenticated)
            preds.append(lambda x, _f, _b: x.authenticated in auth)
        if fc.data is not None:
            data = frozenset(fc.data)
            preds.append(lambda x, _f, _b: bool(x.data & data))
    for end in ("source", "target"):
        sub = getattr(cond, end)
        if sub is not None:
            pred = compile_component(sub)

            def at_end(x: FlowFacts, f: Facts, b: Bind, pred: CompPred = pred, end: str = end) -> bool:
                trial: Bind = {}
                if not pred(getattr(x, end), f, trial):
                    return False
                _record(b, "techs", trial.get("techs", set()))
                if "facet" in trial:
                    b.setdefault("facet", trial["facet"])
                return True

            preds.append(at_end)
    preds.extend(_structural(cond, compile_flow))
    if not preds:
        raise ValueError("condition has nothing to match on")
    return _all(preds)


def _structural(cond: Condition, compile_same: Callable[[Condition], Any]) -> list[Callable[..., bool]]:
    out: list[Callable[..., bool]] = []
    if cond.all:
        out.append(_all([compile_same(c) for c in cond.all]))
    if cond.any:
        out.append(_any([compile_same(c) for c in cond.any]))
    if cond.not_ is not None:
        out.append(_not(compile_same(cond.not_)))
    if cond.system_has is not None:
        out.append(_system_has(cond.system_has, compile_component(cond.system_has)))
    return out
