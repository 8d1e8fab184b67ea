"""The architecture model: system, components, flows, trust boundaries and data assets.

Every element can carry evidence (the text span or file line it came from) and says
whether it was inferred, and why, so that nothing in a model is unexplained.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .vocabulary import (
    TYPE_SYNONYMS,
    AuthMethod,
    ComponentType,
    DataClass,
    Feature,
    ZoneKind,
)

Slug = Annotated[
    str,
    Field(
        min_length=1,
        max_length=80,
        pattern=r"^[a-z0-9][a-z0-9_.\-]*$",
        description="Stable identifier: lower-case letters, digits, '.', '_' and '-'.",
    ),
]
Unknown = Literal["unknown"]
Tri = bool | Unknown
Text = Annotated[str, Field(max_length=20_000)]
Name = Annotated[str, Field(min_length=1, max_length=200)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=False)


class Evidence(_Strict):
    """Where an element came from: a span of input text or a line of a file."""

    kind: Literal["text", "file"] = "text"
    start: int | None = Field(default=None, ge=0, description="Character offset where the span starts.")
    end: int | None = Field(default=None, ge=0, description="Character offset just past the span.")
    quote: str | None = Field(default=None, max_length=2_000, description="The text of the span.")
    file: str | None = None
    line: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _ordered(self) -> Evidence:
        if self.start is not None and self.end is not None and self.end < self.start:
            raise ValueError("evidence end is before its start")
        return self


class Attributes(_Strict):
    """Security-relevant facts about a component; each is known or 'unknown'."""

    internet_facing: Tri = "unknown"
    data_classes: list[DataClass] | Unknown = Field(
        default="unknown", description="Data classes the component stores or processes."
    )
    authentication: list[AuthMethod] | Unknown = Field(
        default="unknown", description="How callers authenticate; ['none'] when they do not."
    )
    encryption_at_rest: Tri = "unknown"
    encryption_in_transit: Tri = "unknown"


class Component(_Strict):
    id: Slug
    name: Name
    type: ComponentType
    technology: str | None = Field(default=None, description="Catalog id of the technology, e.g. 'aws.s3', 'flask'.")
    facets: list[str] = Field(default_factory=list, description="Catalog ids of libraries running inside it.")
    features: list[Feature] = Field(default_factory=list)
    zone: str | None = Field(default=None, description="Id of the trust boundary the component sits in.")
    runs_on: str | None = Field(default=None, description="Id of the host or platform component it runs on.")
    description: Text = ""
    attributes: Attributes = Field(default_factory=Attributes)
    evidence: list[Evidence] = Field(default_factory=list)
    inferred: bool = False
    inferred_reason: str | None = None

    @field_validator("type", mode="before")
    @classmethod
    def _type_synonyms(cls, value: object) -> object:
        if isinstance(value, str):
            key = value.strip().lower().replace(" ", "_").replace("-", "_").replace("/", "_")
            if key in TYPE_SYNONYMS:
                return TYPE_SYNONYMS[key]
            return key
        return value

    @model_validator(mode="after")
    def _reason(self) -> Component:
        if self.inferred and not self.inferred_reason:
            raise ValueError("an inferred component needs an inferred_reason")
        return self


class Flow(_Strict):
    id: Slug
    source: str
    target: str
    label: Name = "data"
    protocol: str | None = Field(default=None, description="e.g. https, http, sql, grpc, amqp, mqtt.")
    data_classes: list[DataClass] = Field(default_factory=list)
    crosses_boundary: bool | None = Field(
        default=None, description="Computed from the zones of source and target when omitted."
    )
    encrypted: Tri = "unknown"
    authenticated: Tri = "unknown"
    evidence: list[Evidence] = Field(default_factory=list)
    inferred: bool = False
    inferred_reason: str | None = None

    @field_validator("protocol", mode="before")
    @classmethod
    def _proto_lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value


class TrustBoundary(_Strict):
    """A trust zone; a flow between two zones crosses a trust boundary."""

    id: Slug
    name: Name
    kind: ZoneKind = ZoneKind.PRIVATE
    parent: str | None = None
    description: Text = ""
    evidence: list[Evidence] = Field(default_factory=list)
    inferred: bool = False
    inferred_reason: str | None = None


class DataAsset(_Strict):
    id: Slug
    name: Name
    classification: DataClass
    stored_in: list[str] = Field(default_factory=list, description="Ids of components that hold it.")
    description: Text = ""
    evidence: list[Evidence] = Field(default_factory=list)
    inferred: bool = False
    inferred_reason: str | None = None


class System(_Strict):
    name: Name = "Unnamed system"
    description: Text = ""
    domain: str | None = Field(default=None, description="Business domain, e.g. healthcare, retail, gaming.")
    data_classifications: list[DataClass] = Field(default_factory=list, description="Data classes in scope.")
    assumptions: list[str] = Field(default_factory=list)


class SystemModel(_Strict):
    """A whole architecture: the input of an analysis."""

    schema_version: Literal["1"] = "1"
    system: System = Field(default_factory=System)
    components: list[Component] = Field(default_factory=list, max_length=50_000)
    flows: list[Flow] = Field(default_factory=list, max_length=200_000)
    trust_boundaries: list[TrustBoundary] = Field(default_factory=list)
    data_assets: list[DataAsset] = Field(default_factory=list)

    def reference_problems(self) -> list[tuple[tuple[str | int, ...], str]]:
        """Duplicate ids and references to missing elements, as (path, message) pairs."""
        problems: list[tuple[tuple[str | int, ...], str]] = []
        for section in ("components", "flows", "trust_boundaries", "data_assets"):
            seen: dict[str, int] = {}
            for i, item in enumerate(getattr(self, section)):
                if item.id in seen:
                    problems.append(((section, i, "id"), f"duplicate id '{item.id}' (first at {section}[{seen[item.id]}])"))
                else:
                    seen[item.id] = i
        comps = {c.id for c in self.components}
        zones = {z.id for z in self.trust_boundaries}
        for i, c in enumerate(self.components):
            if c.zone is not None and c.zone not in zones:
                problems.append((("components", i, "zone"), f"unknown trust boundary '{c.zone}'"))
            if c.runs_on is not None and (c.runs_on not in comps or c.runs_on == c.id):
                problems.append((("components", i, "runs_on"), f"unknown host component '{c.runs_on}'"))
        for i, f in enumerate(self.flows):
            for end in ("source", "target"):
                ref = getattr(f, end)
                if ref not in comps:
                    problems.append((("flows", i, end), f"unknown component '{ref}'"))
        for i, z in enumerate(self.trust_boundaries):
            if z.parent is not None and z.parent not in zones:
                problems.append((("trust_boundaries", i, "parent"), f"unknown trust boundary '{z.parent}'"))
        for i, a in enumerate(self.data_assets):
            for j, ref in enumerate(a.stored_in):
                if ref not in comps:
                    problems.append((("data_assets", i, "stored_in", j), f"unknown component '{ref}'"))
        return problems
