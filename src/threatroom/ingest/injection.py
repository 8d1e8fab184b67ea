"""Flag prompt-injection attempts in architecture text.

Patterns are data (``data/injection.yaml``), validated and checked against their own
fixtures at load time. A hit is a warning: the text stays data and never steers the analysis.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator

from ..errors import KnowledgeError, KnowledgeProblem
from ..model.system import SystemModel
from ..model.threats import Finding

DEFAULT_PATH = Path(__file__).parent / "data" / "injection.yaml"
FLAGS = re.IGNORECASE | re.MULTILINE
MAX_QUOTE = 200
_MESSAGE = "possible prompt-injection attempt ({h.title}) at characters {h.start}-{h.end}: '{quote}'; it is treated as data, never as instructions"
_EDGES = " \t\r\n.!?:;,"  # punctuation a pattern may anchor on, left out of a hit
_REPEATED_GROUP = re.compile(r"\)(?:[*+]|\{\d)")
_ESCAPES_AND_CLASSES = re.compile(r"\\.|\[\^?\]?(?:\\.|[^\]\\])*\]")
_Examples = Annotated[tuple[Annotated[str, Field(min_length=1)], ...], Field(min_length=1)]


@dataclass(frozen=True)
class InjectionHit:
    """One pattern matching a text: offsets into that text and the matched words."""

    pattern_id: str
    title: str
    start: int
    end: int
    quote: str


class InjectionPattern(BaseModel):
    """One detection pattern with the texts it must and must not match."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: Annotated[str, Field(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$", max_length=80)]
    title: Annotated[str, Field(min_length=1, max_length=120)]
    pattern: Annotated[str, Field(min_length=1)]
    fires: _Examples
    not_fires: _Examples
    _regex: re.Pattern[str] = PrivateAttr()  # compiled once, in model_post_init

    @field_validator("pattern")
    @classmethod
    def _linear_regex(cls, value: str) -> str:
        try:
            re.compile(value, FLAGS)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression: {exc}") from None
        if _REPEATED_GROUP.search(_ESCAPES_AND_CLASSES.sub("x", value)):
            raise ValueError("repeats a group ('(...)*', '(...)+', '(...){n}'); repeat single characters only")
        return value

    def model_post_init(self, context: object, /) -> None:
        self._regex = re.compile(self.pattern, FLAGS)

    def hit(self, text: str) -> InjectionHit | None:
        """The first non-empty match in ``text``, without the punctuation it anchors on."""
        for m in self._regex.finditer(text):
            if word := m.group().strip(_EDGES):
                start = m.start() + m.group().index(word)
                return InjectionHit(self.id, self.title, start, start + len(word), word[:MAX_QUOTE])
        return None


def _entries(path: Path) -> list[tuple[int, object]]:  # each entry with its line number
    try:
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(path.read_text(encoding="utf-8"))
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", -1) + 1
        raise KnowledgeError([KnowledgeProblem(str(path), line, None, f"cannot read: {exc}")]) from None
    seq = node.value[0][1] if isinstance(node, yaml.MappingNode) and set(data) == {"patterns"} else None
    if not isinstance(seq, yaml.SequenceNode) or not seq.value:
        raise KnowledgeError([KnowledgeProblem(str(path), 1, None, "the file must hold one key, 'patterns', a non-empty list")])
    return [(n.start_mark.line + 1, item) for item, n in zip(data["patterns"], seq.value, strict=True)]


def _load(path: Path) -> tuple[InjectionPattern, ...]:
    file, problems, seen = str(path), list[KnowledgeProblem](), dict[str, int]()
    patterns: list[InjectionPattern] = []
    for line, item in _entries(path):
        try:
            p = InjectionPattern.model_validate(item)
        except ValidationError as exc:
            entry = str(item.get("id")) if isinstance(item, dict) else None
            for e in exc.errors():
                where, msg = ".".join(str(x) for x in e["loc"]), e["msg"].removeprefix("Value error, ")
                problems.append(KnowledgeProblem(file, line, entry, f"{where}: {msg}" if where else msg))
            continue
        if seen.setdefault(p.id, line) != line:
            problems.append(KnowledgeProblem(file, line, p.id, f"duplicate id '{p.id}' (first at line {seen[p.id]})"))
            continue
        problems += [KnowledgeProblem(file, line, p.id, f"fires: does not match {s!r}") for s in p.fires if not p.hit(s)]
        problems += [KnowledgeProblem(file, line, p.id, f"not_fires: matches {s!r}") for s in p.not_fires if p.hit(s)]
        patterns.append(p)
    if problems:
        raise KnowledgeError(problems)
    return tuple(patterns)


@lru_cache(maxsize=1)
def _builtin() -> tuple[InjectionPattern, ...]:
    return _load(DEFAULT_PATH)


def load_patterns(path: str | Path | None = None) -> tuple[InjectionPattern, ...]:
    """Load, validate and self-test a pattern file (the built-in one by default, cached)."""
    return _builtin() if path is None else _load(Path(path))


def scan(text: str, patterns: Sequence[InjectionPattern] | None = None) -> list[InjectionHit]:
    """The first hit of each pattern in ``text``, in order of position."""
    found = (p.hit(text) for p in (load_patterns() if patterns is None else patterns))
    return sorted((h for h in found if h is not None), key=lambda h: (h.start, h.pattern_id))


def _texts(model: SystemModel) -> Iterator[tuple[str, str]]:
    yield from [("system.name", model.system.name), ("system.description", model.system.description)]
    yield from ((f"system.assumptions[{i}]", a) for i, a in enumerate(model.system.assumptions))
    for section in ("components", "trust_boundaries", "data_assets"):
        for i, item in enumerate(getattr(model, section)):
            yield from [(f"{section}[{i}].name", item.name), (f"{section}[{i}].description", item.description)]
    yield from ((f"flows[{i}].label", f.label) for i, f in enumerate(model.flows))


def scan_model(model: SystemModel, patterns: Sequence[InjectionPattern] | None = None) -> list[Finding]:
    """A ``prompt-injection`` warning for each hit in the model's free text."""
    return [
        Finding(code="prompt-injection", message=_MESSAGE.format(h=h, quote=" ".join(h.quote.split())), path=f"{where}[{h.start}:{h.end}]")
        for where, text in _texts(model)
        for h in scan(text, patterns)
    ]


__all__ = ["DEFAULT_PATH", "InjectionHit", "InjectionPattern", "load_patterns", "scan", "scan_model"]
