"""The JSON output contract (docs/json-contract.md); deterministic, byte for byte.

The document is produced in pieces (one component, flow or threat at a time) so a large
register can be written to a file without holding a second copy of it in memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO

import pydantic_core

from ..model.threats import ThreatModel

_CHUNKED = frozenset({"components", "flows", "threats", "data_assets", "trust_boundaries"})


def _indent(text: str, pad: str) -> str:
    return text.replace("\n", "\n" + pad)


def iter_json(result: ThreatModel) -> Iterator[str]:
    """The same text as ``result.model_dump_json(indent=2)``, in pieces."""
    names = list(type(result).model_fields)
    yield "{"
    for i, name in enumerate(names):
        value = getattr(result, name)
        yield "\n  " + pydantic_core.to_json(name).decode() + ": "
        if name in _CHUNKED and value:
            yield "["
            for j, item in enumerate(value):
                yield "\n    " + _indent(pydantic_core.to_json(item, indent=2).decode(), "    ")
                if j < len(value) - 1:
                    yield ","
            yield "\n  ]"
        else:
            yield _indent(pydantic_core.to_json(value, indent=2).decode(), "  ")
        if i < len(names) - 1:
            yield ","
    yield "\n}\n"


def write_json(result: ThreatModel, fh: IO[str]) -> None:
    for chunk in iter_json(result):
        fh.write(chunk)


def to_json(result: ThreatModel) -> str:
    return "".join(iter_json(result))
