"""Schemas of the knowledge base files: technologies, threat rules, mitigations.

Rules apply through a declarative condition tree (see :class:`Condition`); nothing in a
knowledge file is ever evaluated as code.
"""

from __future__ import annotations

import string
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..model.vocabulary import AuthMethod, ComponentType, DataClass, Feature, Stride, ZoneKind

KbId = Annotated[str, Field(min_length=1, max_length=80, pattern=r"^[a-z0-9][a-z0-9_.+\-]*$")]
Tag = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[a-z0-9][a-z0-9_.+\-]*$")]

#: Placeholders a rule's title, description and attack vector may use.
PLACEHOLDERS = frozenset({"name", "tech", "facet", "peer", "source", "target", "data", "type"})


class _Kb(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True, populate_by_name=True)


# --------------------------------------------------------------------------- catalog


class TagDef(_Kb):
    """A declared tag; technologies and conditions may only use declared tags."""

    id: Tag
    description: str = Field(min_length=3, max_length=300)


class Technology(_Kb):
    """A technology the catalog knows: a product, service, framework or library."""

    id: KbId
    name: str = Field(min_length=1, max_length=120)
    kind: Literal["service", "product", "framework", "library", "protocol", "platform"]
    type: ComponentType | None = Field(
        default=None, description="Component type when the technology is a component of its own."
    )
    hosts: list[ComponentType] = Field(
        default_factory=list, description="For libraries/frameworks that run inside a component: host types."
    )
    aliases: list[Annotated[str, Field(min_length=2, max_length=120)]] = Field(default_factory=list)
    tags: list[Tag] = Field(default_factory=list)
    is_a: list[KbId] = Field(default_factory=list, description="Broader technologies this one is a kind of.")
    provider: str | None = None
    description: str = Field(default="", max_length=600)

    @model_validator(mode="after")
    def _placed(self) -> Technology:
        if self.type is None and not self.hosts:
            raise ValueError("a technology needs a 'type' (as a component) or 'hosts' (as a facet)")
        return self


# --------------------------------------------------------------------------- conditions

AttrValue = bool | Literal["unknown"] | AuthMethod


class FlowCondition(_Kb):
    """Properties of a data flow; every given field must match."""

    crosses_boundary: bool | None = None
    crosses_internet: bool | None = Field(
        default=None, description="True when one end sits in an internet or client zone and the other does not."
    )
    protocol: list[str] | None = None
    encrypted: list[bool | Literal["unknown"]] | None = None
    authenticated: list[bool | Literal["unknown"]] | None = None
    data: list[DataClass] | None = None


class Connected(_Kb):
    """The component has a neighbour matching ``where`` along a flow."""

    direction: Literal["in", "out", "any"] = "any"
    where: Condition


class Condition(_Kb):
    """A node of the condition tree. Several keys in one node must all hold (AND).

    Component facts: ``type``, ``technology`` (the component's own, or a broader one it
    ``is_a``), ``facet``, ``uses`` (technology or facet), ``tag``, ``feature``, ``data``,
    ``attributes``, ``zone``, ``inferred``, ``connected``. System facts: ``system_has``.
    Flow facts (flow rules only): ``flow``, ``source``, ``target``.
    """

    all: list[Condition] | None = None
    any: list[Condition] | None = None
    not_: Condition | None = Field(default=None, alias="not")
    type: list[ComponentType] | None = None
    technology: list[KbId] | None = None
    facet: list[KbId] | None = None
    uses: list[KbId] | None = None
    tag: list[Tag] | None = None
    feature: list[Feature] | None = None
    data: list[DataClass] | None = None
    attributes: dict[
        Literal["internet_facing", "encryption_at_rest", "encryption_in_transit", "authentication"],
        list[AttrValue],
    ] | None = None
    zone: list[ZoneKind] | None = None
    inferred: bool | None = None
    connected: Connected | None = None
    system_has: Condition | None = None
    flow: FlowCondition | None = None
    source: Condition | None = None
    target: Condition | None = None

    @model_validator(mode="after")
    def _not_empty(self) -> Condition:
        if not self.model_fields_set:
            raise ValueError("an empty condition matches everything; say what it must match")
        for key in ("all", "any"):
            value = getattr(self, key)
            if value is not None and not value:
                raise ValueError(f"'{key}' needs at least one condition")
        return self


COMPONENT_KEYS = frozenset(
    {"type", "technology", "facet", "uses", "tag", "feature", "data", "attributes", "zone", "inferred", "connected"}
)
FLOW_KEYS = frozenset({"flow", "source", "target"})


# --------------------------------------------------------------------------- mitigations


class Hint(_Kb):
    """Technology-specific advice: shown only when the threatened element uses one of ``uses``."""

    uses: list[KbId] = Field(min_length=1)
    text: str = Field(min_length=10, max_length=1_200)


class MitigationSpec(_Kb):
    title: str = Field(min_length=3, max_length=160)
    description: str = Field(default="", max_length=1_200)
    hints: list[Hint] = Field(default_factory=list)


class Mitigation(MitigationSpec):
    """An entry of the mitigation library, referenced from threats by id."""

    id: KbId


class MitigationRef(_Kb):
    use: KbId


# --------------------------------------------------------------------------- threats


class Dread(_Kb):
    damage: int = Field(ge=1, le=10)
    reproducibility: int = Field(ge=1, le=10)
    exploitability: int = Field(ge=1, le=10)
    affected_users: int = Field(ge=1, le=10)
    discoverability: int = Field(ge=1, le=10)
    why: str | None = Field(default=None, max_length=400, description="Why the baseline is what it is.")


class Fixture(BaseModel):
    """A small model the rule must (or must not) fire on; checked by the test suite."""

    model_config = ConfigDict(extra="allow")
    subject: str | None = Field(default=None, description="Component or flow id the rule must fire on.")


class Fixtures(_Kb):
    fires: list[Fixture] = Field(min_length=1)
    not_fires: list[Fixture] = Field(min_length=1)


class ThreatRule(_Kb):
    id: KbId
    title: str = Field(min_length=5, max_length=200)
    stride: Stride
    applies_to: Literal["component", "flow"] = "component"
    when: Condition
    cause: KbId = Field(description="What goes wrong; rules with the same cause on one element are merged.")
    specificity: int | None = Field(default=None, ge=0, le=10)
    supersedes: list[KbId] = Field(default_factory=list)
    description: str = Field(min_length=20, max_length=2_000)
    attack_vector: str = Field(min_length=10, max_length=1_200)
    cwe: list[Annotated[int, Field(ge=1, le=2000)]] = Field(default_factory=list)
    capec: list[Annotated[int, Field(ge=1, le=1000)]] = Field(default_factory=list)
    attack: list[Annotated[str, Field(pattern=r"^T\d{4}(\.\d{3})?$")]] = Field(default_factory=list)
    dread: Dread
    mitigations: list[KbId | MitigationSpec] = Field(min_length=1)
    references: list[str] = Field(default_factory=list)
    fixtures: Fixtures

    @field_validator("stride", mode="before")
    @classmethod
    def _stride_letter(cls, value: Any) -> Any:
        letters = {s.value[0]: s for s in Stride}
        if isinstance(value, str) and len(value) == 1 and value.upper() in letters:
            return letters[value.upper()]
        return value

    @field_validator("title", "description", "attack_vector")
    @classmethod
    def _placeholders(cls, value: str) -> str:
        for _, field, _, _ in string.Formatter().parse(value):
            if field is not None and field not in PLACEHOLDERS:
                raise ValueError(f"unknown placeholder {{{field}}}; allowed: {', '.join(sorted(PLACEHOLDERS))}")
        return value

    @model_validator(mode="after")
    def _scope(self) -> ThreatRule:
        _check_scope(self.when, self.applies_to, path="when")
        return self


def _check_scope(cond: Condition, scope: str, path: str) -> None:
    """Flow rules put component facts under source/target; component rules use no flow facts."""
    keys = set(cond.model_fields_set) - {"all", "any", "not_", "system_has"}
    if scope == "flow":
        misplaced = keys & COMPONENT_KEYS
        if misplaced:
            raise ValueError(f"{path}: flow rule uses component keys {sorted(misplaced)}; put them under source/target")
    else:
        misplaced = keys & FLOW_KEYS
        if misplaced:
            raise ValueError(f"{path}: component rule uses flow keys {sorted(misplaced)}")
    for key in ("all", "any"):
        for i, child in enumerate(getattr(cond, key) or []):
            _check_scope(child, scope, f"{path}.{key}[{i}]")
    if cond.not_ is not None:
        _check_scope(cond.not_, scope, f"{path}.not")
    if cond.system_has is not None:
        _check_scope(cond.system_has, "component", f"{path}.system_has")
    for end in ("source", "target"):
        child = getattr(cond, end)
        if child is not None:
            _check_scope(child, "component", f"{path}.{end}")
    if cond.connected is not None:
        _check_scope(cond.connected.where, "component", f"{path}.connected.where")


def walk(cond: Condition):
    """Every node of a condition tree, depth first."""
    yield cond
    for child in (cond.all or []) + (cond.any or []):
        yield from walk(child)
    for child in (cond.not_, cond.system_has, cond.source, cond.target):
        if child is not None:
            yield from walk(child)
    if cond.connected is not None:
        yield from walk(cond.connected.where)


# --------------------------------------------------------------------------- lexicon


class LexiconEntry(_Kb):
    """Words the plain-text reader recognizes (generic components, actors, data classes,
    authentication, features, relations between components, zones).

    ``patterns`` are regular expressions matched case-insensitively on word boundaries.
    """

    id: KbId
    kind: Literal["component", "actor", "data_class", "auth", "feature", "relation", "hosting", "zone", "ambiguous"]
    patterns: list[str] = Field(min_length=1)
    name: str | None = Field(default=None, max_length=80)
    type: ComponentType | None = None
    zone: ZoneKind | None = None
    data_class: DataClass | None = None
    auth: AuthMethod | None = None
    feature: Feature | None = None
    attach_to: list[ComponentType] = Field(default_factory=list, description="Preferred holders when none is in the sentence.")
    direction: Literal["forward", "reverse"] | None = None
    label: str | None = Field(default=None, max_length=60)
    named: bool = Field(default=False, description="The matched words name a distinct component ('ledger service').")

    @field_validator("patterns")
    @classmethod
    def _compiles(cls, value: list[str]) -> list[str]:
        import re

        for p in value:
            try:
                re.compile(p)
            except re.error as exc:
                raise ValueError(f"pattern {p!r} is not a valid regular expression: {exc}") from None
        return value

    @model_validator(mode="after")
    def _fields_for_kind(self) -> LexiconEntry:
        need = {
            "component": ("type", "name"),
            "actor": ("name",),
            "data_class": ("data_class",),
            "auth": ("auth",),
            "feature": ("feature",),
            "relation": ("direction", "label"),
            "zone": ("zone",),
        }.get(self.kind, ())
        missing = [f for f in need if getattr(self, f) is None]
        if missing:
            raise ValueError(f"a '{self.kind}' entry needs {', '.join(missing)}")
        return self


Connected.model_rebuild()
Condition.model_rebuild()
