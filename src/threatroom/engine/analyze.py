"""From a system model to a threat register: match, word, score, merge, rank."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from .. import __version__
from ..errors import InputError, InputProblem
from ..ingest.injection import scan_model
from ..knowledge.base import KnowledgeBase
from ..knowledge.loader import load_knowledge
from ..knowledge.schema import MitigationSpec, ThreatRule
from ..model.system import SystemModel
from ..model.threats import ComponentOut, DreadScore, Finding, MitigationOut, Summary, Threat, ThreatModel
from ..model.vocabulary import SEVERITY_ORDER, Severity, Stride
from .dread import Adjustment, adjustments, build, severity_of
from .facts import DATA_LABELS, TYPE_LABELS, ComponentFacts, Facts, FlowFacts, build_facts
from .normalize import normalize
from .rules import CompiledRule, compile_rules

TOP_PRIORITIES = 10
PER_ELEMENT_IN_TOP = 2


@dataclass(frozen=True)
class Match:
    """One rule firing on one element, before wording and merging."""

    rule: CompiledRule
    subject: ComponentFacts | FlowFacts
    bind: dict[str, Any]

    @property
    def subject_id(self) -> str:
        return self.subject.comp.id if isinstance(self.subject, ComponentFacts) else self.subject.flow.id


def match(model: SystemModel, kb: KnowledgeBase) -> tuple[Facts, list[Match]]:
    """Every (rule, element) pair whose condition holds; no merging."""
    facts = build_facts(model, kb)
    index = compile_rules(kb)
    found: list[Match] = []
    for c in facts.components:
        for cr in index.candidates(c):
            bind: dict[str, Any] = {}
            if cr.component is not None and cr.component(c, facts, bind):
                found.append(Match(cr, c, bind))
    for f in facts.flows:
        for cr in index.flow_rules:
            bind = {}
            if cr.flow is not None and cr.flow(f, facts, bind):
                found.append(Match(cr, f, bind))
    return facts, found


class _Words(dict):  # type: ignore[type-arg]
    def __missing__(self, key: str) -> str:
        return {"facet": "its libraries", "peer": "a connected component", "data": "its data"}.get(key, key)

    def fill(self, template: str) -> str:
        text = template.format_map(self)
        tech = self.get("tech")
        if tech:  # "{name} ({tech})" in a rule, when the name already carries the technology
            text = text.replace(f"({tech}) ({tech})", f"({tech})").replace(f"{tech} ({tech})", tech)
            for glue in (" ", " of ", " in ", " on ", " for "):  # "Grafana of Grafana" when name and technology agree
                text = text.replace(f"{tech}{glue}{tech}", tech)
        return text


def _words(m: Match) -> _Words:
    s = m.subject
    if isinstance(s, FlowFacts):
        name = f"{s.source.comp.name} → {s.target.comp.name} ({s.flow.label})"
        words = {
            "name": name,
            "tech": s.target.tech_name,
            "source": s.source.comp.name,
            "target": s.target.comp.name,
            "type": "data flow",
            "data": ", ".join(DATA_LABELS[d] for d in sorted(s.data | s.target.data)) or "its data",
        }
    else:
        words = {
            "name": _named(s.comp.name, s.tech_name if s.comp.technology else None),
            "tech": s.tech_name,
            "type": TYPE_LABELS[s.type],
            "data": ", ".join(DATA_LABELS[d] for d in sorted(s.data)) or "its data",
        }
    if "facet" in m.bind:
        words["facet"] = m.bind["facet"]
    if "peer" in m.bind:
        words["peer"] = m.bind["peer"]
    return _Words(words)


def _named(name: str, tech: str | None) -> str:
    """The element's name, with its technology when the name does not say it: 'Blog (Flask)'."""
    if tech and tech.lower() not in name.lower() and name.lower() not in tech.lower():
        return f"{name} ({tech})"
    return name


@dataclass
class _Shared:
    """Per-analysis memo: identical mitigations and scores are built once and shared."""

    mitigations: dict[tuple[str, frozenset[str]], list[MitigationOut]] = field(default_factory=dict)
    hint_techs: dict[str, frozenset[str]] = field(default_factory=dict)
    dread: dict[tuple[str, tuple[Adjustment, ...]], DreadScore] = field(default_factory=dict)

    def mitigations_for(self, rule: ThreatRule, kb: KnowledgeBase, context: frozenset[str]) -> list[MitigationOut]:
        relevant = self.hint_techs.get(rule.id)
        if relevant is None:
            specs = [kb.mitigations[i] if isinstance(i, str) else i for i in rule.mitigations]
            relevant = frozenset(t for spec in specs for h in spec.hints for t in h.uses)
            self.hint_techs[rule.id] = relevant
        key = (rule.id, context & relevant)
        if key not in self.mitigations:
            self.mitigations[key] = _mitigations(rule, kb, context)
        return self.mitigations[key]

    def dread_for(self, rule: ThreatRule, subject: ComponentFacts | FlowFacts) -> DreadScore:
        adj = adjustments(rule.stride, subject)
        key = (rule.id, adj)
        if key not in self.dread:
            self.dread[key] = build(rule.dread, adj)
        return self.dread[key]


def _mitigations(rule: ThreatRule, kb: KnowledgeBase, context: frozenset[str]) -> list[MitigationOut]:
    out: list[MitigationOut] = []
    for n, item in enumerate(rule.mitigations, start=1):
        if isinstance(item, str):
            spec: MitigationSpec = kb.mitigations[item]
            mid = item
        else:
            spec, mid = item, f"{rule.id}#{n}"
        hints = [h.text for h in spec.hints if context & set(h.uses)]
        out.append(MitigationOut(id=mid, title=spec.title, description=spec.description, hints=hints))
    return out


def _context(m: Match, kb: KnowledgeBase) -> frozenset[str]:
    s = m.subject
    uses = (s.source.uses | s.target.uses) if isinstance(s, FlowFacts) else s.uses
    peers: set[str] = set()
    for tid in m.bind.get("peer_techs", ()):
        peers |= kb.lineage(tid)
    return frozenset(uses | peers)


def _threat(m: Match, kb: KnowledgeBase, shared: _Shared) -> Threat:
    rule = m.rule.rule
    words = _words(m)
    s = m.subject
    dread = shared.dread_for(rule, s)
    named = set(m.bind.get("techs", set())) | set(m.bind.get("peer_named", set()))
    techs = {t for t in named if t in kb.technologies}
    is_flow = isinstance(s, FlowFacts)
    # Built from validated knowledge and model data: no need to validate again.
    return Threat.model_construct(
        id=f"{rule.id}@{m.subject_id}",
        rule_id=rule.id,
        component_id=None if is_flow else m.subject_id,
        flow_id=m.subject_id if is_flow else None,
        element_name=words["name"] if is_flow else s.comp.name,  # type: ignore[union-attr]
        stride=rule.stride,
        title=words.fill(rule.title),
        description=words.fill(rule.description),
        attack_vector=words.fill(rule.attack_vector),
        technologies=sorted(techs),
        mitigations=shared.mitigations_for(rule, kb, _context(m, kb)),
        dread=dread,
        severity=severity_of(dread.score),
        cwe=[f"CWE-{n}" for n in rule.cwe],
        capec=[f"CAPEC-{n}" for n in rule.capec],
        attack=list(rule.attack),
        references=list(rule.references),
        merged_from=[],
        source="library",
    )


def _merge(matches: list[Match], kb: KnowledgeBase, shared: _Shared) -> list[Threat]:
    """One threat per (element, cause): the most specific rule speaks, the others fold in.

    A rule that ``supersedes`` another removes it from the same element whatever its cause.
    """
    supersedes = {r.id: set(r.supersedes) for r in kb.threats if r.supersedes}
    dropped: dict[str, set[str]] = {}
    for m in matches:
        dropped.setdefault(m.subject_id, set()).update(supersedes.get(m.rule.rule.id, ()))
    groups: dict[tuple[str, str], list[Match]] = {}
    for m in matches:
        if m.rule.rule.id not in dropped[m.subject_id]:
            groups.setdefault((m.subject_id, m.rule.rule.cause), []).append(m)
    threats: list[Threat] = []
    for _key, group in sorted(groups.items()):
        group.sort(key=lambda m: (-m.rule.specificity, m.rule.rule.id))
        primary = _threat(group[0], kb, shared)
        if len(group) > 1:
            mits = {x.id: x for x in primary.mitigations}
            cwe, capec = list(primary.cwe), list(primary.capec)
            for m in group[1:]:
                extra = _threat(m, kb, shared)
                for x in extra.mitigations:
                    mits.setdefault(x.id, x)
                cwe += [c for c in extra.cwe if c not in cwe]
                capec += [c for c in extra.capec if c not in capec]
            primary = primary.model_copy(
                update={
                    "mitigations": list(mits.values()),
                    "cwe": cwe,
                    "capec": capec,
                    "merged_from": sorted(m.rule.rule.id for m in group[1:]),
                }
            )
        threats.append(primary)
    return threats


def _subject(t: Threat) -> str:
    return t.component_id or t.flow_id or ""


def _rank(threats: list[Threat]) -> list[str]:
    ordered = sorted(threats, key=lambda t: (-t.dread.score, -SEVERITY_ORDER[t.severity], t.id))
    per: Counter[str] = Counter()
    top: list[str] = []
    for t in ordered:
        key = _subject(t)
        if per[key] >= PER_ELEMENT_IN_TOP:
            continue
        per[key] += 1
        top.append(t.id)
        if len(top) == TOP_PRIORITIES:
            break
    return top


def analyze(model: SystemModel, kb: KnowledgeBase | None = None) -> ThreatModel:
    """Analyse a system model with a knowledge base (the built-in one by default)."""
    kb = kb or load_knowledge()
    problems = model.reference_problems()
    if problems:
        raise InputError([InputProblem("<model>", ".".join(str(p) for p in path), msg) for path, msg in problems])
    model, warnings = normalize(model, kb)
    warnings += scan_model(model)  # reported only: the text never steers the analysis
    facts, matches = match(model, kb)
    threats = sorted(_merge(matches, kb, _Shared()), key=lambda t: (-t.dread.score, t.id))
    by_sev = Counter(t.severity.value for t in threats)
    by_stride = Counter(t.stride.value for t in threats)
    components = [
        ComponentOut(
            **c.model_dump(),
            technologies=[t for t in [c.technology, *c.facets] if t],
            technology_names=[kb.technologies[t].name if t in kb.technologies else t for t in [c.technology, *c.facets] if t],
        )
        for c in model.components
    ]
    return ThreatModel(
        generator={"name": "threatroom", "version": __version__, **kb.counts()},
        system=model.system,
        components=components,
        flows=[  # crossing computed from the zones where the input left it out
            f if f.crosses_boundary is not None else f.model_copy(update={"crosses_boundary": facts.flows[i].crosses_boundary})
            for i, f in enumerate(model.flows)
        ],
        trust_boundaries=model.trust_boundaries,
        data_assets=model.data_assets,
        threats=threats,
        top_priorities=_rank(threats),
        summary=Summary(
            total=len(threats),
            by_severity={s.value: by_sev.get(s.value, 0) for s in Severity},
            by_stride={s.value: by_stride.get(s.value, 0) for s in Stride},
        ),
        warnings=warnings,
    )


__all__ = ["Finding", "Match", "analyze", "match"]
