"""Load knowledge folders, validate every entry, and check references between them.

A folder holds YAML files whose top-level key says what they contain: ``technologies``,
``threats`` or ``mitigations``. The built-in knowledge base is loaded the same way as a
user's ``--kb`` folder. Any problem is a :class:`KnowledgeError` naming file, line and entry.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import ValidationError

from ..errors import KnowledgeError, KnowledgeProblem
from .base import KnowledgeBase
from .compliance import CauseThemes, ControlTheme, Regime
from .schema import LexiconEntry, Mitigation, TagDef, Technology, ThreatRule, walk

BUILTIN_DIR = Path(__file__).parent / "data"
SINGULAR = {"regimes": "regime", "control_themes": "control theme", "cause_themes": "cause mapping", "lexicon": "lexicon entry", "tags": "tag", "technologies": "technology", "threats": "threat", "mitigations": "mitigation"}
SECTIONS = {"regimes": Regime, "control_themes": ControlTheme, "cause_themes": CauseThemes, "lexicon": LexiconEntry, "tags": TagDef, "technologies": Technology, "threats": ThreatRule, "mitigations": Mitigation}

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class _Entry:
    file: str
    line: int
    entry_id: str
    value: object


def _entries(path: Path, problems: list[KnowledgeProblem]) -> Iterator[tuple[str, _Entry]]:
    try:
        text = path.read_text(encoding="utf-8")
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        problems.append(KnowledgeProblem(str(path), getattr(getattr(exc, "problem_mark", None), "line", -1) + 1, None, f"cannot read: {exc}"))
        return
    if data is None:
        return
    if not isinstance(data, dict) or not isinstance(node, yaml.MappingNode):
        problems.append(KnowledgeProblem(str(path), 1, None, f"top level must be a mapping with one of {sorted(SECTIONS)}"))
        return
    for key_node, value_node in node.value:
        key = key_node.value
        if key not in SECTIONS:
            problems.append(KnowledgeProblem(str(path), key_node.start_mark.line + 1, None, f"unknown section '{key}'; expected one of {sorted(SECTIONS)}"))
            continue
        items = data.get(key)
        if not isinstance(items, list) or not isinstance(value_node, yaml.SequenceNode):
            problems.append(KnowledgeProblem(str(path), value_node.start_mark.line + 1, None, f"'{key}' must be a list"))
            continue
        for item, item_node in zip(items, value_node.value, strict=True):
            entry_id = str(item.get("id", item.get("cause"))) if isinstance(item, dict) else "?"
            yield key, _Entry(str(path), item_node.start_mark.line + 1, entry_id, item)


def _files(folder: Path) -> list[Path]:
    if folder.is_file():
        return [folder]
    if not folder.is_dir():
        raise KnowledgeError([KnowledgeProblem(str(folder), 0, None, "knowledge folder does not exist")])
    return sorted(p for p in folder.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())


def load_knowledge(extra_dirs: Iterable[str | Path] = (), *, include_builtin: bool = True) -> KnowledgeBase:
    """Load the built-in knowledge base plus any extra folders; raise KnowledgeError on any problem."""
    dirs = ([BUILTIN_DIR] if include_builtin else []) + [Path(d) for d in extra_dirs]
    stamp = []
    for d in dirs:
        for f in _files(d):
            st = f.stat()
            stamp.append((str(f.resolve()), st.st_mtime_ns, st.st_size))
    return _load_cached(tuple(str(d.resolve()) for d in dirs), tuple(stamp))


@lru_cache(maxsize=8)
def _load_cached(dirs: tuple[str, ...], stamp: tuple[tuple[str, int, int], ...]) -> KnowledgeBase:
    # Cached per set of folders and their files' sizes and times: a KnowledgeBase is
    # immutable, so sharing it between analyses leaks nothing from one to another.
    cached = _disk_cache(dirs, stamp)
    if cached is not None:
        try:
            with cached.open("rb") as fh:
                kb = pickle.load(fh)
            if isinstance(kb, KnowledgeBase):
                return kb
        except Exception:  # noqa: BLE001 - a bad cache entry is rebuilt, never trusted
            pass
    kb = _load([Path(d) for d in dirs])
    if cached is not None:
        try:
            cached.parent.mkdir(parents=True, exist_ok=True)
            tmp = cached.with_suffix(f".{os.getpid()}.tmp")
            with tmp.open("wb") as fh:
                pickle.dump(kb, fh, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, cached)
        except OSError:
            pass
    return kb


def _disk_cache(dirs: tuple[str, ...], stamp: tuple[tuple[str, int, int], ...]) -> Path | None:
    """Where the validated knowledge base is kept between runs (THREATROOM_CACHE_DIR,
    else the user cache folder); None when THREATROOM_NO_CACHE is set."""
    if os.environ.get("THREATROOM_NO_CACHE"):
        return None
    from .. import __version__

    base = os.environ.get("THREATROOM_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "threatroom"
    )
    # The code that defines the knowledge base's shape is part of the key too.
    code = tuple((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in sorted(Path(__file__).parent.glob("*.py")))
    code += tuple((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in sorted((Path(__file__).parents[1] / "model").glob("*.py")))
    digest = hashlib.sha256(repr((__version__, sys.version_info[:2], dirs, stamp, code)).encode()).hexdigest()[:24]
    return Path(base) / f"kb-{digest}.pickle"


def _load(dirs: list[Path]) -> KnowledgeBase:
    problems: list[KnowledgeProblem] = []
    found: dict[str, dict[str, tuple[object, _Entry]]] = {k: {} for k in SECTIONS}
    for folder in dirs:
        for path in _files(folder):
            for section, entry in _entries(path, problems):
                schema = SECTIONS[section]
                try:
                    obj = schema.model_validate(entry.value)
                except ValidationError as exc:
                    for err in exc.errors(include_url=False):
                        loc = ".".join(str(p) for p in err["loc"])
                        problems.append(KnowledgeProblem(entry.file, entry.line, entry.entry_id, f"{loc}: {err['msg']}" if loc else err["msg"]))
                    continue
                key = getattr(obj, "id", None) or obj.cause  # type: ignore[union-attr]
                seen = found[section].get(key)
                if seen is not None:
                    problems.append(KnowledgeProblem(entry.file, entry.line, key, f"duplicate {SINGULAR[section]} id (first defined at {seen[1].file}:{seen[1].line})"))
                    continue
                found[section][key] = (obj, entry)
    _check_references(found, problems)
    if problems:
        raise KnowledgeError(problems)
    return KnowledgeBase(
        technologies={k: v[0] for k, v in sorted(found["technologies"].items())},  # type: ignore[misc]
        threats=[v[0] for _, v in sorted(found["threats"].items())],  # type: ignore[misc]
        tags={k: v[0] for k, v in sorted(found["tags"].items())},  # type: ignore[misc]
        lexicon=[v[0] for _, v in sorted(found["lexicon"].items())],  # type: ignore[misc]
        regimes={k: v[0] for k, v in sorted(found["regimes"].items())},  # type: ignore[misc]
        control_themes={k: v[0] for k, v in sorted(found["control_themes"].items())},  # type: ignore[misc]
        cause_themes={k: v[0].themes for k, v in sorted(found["cause_themes"].items())},  # type: ignore[attr-defined]
        mitigations={k: v[0] for k, v in sorted(found["mitigations"].items())},  # type: ignore[misc]
        sources=tuple(str(d) for d in dirs),
    )


def _check_references(found: dict[str, dict[str, tuple[object, _Entry]]], problems: list[KnowledgeProblem]) -> None:
    techs: dict[str, Technology] = {k: v[0] for k, v in found["technologies"].items()}  # type: ignore[misc]
    tags = set(found["tags"])
    mitigations = found["mitigations"]
    threats = found["threats"]

    def dangling(entry: _Entry, what: str, ref: str) -> None:
        problems.append(KnowledgeProblem(entry.file, entry.line, entry.entry_id, f"unknown {what} '{ref}'"))

    for tech, entry in found["technologies"].values():
        for parent in tech.is_a:  # type: ignore[attr-defined]
            if parent not in techs:
                dangling(entry, "technology in is_a", parent)
        for tag in tech.tags:  # type: ignore[attr-defined]
            if tag not in tags:
                dangling(entry, "tag (declare it in a 'tags' section)", tag)
    # Cycles in is_a would make ancestry infinite.
    for tid in techs:
        stack, seen = [tid], set()
        while stack:
            cur = stack.pop()
            for parent in techs[cur].is_a if cur in techs else ():
                if parent == tid:
                    e = found["technologies"][tid][1]
                    problems.append(KnowledgeProblem(e.file, e.line, tid, "is_a forms a cycle"))
                    stack = []
                    break
                if parent not in seen:
                    seen.add(parent)
                    stack.append(parent)
    for mit, entry in mitigations.values():
        for hint in mit.hints:  # type: ignore[attr-defined]
            for ref in hint.uses:
                if ref not in techs:
                    dangling(entry, "technology in hint", ref)
    for rule, entry in threats.values():
        for node in walk(rule.when):  # type: ignore[attr-defined]
            for key in ("technology", "facet", "uses"):
                for ref in getattr(node, key) or ():
                    if ref not in techs:
                        dangling(entry, f"technology in '{key}'", ref)
            for ref in node.tag or ():
                if ref not in tags:
                    dangling(entry, "tag (declare it in a 'tags' section)", ref)
        for m in rule.mitigations:  # type: ignore[attr-defined]
            if isinstance(m, str):
                if m not in mitigations:
                    dangling(entry, "mitigation", m)
            else:
                for hint in m.hints:
                    for ref in hint.uses:
                        if ref not in techs:
                            dangling(entry, "technology in hint", ref)
        for ref in rule.supersedes:  # type: ignore[attr-defined]
            if ref not in threats:
                dangling(entry, "threat in supersedes", ref)
    causes = {r.cause for r, _ in threats.values()}  # type: ignore[attr-defined]
    for theme, entry in found["control_themes"].values():
        for regime in theme.controls:  # type: ignore[attr-defined]
            if regime not in found["regimes"]:
                dangling(entry, "regime", regime)
    for mapping, entry in found["cause_themes"].values():
        if mapping.cause not in causes:  # type: ignore[attr-defined]
            dangling(entry, "cause (no threat rule has it)", mapping.cause)  # type: ignore[attr-defined]
        for theme in mapping.themes:  # type: ignore[attr-defined]
            if theme not in found["control_themes"]:
                dangling(entry, "control theme", theme)
