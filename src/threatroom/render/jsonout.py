"""The JSON output contract (docs/json-contract.md); deterministic, byte for byte."""

from __future__ import annotations

from ..model.threats import ThreatModel


def to_json(result: ThreatModel) -> str:
    return result.model_dump_json(indent=2) + "\n"
