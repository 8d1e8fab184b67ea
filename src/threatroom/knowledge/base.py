"""The loaded, immutable knowledge base and the look-ups the engine needs."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property

from .compliance import ControlTheme, Regime
from .schema import LexiconEntry, Mitigation, TagDef, Technology, ThreatRule


def normalize_name(text: str) -> str:
    """Lower-case, unify separators: 'Flask-Login' and 'flask login' look the same."""
    return re.sub(r"[\s_\-/]+", " ", text.strip().lower())


@dataclass(frozen=True, eq=False)
class KnowledgeBase:
    """Read-only after loading; compared and hashed by identity."""

    technologies: dict[str, Technology]
    threats: list[ThreatRule]
    mitigations: dict[str, Mitigation]
    tags: dict[str, TagDef] = field(default_factory=dict)
    lexicon: list[LexiconEntry] = field(default_factory=list)
    regimes: dict[str, Regime] = field(default_factory=dict)
    control_themes: dict[str, ControlTheme] = field(default_factory=dict)
    cause_themes: dict[str, list[str]] = field(default_factory=dict)
    sources: tuple[str, ...] = field(default=())

    @cached_property
    def _names(self) -> dict[str, str]:
        names: dict[str, str] = {}
        for tech in self.technologies.values():
            for name in (tech.id, tech.name, *tech.aliases):
                names.setdefault(normalize_name(name), tech.id)
        return names

    def resolve(self, name: str) -> str | None:
        """Catalog id for an id, name or alias (case and separators ignored), else None."""
        if name in self.technologies:
            return name
        return self._names.get(normalize_name(name))

    @cached_property
    def _ancestry(self) -> dict[str, frozenset[str]]:
        out: dict[str, frozenset[str]] = {}

        def up(tid: str) -> frozenset[str]:
            if tid in out:
                return out[tid]
            acc = {tid}
            for parent in self.technologies[tid].is_a:
                acc |= up(parent)
            out[tid] = frozenset(acc)
            return out[tid]

        for tid in self.technologies:
            up(tid)
        return out

    def lineage(self, tech_id: str) -> frozenset[str]:
        """The technology and every broader technology it is a kind of."""
        return self._ancestry.get(tech_id, frozenset({tech_id}))

    def tags_of(self, tech_ids: frozenset[str]) -> frozenset[str]:
        return frozenset(t for tid in tech_ids if tid in self.technologies for t in self.technologies[tid].tags)

    @cached_property
    def _rules(self) -> dict[str, ThreatRule]:
        return {r.id: r for r in self.threats}

    def rule(self, rule_id: str) -> ThreatRule:
        return self._rules[rule_id]

    def counts(self) -> dict[str, int]:
        return {
            "technologies": len(self.technologies),
            "threats": len(self.threats),
            "mitigations": len(self.mitigations),
            "tags": len(self.tags),
        }
