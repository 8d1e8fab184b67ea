"""The offline roles' own data (agents/data/roles.yaml), validated when first used."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field

from ...model.vocabulary import ComponentType, DataClass, Feature, Stride

PATH = Path(__file__).resolve().parents[1] / "data" / "roles.yaml"


class _C(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EngineerConfig(_C):
    code_types: list[ComponentType]
    data_types: list[ComponentType]
    pitfalls_per_technology: int = Field(ge=1, le=10)
    technologies: int = Field(ge=1, le=50)


class Category(_C):
    id: str
    title: str
    causes: list[str] = Field(min_length=1)
    change: str


class ArchitectConfig(_C):
    categories: list[Category]


class ImpactRule(_C):
    impact: str
    stride: list[Stride]
    data: list[DataClass] = Field(default_factory=list)
    features: list[Feature] = Field(default_factory=list)
    types: list[ComponentType] = Field(default_factory=list)
    internet_facing: bool | None = None


class BusinessConfig(_C):
    impacts: list[ImpactRule]
    labels: dict[str, str]
    high_effort_causes: list[str]
    plan_size: int = Field(ge=1, le=20)


class RolesConfig(_C):
    engineer: EngineerConfig
    architect: ArchitectConfig
    business: BusinessConfig


@lru_cache(maxsize=1)
def roles_config() -> RolesConfig:
    return RolesConfig.model_validate(yaml.safe_load(PATH.read_text(encoding="utf-8")))
