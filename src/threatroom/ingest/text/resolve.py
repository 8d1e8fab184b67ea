"""Turn mentions into components: one component per thing, however often it is named.

* A technology that is a component (MySQL, Amazon S3) is one component per technology;
  a generic mention in the same sentence of a compatible type ("the database is a MySQL
  database") or a lone earlier generic of that type becomes that component.
* A library (Jinja2, Flask-Login) attaches as a facet to the component that hosts it:
  one named in the same sentence, else the latest one of a host type.
* A generic mention ("the database", "the application") refers to the latest component
  of its type, or creates one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ...knowledge.base import KnowledgeBase
from ...model.system import Evidence
from ...model.vocabulary import ComponentType, DataClass
from .lexer import Mention

#: Types that stand in for one another when a generic word meets a named technology.
COMPATIBLE: dict[ComponentType, frozenset[ComponentType]] = {
    ComponentType.WEB_APPLICATION: frozenset({ComponentType.WEB_APPLICATION, ComponentType.API_SERVICE}),
    # A gateway fronts an API; "the ingestion API behind API Gateway" names two things.
    ComponentType.API_SERVICE: frozenset({ComponentType.API_SERVICE, ComponentType.WEB_APPLICATION}),
    ComponentType.RELATIONAL_DB: frozenset({ComponentType.RELATIONAL_DB, ComponentType.NOSQL_DB, ComponentType.DATA_WAREHOUSE}),
    ComponentType.NOSQL_DB: frozenset({ComponentType.NOSQL_DB}),
    ComponentType.BROWSER: frozenset({ComponentType.BROWSER}),
    ComponentType.MOBILE_APP: frozenset({ComponentType.MOBILE_APP}),
    ComponentType.OBJECT_STORAGE: frozenset({ComponentType.OBJECT_STORAGE}),
    ComponentType.CACHE: frozenset({ComponentType.CACHE}),
    ComponentType.MESSAGE_QUEUE: frozenset({ComponentType.MESSAGE_QUEUE}),
    ComponentType.SEARCH_ENGINE: frozenset({ComponentType.SEARCH_ENGINE}),
    ComponentType.IDENTITY_PROVIDER: frozenset({ComponentType.IDENTITY_PROVIDER}),
    ComponentType.HOST: frozenset({ComponentType.HOST}),
    ComponentType.SERVERLESS_FUNCTION: frozenset({ComponentType.SERVERLESS_FUNCTION}),
    ComponentType.ANALYTICS: frozenset({ComponentType.ANALYTICS}),
}


@dataclass
class Draft:
    """A component being assembled from the text."""

    id: str
    name: str
    type: ComponentType
    technology: str | None = None
    facets: list[str] = field(default_factory=list)
    features: set[str] = field(default_factory=set)
    data: set[DataClass] = field(default_factory=set)
    auth: set[str] = field(default_factory=set)
    evidence: list[Evidence] = field(default_factory=list)
    generic: bool = False
    zone_hint: str | None = None
    runs_on: str | None = None
    inferred_reason: str | None = None
    last_sentence: int = -1
    order: int = 0
    nouns: set[str] = field(default_factory=set)  # generic words that referred to it ("the API")
    exposed: bool | None = None  # internet-facing, when the text says so (or an assumption does)

    def cite(self, m: Mention) -> None:
        if m.entry is not None and m.entry.kind == "component":  # also "a Spring Boot API": 'API' names it
            self.nouns.add(m.entry.id)
        if m.inner is not None and m.inner.type is not None and self.type in COMPATIBLE.get(m.inner.type, frozenset({m.inner.type})):
            self.nouns.add(m.inner.id)  # "ASP.NET Core Web API": later "the API" is this one (not "the OpenAI API")
        if not any(e.start == m.start for e in self.evidence):
            self.evidence.append(Evidence(kind="text", start=m.start, end=m.end, quote=m.text))
        self.last_sentence = max(self.last_sentence, m.sentence)


def slug(name: str) -> str:
    s = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return s[:60] or "component"


@dataclass
class Resolver:
    kb: KnowledgeBase
    drafts: dict[str, Draft] = field(default_factory=dict)
    by_tech: dict[str, str] = field(default_factory=dict)
    it_refers: Draft | None = None  # what "It ..." at the start of the sentence refers to

    def new(self, name: str, ctype: ComponentType, *, generic: bool, inferred_reason: str | None = None) -> Draft:
        base = slug(name)
        cid, n = base, 2
        while cid in self.drafts:
            cid, n = f"{base}-{n}", n + 1
        d = Draft(cid, name, ctype, generic=generic, inferred_reason=inferred_reason, order=len(self.drafts))
        self.drafts[cid] = d
        return d

    def latest(self, types: frozenset[ComponentType] | set[ComponentType], *, untyped_only: bool = False) -> Draft | None:
        pool = [d for d in self.drafts.values() if d.type in types and (not untyped_only or d.technology is None)]
        return max(pool, key=lambda d: (d.last_sentence, d.order)) if pool else None

    def latest_generic(self, ctype: ComponentType) -> Draft | None:
        """What 'the database' refers to: an unnamed one of that type first, else the latest."""
        pool = [d for d in self.drafts.values() if d.type == ctype and (d.generic or d.technology)]
        return max(pool, key=lambda d: (d.last_sentence, d.order)) if pool else self.latest(frozenset({ctype}))

    def resolve_sentence(self, mentions: list[Mention]) -> None:
        """Resolve one sentence's mentions in order: generics and techs first, facets last."""
        techs = [m for m in mentions if m.kind == "tech" and self.kb.technologies[m.tech_id or ""].type is not None]
        facets = [m for m in mentions if m.kind == "tech" and self.kb.technologies[m.tech_id or ""].type is None]
        generics = [m for m in mentions if m.kind == "component"]
        actors = [m for m in mentions if m.kind == "actor"]
        claimed: set[int] = set()
        prev: Mention | None = None
        for m in techs:
            tech = self.kb.technologies[m.tech_id or ""]
            assert tech.type is not None
            glued = self._glued(prev, m, tech.type)
            prev = m
            if glued is not None:
                # "React single-page app", "Memorystore Redis": two names for one component.
                if glued.technology in self.kb.lineage(m.tech_id or "") and glued.technology != m.tech_id:
                    self.by_tech.pop(glued.technology or "", None)
                    glued.technology = m.tech_id
                self.by_tech.setdefault(m.tech_id or "", glued.id)
                glued.cite(m)
                m.component = glued.id
                continue
            narrower = self._narrower(m.tech_id or "")
            if m.tech_id in self.by_tech:
                d = self.drafts[self.by_tech[m.tech_id or ""]]
            elif narrower is not None:
                d = narrower  # "Amazon OpenSearch Service ... OpenSearch": the same component
            elif self.it_refers is not None and tech.type in COMPATIBLE.get(self.it_refers.type, frozenset({self.it_refers.type})) and self.it_refers.technology is None and m is techs[0]:
                d = self.it_refers  # "The care service ... It is a NestJS service."
                d.technology = m.tech_id
                self.by_tech[m.tech_id or ""] = d.id
            else:
                d = self._generic_for(tech.type, generics, claimed, m)
                if d is None:
                    d = self.new(tech.name, tech.type, generic=False)
                else:
                    d.name = _merged_name(tech.name, d.name)
                    d.generic = False
                d.technology = m.tech_id
                self.by_tech[m.tech_id or ""] = d.id
            d.cite(m)
            m.component = d.id
        for m in generics:
            if id(m) in claimed:
                continue
            assert m.entry is not None and m.entry.type is not None
            ctype = m.entry.type
            if m.entry.named:
                name = _title(m.text)
                d = next((x for x in self.drafts.values() if x.name.lower() == name.lower()), None) or self.new(name, ctype, generic=False)
                d.cite(m)
                m.component = d.id
                continue
            d = self._same_sentence(ctype, techs) or self._same_noun(m) or self.latest_generic(ctype)
            if d is None and ctype == ComponentType.WEB_APPLICATION:
                d = self.latest(COMPATIBLE[ctype])  # "the application" after "a NestJS API"
            if d is None or _distinct(m, d):
                d = self.new(m.entry.name or ctype.value, ctype, generic=True)
            d.cite(m)
            m.component = d.id
        for m in actors:
            assert m.entry is not None
            d = next((x for x in self.drafts.values() if x.type == ComponentType.USER and x.name == m.entry.name), None)
            if d is None:
                d = self.new(m.entry.name or "User", ComponentType.USER, generic=True)
                d.zone_hint = m.entry.zone.value if m.entry.zone else None
            d.cite(m)
            m.component = d.id
        for m in facets:
            self._attach_facet(m, mentions)

    def _same_noun(self, m: Mention) -> Draft | None:
        """'The API' is whatever was called 'API' before."""
        pool = [d for d in self.drafts.values() if m.entry is not None and m.entry.id in d.nouns]
        return max(pool, key=lambda d: (d.last_sentence, d.order)) if pool else None

    def _narrower(self, tech_id: str) -> Draft | None:
        """An existing component whose technology is a kind of this one."""
        for d in self.drafts.values():
            if d.technology and d.technology != tech_id and tech_id in self.kb.lineage(d.technology):
                return d
        return None

    def _glued(self, prev: Mention | None, m: Mention, ctype: ComponentType) -> Draft | None:
        if prev is None or prev.component is None or m.start - prev.end > 2 or m.sentence != prev.sentence:
            return None
        d = self.drafts[prev.component]
        return d if ctype in COMPATIBLE.get(d.type, frozenset({d.type})) or ctype == d.type else None

    def _generic_for(self, ctype: ComponentType, generics: list[Mention], claimed: set[int], m: Mention) -> Draft | None:
        """A generic mention of a compatible type in this sentence, or a lone untyped earlier one."""
        for g in generics:
            if id(g) in claimed or g.entry is None or g.entry.type is None:
                continue
            if ctype in COMPATIBLE.get(g.entry.type, frozenset({g.entry.type})):
                existing = self.latest(frozenset({g.entry.type}), untyped_only=True)
                claimed.add(id(g))
                if existing is not None and existing.generic:
                    existing.cite(g)
                    g.component = existing.id
                    return existing
                d = self.new(g.entry.name or ctype.value, ctype, generic=True)
                d.cite(g)
                g.component = d.id
                return d
        earlier = [d for d in self.drafts.values() if d.generic and d.technology is None and d.type == ctype]
        if len(earlier) == 1 and m.entry is not None:
            return earlier[0]  # "the database ... MySQL database"
        if len(earlier) == 1 and ctype in (ComponentType.WEB_APPLICATION, ComponentType.RELATIONAL_DB, ComponentType.API_SERVICE):
            return earlier[0]
        return None

    def _same_sentence(self, ctype: ComponentType, techs: list[Mention]) -> Draft | None:
        for t in techs:
            d = self.drafts.get(t.component or "")
            if d is not None and d.type in COMPATIBLE.get(ctype, frozenset({ctype})):
                return d
        return None

    def _attach_facet(self, m: Mention, mentions: list[Mention]) -> None:
        tech = self.kb.technologies[m.tech_id or ""]
        hosts = frozenset(tech.hosts)
        here = [self.drafts[x.component] for x in mentions if x.component and self.drafts[x.component].type in hosts]
        host = min(here, key=lambda d: abs(d.evidence[-1].start or 0 - m.start)) if here else self.latest(hosts)
        if host is None:
            ctype = tech.hosts[0]
            host = self.new(
                f"Application using {tech.name}" if ctype != ComponentType.SERVERLESS_FUNCTION else f"Function using {tech.name}",
                ctype,
                generic=True,
                inferred_reason=f"{tech.name} runs inside a {ctype.value.replace('_', ' ')} that the text does not name",
            )
            host.last_sentence = m.sentence
        if m.tech_id not in host.facets:
            host.facets.append(m.tech_id or "")
        host.cite(m)
        m.component = host.id


def _title(text: str) -> str:
    words = re.sub(r"^(the|a|an|our|their|its)\s+", "", " ".join(text.split()), flags=re.I)
    return words[:1].upper() + words[1:]


def _merged_name(tech_name: str, generic_name: str) -> str:
    """'MySQL' + 'Database' -> 'MySQL database'; 'Django' + 'Admin console' -> 'Django admin console'."""
    low = generic_name.lower()
    if low in tech_name.lower() or tech_name.lower() in low:
        return tech_name
    return f"{tech_name} {low}"


def _distinct(m: Mention, d: Draft) -> bool:
    """A generic word that names a different thing than the component found for it."""
    if m.entry is None:
        return False
    if m.entry.id in ("generic.admin-console", "generic.internal-dashboard", "generic.csv-import", "generic.export", "generic.ehr", "generic.crm"):
        return d.name != (m.entry.name or "")
    return False
