"""Read a structured architecture (YAML or JSON in threatroom's schema)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from ..errors import InputError, InputProblem
from ..model.system import SystemModel

MAX_BYTES = 20 * 1024 * 1024
MAX_ALIASES = 200
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def parse_document(text: str, source: str = "<input>") -> dict[str, Any]:
    """Parse YAML (JSON is YAML) into a mapping, with errors that point at the line."""
    if not text.strip():
        raise InputError("the document is empty", source)
    try:
        aliases = sum(1 for ev in yaml.parse(text, Loader=_Loader) if isinstance(ev, yaml.AliasEvent))
        if aliases > MAX_ALIASES:
            raise InputError(f"the document uses {aliases} YAML aliases (limit {MAX_ALIASES})", source)
        data = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise InputError([InputProblem(source, where, f"not valid YAML/JSON: {problem}")]) from None
    if not isinstance(data, dict):
        raise InputError(f"expected a mapping with 'components' (and 'flows', ...), got {type(data).__name__}", source)
    return data


def model_from_data(data: dict[str, Any], source: str = "<input>") -> SystemModel:
    """Validate a parsed document as a SystemModel; every problem names its path."""
    for comp in data.get("components") or []:
        if isinstance(comp, dict):  # output fields fed back in are fine
            comp.pop("technologies", None)
            comp.pop("technology_names", None)
    try:
        model = SystemModel.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors(include_url=False):
            msg = err["msg"]
            if err["type"] == "enum" and "expected" in err.get("ctx", {}):
                msg = f"'{err['input']}' is not one of {err['ctx']['expected']}"
            elif err["type"] == "extra_forbidden":
                msg = "unknown field"
            problems.append(InputProblem(source, _path(err["loc"]), msg))
        raise InputError(problems) from None
    problems = [InputProblem(source, _path(path), msg) for path, msg in model.reference_problems()]
    if problems:
        raise InputError(problems)
    return model


def load_structured(path: str | Path) -> SystemModel:
    p = Path(path)
    source = str(p)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", source) from None
    if len(raw) > MAX_BYTES:
        raise InputError(f"file is {len(raw)} bytes; the limit is {MAX_BYTES}", source)
    if b"\x00" in raw[:8192]:
        raise InputError("this looks like a binary file, not YAML or JSON", source)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError("the file is not UTF-8 text", source) from None
    if p.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError([InputProblem(source, f"line {exc.lineno}, column {exc.colno}", f"not valid JSON: {exc.msg}")]) from None
        if not isinstance(data, dict):
            raise InputError("expected a JSON object with 'components'", source)
    else:
        data = parse_document(text, source)
    return model_from_data(data, source)
