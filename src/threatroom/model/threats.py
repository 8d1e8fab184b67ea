"""The analysis result: the threat register and the model it was computed from.

Field names here are the JSON output contract documented in docs/json-contract.md.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from .system import Component, DataAsset, Flow, System, TrustBoundary
from .vocabulary import Severity, Stride


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Shared(BaseModel):
    """Values an analysis may share between threats: immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class MitigationOut(_Shared):
    id: str
    title: str
    description: str = ""
    hints: list[str] = Field(default_factory=list, description="Advice specific to technologies in the model.")


class DreadRationale(_Shared):
    damage: str
    reproducibility: str
    exploitability: str
    affected_users: str
    discoverability: str


class DreadScore(_Shared):
    damage: int = Field(ge=1, le=10)
    reproducibility: int = Field(ge=1, le=10)
    exploitability: int = Field(ge=1, le=10)
    affected_users: int = Field(ge=1, le=10)
    discoverability: int = Field(ge=1, le=10)
    score: float = Field(ge=1, le=10, description="Mean of the five factors, one decimal.")
    rationale: DreadRationale


TriageStatus = Literal["open", "mitigated", "accepted", "false_positive"]


class Triage(_Out):
    """A person's decision about a threat, kept with the analysis and shown in later exports."""

    status: TriageStatus
    note: str = Field(default="", max_length=2_000)
    updated_at: str | None = None
    updated_by: str | None = None
    carried_from: str | None = Field(default=None, description="The earlier analysis this decision was made in, when it carries over to a revision.")


class Threat(_Out):
    id: str = Field(description="Stable id: '<rule id>@<component or flow id>'.")
    rule_id: str
    component_id: str | None = None
    flow_id: str | None = None
    element_name: str
    stride: Stride
    title: str
    description: str
    attack_vector: str
    technologies: list[str] = Field(default_factory=list, description="Catalog ids the threat is about.")
    mitigations: list[MitigationOut]
    dread: DreadScore
    severity: Severity
    cwe: list[str] = Field(default_factory=list)
    capec: list[str] = Field(default_factory=list)
    attack: list[str] = Field(default_factory=list)
    references: list[str] = Field(default_factory=list)
    merged_from: list[str] = Field(default_factory=list, description="Rules with the same cause folded into this one.")
    source: Literal["library", "llm", "user"] = "library"
    triage: Triage | None = Field(default=None, description="Status and note set by a person (service and web UI); null when untriaged.")


class Finding(_Out):
    """A warning about the input or the analysis (unknown technology, assumption...)."""

    code: str
    message: str
    path: str | None = None


class Summary(_Out):
    total: int
    by_severity: dict[str, int]
    by_stride: dict[str, int]


class ComponentOut(Component):
    technologies: list[str] = Field(default_factory=list, description="Technology followed by facets (catalog ids).")
    technology_names: list[str] = Field(default_factory=list)


class ThreatModel(_Out):
    """Model plus threat register: what ``analyze`` returns."""

    schema_version: Literal["1"] = "1"
    generator: dict[str, str | int]
    system: System
    components: list[ComponentOut]
    flows: list[Flow]
    trust_boundaries: list[TrustBoundary]
    data_assets: list[DataAsset]
    threats: list[Threat]
    top_priorities: list[str] = Field(description="Ids of the threats to address first, most urgent first.")
    summary: Summary
    warnings: list[Finding] = Field(default_factory=list)

    def threat(self, threat_id: str) -> Threat:
        for t in self.threats:
            if t.id == threat_id:
                return t
        raise KeyError(threat_id)
