"""Versioned prompt templates, loaded from data files and checked at load time.

A template may use only the placeholders its kind allows; a typo is an error with
the file, not a prompt that silently says ``{memebr}``.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..agents.topology import Role
from ..errors import KnowledgeError, KnowledgeProblem

PROMPTS_DIR = Path(__file__).parent / "data" / "prompts"
PLACEHOLDERS: dict[str, frozenset[str]] = {
    "common": frozenset(),
    "role": frozenset({"member", "team", "role", "heading", "suggested"}),
    "extraction": frozenset(),
}


class PromptTemplate(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z_]+$")
    version: int = Field(ge=1)
    kind: Literal["common", "role", "extraction"]
    role: Role | None = None
    instructions: str = Field(min_length=20)
    task: str = ""

    @property
    def ref(self) -> str:
        return f"{self.id}@v{self.version}"

    def render(self, **values: str) -> tuple[str, str]:
        return self.instructions.format(**values).strip(), self.task.format(**values).strip()


@dataclass(frozen=True)
class PromptSet:
    common: PromptTemplate
    roles: dict[Role, PromptTemplate]
    extraction: PromptTemplate

    def versions(self) -> dict[str, str]:
        return {t.id: t.ref for t in (self.common, *self.roles.values(), self.extraction)}


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def load_prompts(directory: Path | None = None) -> PromptSet:
    """Load and check every template in ``directory`` (the built-in ones by default)."""
    return _load(directory or PROMPTS_DIR)


@lru_cache(maxsize=4)
def _load(directory: Path) -> PromptSet:
    problems: list[KnowledgeProblem] = []
    found: dict[str, PromptTemplate] = {}
    for path in sorted(directory.glob("*.yaml")):
        try:
            t = PromptTemplate.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
        except (yaml.YAMLError, ValidationError, ValueError) as exc:
            problems.append(KnowledgeProblem(str(path), 1, None, f"invalid prompt template: {exc}"))
            continue
        bad = (_fields(t.instructions) | _fields(t.task)) - PLACEHOLDERS[t.kind]
        if bad:
            problems.append(KnowledgeProblem(str(path), 1, t.id, f"unknown placeholder(s) {sorted(bad)}; allowed: {sorted(PLACEHOLDERS[t.kind])}"))
        if t.kind == "role" and t.role is None:
            problems.append(KnowledgeProblem(str(path), 1, t.id, "a role template needs 'role'"))
        key = t.role.value if t.kind == "role" and t.role else t.kind
        if key in found:
            problems.append(KnowledgeProblem(str(path), 1, t.id, f"a second template for {key}"))
        found[key] = t
    missing = [k for k in ("common", "extraction", *(r.value for r in Role)) if k not in found]
    if missing:
        problems.append(KnowledgeProblem(str(directory), 1, None, f"no template for {', '.join(missing)}"))
    if problems:
        raise KnowledgeError(problems)
    return PromptSet(found["common"], {r: found[r.value] for r in Role}, found["extraction"])


__all__ = ["PromptSet", "PromptTemplate", "load_prompts"]
