"""Getting architectures in: structured YAML/JSON (plain text comes next)."""

from __future__ import annotations

from pathlib import Path

from ..errors import InputError
from ..model.system import SystemModel
from .structured import load_structured, model_from_data, parse_document

STRUCTURED_SUFFIXES = frozenset({".yaml", ".yml", ".json"})


def load_input(path: str | Path) -> SystemModel:
    """Load an architecture file, choosing the reader by its suffix."""
    p = Path(path)
    if p.suffix.lower() in STRUCTURED_SUFFIXES:
        return load_structured(p)
    raise InputError(
        f"'{p.suffix or p.name}' is not a structured model; give a .yaml, .yml or .json file in threatroom's "
        "schema (see `threatroom schema`)",
        str(p),
    )


__all__ = ["load_input", "load_structured", "model_from_data", "parse_document"]
