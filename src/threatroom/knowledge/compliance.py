"""Schemas of the compliance knowledge: regimes, control themes and cause mappings.

Two levels keep the mapping maintainable: each threat cause maps to control themes
("input validation", "encryption in transit"), and each theme lists the article or
control ids that cover it in each regime.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from ..model.vocabulary import DataClass

KbId = Annotated[str, Field(min_length=1, max_length=80, pattern=r"^[a-z0-9][a-z0-9_.+\-]*$")]


class _Kb(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


class AppliesWhen(_Kb):
    """A regime applies when any of these holds."""

    always: bool = False
    data: list[DataClass] = Field(default_factory=list, description="Data classes in scope that bring the regime in.")
    domains: list[str] = Field(default_factory=list, description="Business domains (lower-case words) that bring it in.")
    features: list[str] = Field(default_factory=list, description="Component features that bring it in (e.g. payments).")


class Regime(_Kb):
    id: KbId
    name: str = Field(min_length=2, max_length=60)
    full_name: str = Field(min_length=2, max_length=200)
    applies_when: AppliesWhen
    why: str = Field(min_length=10, max_length=400, description="Why it applies, in one sentence.")
    kind: str = Field(default="regulation", pattern=r"^(regulation|standard|framework)$")


class ControlTheme(_Kb):
    id: KbId
    title: str = Field(min_length=3, max_length=120)
    description: str = Field(default="", max_length=400)
    controls: dict[KbId, list[Annotated[str, Field(min_length=1, max_length=60)]]] = Field(
        description="Regime id -> article or control ids that cover this theme."
    )


class CauseThemes(_Kb):
    cause: KbId
    themes: list[KbId] = Field(min_length=1)
