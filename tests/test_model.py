from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from threatroom.model import ComponentType, SystemModel, ThreatModel


def test_type_synonyms_map_to_the_closed_vocabulary() -> None:
    m = SystemModel.model_validate(
        {"components": [{"id": "a", "name": "A", "type": "Web App"}, {"id": "b", "name": "B", "type": "database"}]}
    )
    assert [c.type for c in m.components] == [ComponentType.WEB_APPLICATION, ComponentType.RELATIONAL_DB]


def test_unknown_type_is_rejected() -> None:
    with pytest.raises(ValidationError) as exc:
        SystemModel.model_validate({"components": [{"id": "a", "name": "A", "type": "spaceship"}]})
    assert exc.value.errors()[0]["loc"] == ("components", 0, "type")


def test_ids_must_be_slugs() -> None:
    with pytest.raises(ValidationError):
        SystemModel.model_validate({"components": [{"id": "Has Space", "name": "A", "type": "user"}]})


def test_inferred_elements_need_a_reason() -> None:
    with pytest.raises(ValidationError, match="inferred_reason"):
        SystemModel.model_validate({"components": [{"id": "a", "name": "A", "type": "user", "inferred": True}]})


def test_reference_problems_name_the_path() -> None:
    m = SystemModel.model_validate(
        {
            "components": [
                {"id": "a", "name": "A", "type": "user", "zone": "nowhere"},
                {"id": "a", "name": "A2", "type": "user"},
                {"id": "b", "name": "B", "type": "web_app", "runs_on": "ghost"},
            ],
            "flows": [{"id": "f", "source": "a", "target": "zz"}],
            "data_assets": [{"id": "d", "name": "D", "classification": "pii", "stored_in": ["qq"]}],
        }
    )
    paths = {p for p, _ in m.reference_problems()}
    assert ("components", 1, "id") in paths
    assert ("components", 0, "zone") in paths
    assert ("components", 2, "runs_on") in paths
    assert ("flows", 0, "target") in paths
    assert ("data_assets", 0, "stored_in", 0) in paths


def test_evidence_spans_are_ordered() -> None:
    with pytest.raises(ValidationError):
        SystemModel.model_validate(
            {"components": [{"id": "a", "name": "A", "type": "user", "evidence": [{"start": 9, "end": 2}]}]}
        )
    m = SystemModel.model_validate(
        {"components": [{"id": "a", "name": "A", "type": "user", "evidence": [{"start": 2, "end": 9, "quote": "a user"}]}]}
    )
    assert m.components[0].evidence[0].quote == "a user"


def test_model_round_trips_through_json() -> None:
    m = SystemModel.model_validate(
        {
            "system": {"name": "S", "data_classifications": ["phi"]},
            "trust_boundaries": [{"id": "z", "name": "Z", "kind": "cloud"}],
            "components": [
                {"id": "a", "name": "A", "type": "api", "zone": "z", "attributes": {"internet_facing": True, "authentication": ["oidc"]}}
            ],
        }
    )
    again = SystemModel.model_validate_json(m.model_dump_json())
    assert again == m


def test_json_schemas_are_published_and_current() -> None:
    from pathlib import Path

    docs = Path(__file__).resolve().parents[1] / "docs" / "schema"
    for name, model, mode in (("system-model", SystemModel, "validation"), ("threat-model", ThreatModel, "serialization")):
        published = json.loads((docs / f"{name}.schema.json").read_text())
        assert published == model.model_json_schema(mode=mode), f"run: threatroom schema {'--result ' if mode == 'serialization' else ''}-o docs/schema/{name}.schema.json"
