"""Plain words in, grounded model out: deterministic, offline extraction.

Every component and flow carries the character span(s) it came from; whatever is
added without a span is marked inferred, with the reason, and listed in the
assumptions. The description is data: HTML, Markdown or instructions inside it are
never interpreted.
"""

from __future__ import annotations

import re

from ...errors import InputError
from ...knowledge.base import KnowledgeBase
from ...model.system import (
    Attributes,
    Component,
    DataAsset,
    Flow,
    System,
    SystemModel,
    TrustBoundary,
)
from ...model.vocabulary import ComponentType
from .infer import ZONE_INFO, apply_words, complete, data_classes_in
from .lexer import Mention, find_components, find_technologies, find_words, lexicon_for, sentences
from .relations import Linker
from .resolve import Resolver, slug

MAX_TEXT_BYTES = 200 * 1024
_IT = re.compile(r"^\s*(?:It|This (?:service|app|application|API|system|backend|component))\b")


def decode_text(raw: bytes, source: str) -> str:
    """Bytes to text, refusing what is not a plain-words description."""
    if not raw.strip():
        raise InputError("the description is empty; describe the system's components and how they talk to each other", source)
    if len(raw) > MAX_TEXT_BYTES:
        raise InputError(
            "the description is over 200 kB, the limit for plain text "
            "(split it, or give a structured model: `threatroom schema`)",
            source,
        )
    sample = raw[:8192]
    controls = sum(1 for b in sample if b < 32 and b not in (9, 10, 13))
    if b"\x00" in sample or controls > len(sample) // 20:
        raise InputError("this is not text (it looks like a binary file); give a plain-words description or a YAML model", source)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError("the description is not UTF-8 text", source) from None


def extract(text: str, kb: KnowledgeBase, source: str = "<text>") -> SystemModel:
    """Read a plain-words architecture description into a SystemModel."""
    if not text.strip():
        raise InputError("the description is empty; describe the system's components and how they talk to each other", source)
    lex = lexicon_for(kb)
    sents = sentences(text)
    techs = find_technologies(text, lex, sents)
    comps = find_components(text, lex, sents, techs)
    hits = find_words(text, lex, sents)
    if sents and len(text[sents[0].start : sents[0].end].split()) <= 6 and not any(h.sentence == 0 and h.entry.kind == "relation" for h in hits):
        # "Video-on-demand service." opening a description is its title, not a component
        comps = [m for m in comps if not (m.sentence == 0 and m.entry is not None and m.entry.named)]
    mentions = sorted(techs + comps, key=lambda m: m.start)
    res = Resolver(kb)
    link = Linker(text, res.drafts, kb=kb)
    previous: list[Mention] = []
    for s in sents:
        here = [m for m in mentions if m.sentence == s.index]
        starts_with_it = bool(_IT.match(text[s.start : s.end]))
        res.it_refers = res.drafts.get(previous[0].component or "") if starts_with_it and previous else None
        res.resolve_sentence(here)
        previous = [m for m in here if m.component] or previous
    for s in sents:
        link.link_sentence(s, [m for m in mentions if m.sentence == s.index], [h for h in hits if h.sentence == s.index])
    apply_words(res, link, mentions, hits)
    named = [d for d in res.drafts.values() if d.type != ComponentType.USER and d.inferred_reason is None]
    if not named:
        understood = sorted({m.text for m in mentions}) or ["nothing"]
        raise InputError(
            f"no system components recognized (understood: {', '.join(understood[:10])}). Name the parts and "
            "technologies, e.g. 'A Flask web application stores posts in a MySQL database on AWS EC2', "
            "or give a YAML model (`threatroom schema` prints the format)",
            source,
        )
    assumptions = complete(res, link, kb, sents, hits)
    return _model(text, sents, res, link, assumptions, source)


def _name_from(source: str) -> str:
    stem = re.sub(r"[_\-.]+", " ", source.rsplit("/", 1)[-1].rsplit(".", 1)[0]).strip()
    return stem[:1].upper() + stem[1:] if stem and not stem.startswith("<") else "System described in plain words"


def _model(text: str, sents, res: Resolver, link: Linker, assumptions: list[str], source: str) -> SystemModel:
    drafts = sorted(res.drafts.values(), key=lambda d: d.order)
    zones_used = sorted({d.zone_hint for d in drafts if d.zone_hint}, key=lambda z: list(ZONE_INFO).index(z))
    boundaries = [
        TrustBoundary(id=z, name=ZONE_INFO[z][0], kind=ZONE_INFO[z][1], inferred=True, inferred_reason=ZONE_INFO[z][2])
        for z in zones_used
    ]
    components = []
    for d in drafts:
        components.append(
            Component(
                id=d.id,
                name=d.name,
                type=d.type,
                technology=d.technology,
                facets=d.facets,
                features=sorted(d.features),
                zone=d.zone_hint,
                runs_on=d.runs_on,
                attributes=Attributes(
                    internet_facing=d.exposed if d.exposed is not None else "unknown",
                    data_classes=sorted(d.data, key=lambda c: c.value) if d.data else "unknown",
                    authentication=sorted(d.auth) if d.auth else "unknown",
                ),
                evidence=sorted(d.evidence, key=lambda e: e.start or 0),
                inferred=d.inferred_reason is not None,
                inferred_reason=d.inferred_reason,
            )
        )
    flows = []
    for i, f in enumerate(link.flows, start=1):
        flows.append(
            Flow(
                id=f"f{i}-{slug(f.source)[:20]}-to-{slug(f.target)[:20]}",
                source=f.source,
                target=f.target,
                label=f.label,
                data_classes=sorted(f.data, key=lambda c: c.value),
                evidence=f.evidence if f.inferred_reason is None else [],
                inferred=f.inferred_reason is not None,
                inferred_reason=f.inferred_reason,
            )
        )
    first = re.sub(r"^[\s#*>\-•]+", "", text[sents[0].start : sents[0].end]).strip().rstrip(".")
    mentioned = any(e.start is not None and sents[0].start <= e.start < sents[0].end for d in res.drafts.values() for e in d.evidence)
    name = first if len(first.split()) <= 8 and not mentioned and first else _name_from(source)
    assets = []
    for d in drafts:
        if d.type in (ComponentType.RELATIONAL_DB, ComponentType.NOSQL_DB, ComponentType.OBJECT_STORAGE, ComponentType.FILE_STORAGE):
            for c in sorted(d.data, key=lambda c: c.value):
                assets.append(
                    DataAsset(
                        id=f"{d.id}-{c.value}".replace("_", "-"),
                        name=f"{c.value.replace('_', ' ')} in {d.name}",
                        classification=c,
                        stored_in=[d.id],
                        inferred=True,
                        inferred_reason="the text says this kind of data is kept there",
                    )
                )
    return SystemModel(
        system=System(
            name=name[:200],
            description=text.strip()[:20_000],
            data_classifications=data_classes_in(res.drafts),
            assumptions=list(dict.fromkeys(assumptions)),
        ),
        components=components,
        flows=flows,
        trust_boundaries=boundaries,
        data_assets=assets,
    )


__all__ = ["MAX_TEXT_BYTES", "decode_text", "extract"]
