"""The structured answers asked of the model. Anything else is refused and re-asked."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from ..model.vocabulary import ComponentType, Stride

_Cwe = Field(default_factory=list, max_length=5, description="CWE ids such as CWE-89.")


class _Answer(BaseModel):
    model_config = ConfigDict(extra="ignore")


class TurnOutput(_Answer):
    """One turn of a team member: what they say, and who speaks next."""

    message: str = Field(min_length=1, max_length=8_000, description="What you say to the team, in Markdown.")
    next: str | None = Field(default=None, description="Name of the member who speaks next; null only when you end the exercise.")
    terminate: bool = Field(default=False, description="true only when you end the exercise.")


class ProposedThreat(_Answer):
    """A threat the library did not raise, on an element that exists in the model."""

    element_id: str = Field(description="Id of a component or data flow in the model.")
    stride: Stride
    title: str = Field(min_length=8, max_length=160)
    attack_vector: str = Field(min_length=8, max_length=600)
    description: str = Field(default="", max_length=1_200)
    cwe: list[str] = _Cwe
    mitigations: list[str] = Field(min_length=1, max_length=5)
    damage: int = Field(ge=1, le=10)
    reproducibility: int = Field(ge=1, le=10)
    exploitability: int = Field(ge=1, le=10)
    affected_users: int = Field(ge=1, le=10)
    discoverability: int = Field(ge=1, le=10)
    dread_reason: str = Field(min_length=4, max_length=600, description="Why these DREAD scores.")


class ModelerTurnOutput(TurnOutput):
    """The threat modeler's turn may add threats beyond the library."""

    threats: list[ProposedThreat] = Field(default_factory=list, max_length=5)


class ProposedComponent(_Answer):
    name: str = Field(min_length=1, max_length=120)
    type: ComponentType
    technology: str | None = Field(default=None, max_length=80)
    quote: str = Field(min_length=2, max_length=400, description="The exact words of the description this comes from.")


class ProposedFlow(_Answer):
    source: str = Field(min_length=1, max_length=120, description="Name of the component data comes from.")
    target: str = Field(min_length=1, max_length=120, description="Name of the component data goes to.")
    label: str = Field(default="data", max_length=120)
    protocol: str | None = Field(default=None, max_length=20)
    quote: str = Field(min_length=2, max_length=400, description="The exact words of the description this comes from.")


class ExtractionOutput(_Answer):
    components: list[ProposedComponent] = Field(default_factory=list, max_length=200)
    flows: list[ProposedFlow] = Field(default_factory=list, max_length=400)


__all__ = ["ExtractionOutput", "ModelerTurnOutput", "ProposedComponent", "ProposedFlow", "ProposedThreat", "TurnOutput"]
