"""Getting architectures in: structured YAML/JSON, or a plain-words description."""

from __future__ import annotations

from pathlib import Path

from ..errors import InputError
from ..knowledge.base import KnowledgeBase
from ..model.system import SystemModel
from .structured import load_structured, model_from_data, parse_document
from .text import MAX_TEXT_BYTES, decode_text, extract

STRUCTURED_SUFFIXES = frozenset({".yaml", ".yml", ".json"})


def load_input(path: str | Path, kb: KnowledgeBase | None = None) -> SystemModel:
    """Load an architecture file: YAML/JSON by suffix, anything else as plain words."""
    p = Path(path)
    if p.suffix.lower() in STRUCTURED_SUFFIXES:
        return load_structured(p)
    try:
        with p.open("rb") as fh:
            raw = fh.read(MAX_TEXT_BYTES + 1)
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", str(p)) from None
    return read_text(decode_text(raw, str(p)), kb, str(p))


def read_text(text: str, kb: KnowledgeBase | None = None, source: str = "<text>") -> SystemModel:
    """Extract a model from a plain-words description."""
    from ..knowledge.loader import load_knowledge

    return extract(text, kb or load_knowledge(), source)


__all__ = ["load_input", "load_structured", "model_from_data", "parse_document", "read_text"]
