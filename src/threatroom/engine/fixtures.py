"""Run the fixtures of threat rules: small models where a rule must and must not fire."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from ..knowledge.base import KnowledgeBase
from ..knowledge.schema import Fixture, ThreatRule
from ..model.system import SystemModel
from .analyze import match
from .normalize import normalize


@dataclass(frozen=True)
class FixtureFailure:
    rule_id: str
    kind: str  # "fires" or "not_fires"
    index: int
    message: str

    def __str__(self) -> str:
        return f"{self.rule_id} {self.kind}[{self.index}]: {self.message}"


def fixture_model(fx: Fixture) -> SystemModel:
    """Fixtures may omit names and flow ids; fill them in and validate as a model."""
    data: dict[str, Any] = {k: v for k, v in (fx.model_extra or {}).items()}
    comps = [dict(c) for c in data.get("components", [])]
    for c in comps:
        c.setdefault("name", str(c.get("id", "component")))
    flows = [dict(f) for f in data.get("flows", [])]
    for i, f in enumerate(flows):
        f.setdefault("id", f"f{i + 1}")
    data["components"], data["flows"] = comps, flows
    return SystemModel.model_validate(data)


def check_rule(rule: ThreatRule, kb: KnowledgeBase) -> list[FixtureFailure]:
    failures: list[FixtureFailure] = []
    for kind in ("fires", "not_fires"):
        for i, fx in enumerate(getattr(rule.fixtures, kind)):
            try:
                model = fixture_model(fx)
            except ValidationError as exc:
                failures.append(FixtureFailure(rule.id, kind, i, f"fixture is not a valid model: {exc.errors()[0]['loc']} {exc.errors()[0]['msg']}"))
                continue
            problems = model.reference_problems()
            if problems:
                failures.append(FixtureFailure(rule.id, kind, i, f"fixture model: {problems[0][1]}"))
                continue
            model, _ = normalize(model, kb)
            _, matches = match(model, kb)
            hits = sorted({m.subject_id for m in matches if m.rule.rule.id == rule.id})
            if kind == "fires":
                if not hits:
                    failures.append(FixtureFailure(rule.id, kind, i, "rule did not fire"))
                elif fx.subject is not None and fx.subject not in hits:
                    failures.append(FixtureFailure(rule.id, kind, i, f"fired on {hits}, not on '{fx.subject}'"))
            elif hits:
                failures.append(FixtureFailure(rule.id, kind, i, f"rule fired on {hits} but must not"))
    return failures


def check_fixtures(kb: KnowledgeBase, rule_ids: set[str] | None = None) -> list[FixtureFailure]:
    failures: list[FixtureFailure] = []
    for rule in kb.threats:
        if rule_ids is None or rule.id in rule_ids:
            failures.extend(check_rule(rule, kb))
    return failures
