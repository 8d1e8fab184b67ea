"""Directed flows and hosting from the words between the components of a sentence.

For each pair of consecutive components in a sentence, the text between them is looked
up in the lexicon's relations ("routes to", "writes to", "consumed by", ...), hosting
phrases ("hosted on", "where ... is hosted"), and coordination ("X and Y" repeats the
previous relation for Y). A relation before the first component ("Game assets are
fetched from S3") links the sentence's context: the most recent client or application.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ...model.system import Evidence
from ...model.vocabulary import ComponentType
from .groups import (
    ACTIVE_TYPES,
    BACKEND_TYPES,
    CHAIN_TYPES,
    CLIENT_LIKE,
    CONTEXT_TYPES,
    FRONTS,
    HOSTING_TYPES,
    STORE_TYPES,
)
from .lexer import Hit, Mention, Sentence
from .resolve import Draft

TO_PEOPLE = frozenset({"rel.notify-users", "rel.send"})
_COORD = re.compile(r"^(?:[\s,;:()+&/]|and|or|as well as|plus|also|the|an?|its|their|for|like|such as|both|either|then|with)*$", re.I)
_TO = re.compile(r"^[\s,]*(?:and\s+)?(?:then\s+)?(?:on\s+|onward\s+)?(?:to|into|onto|towards?)\b", re.I)
_VIA = re.compile(r"^[\s,]*(?:using|via|through|by way of|with)\b[\w\s-]{0,12}$", re.I)


@dataclass
class FlowDraft:
    source: str
    target: str
    label: str
    sentence: int
    evidence: list[Evidence] = field(default_factory=list)
    inferred_reason: str | None = None
    data: set = field(default_factory=set)


@dataclass
class Linker:
    text: str
    drafts: dict[str, Draft]
    flows: list[FlowDraft] = field(default_factory=list)
    context: str | None = None
    kb: object | None = None
    prev_target: str | None = None
    prev_sentence: int = -1  # the sentence prev_target was reached in
    prev_clients: list[str] = field(default_factory=list)  # what "both" refers to
    prev_subject: str | None = None  # what "It ..." refers to
    last_guest: str | None = None  # the last component given a host
    backend: str | None = None  # the latest server-side component mentioned

    def add(self, src: str, dst: str, label: str, s: Sentence, reason: str | None = None) -> FlowDraft | None:
        if self.drafts[src].type == ComponentType.DNS:
            # DNS answers names; the traffic itself goes from whoever asked to the next hop.
            upstream = [f.source for f in self.flows if f.target == src]
            if upstream:
                src = upstream[-1]
        if src == dst:
            return None
        for f in self.flows:
            if f.source == src and f.target == dst:
                return f
        quote = self.text[s.start : s.end].strip()
        f = FlowDraft(src, dst, label, s.index, [Evidence(kind="text", start=s.start, end=s.end, quote=quote[:2000])], reason)
        self.flows.append(f)
        return f

    def _relation(self, hits: list[Hit], lo: int, hi: int, kinds: tuple[str, ...] = ("relation",)) -> Hit | None:
        """The relation word between two spans; a specific verb beats a plain 'uses'/'calls'.
        A name that starts with a relation ("Sign in with Google") lends it to the pair."""
        inside = [
            h
            for h in hits
            if h.entry.kind in kinds
            and (lo <= h.start <= hi or (h.entry.kind == "hosting" and lo < h.end <= hi))  # "a REST API on Cloud Run"
            and (h.end <= hi or h.entry.kind == "hosting" or h.start == hi)
        ]
        specific = [h for h in inside if not h.entry.id.startswith("rel.call")]
        pool = specific or inside
        # The verb closest to the second component governs it ("consumes them and writes balances to X").
        return max(pool, key=lambda h: (h.end, h.end - h.start)) if pool else None

    def link_sentence(self, s: Sentence, mentions: list[Mention], hits: list[Hit]) -> None:
        slots: list[Mention] = []
        for m in mentions:
            if m.component is None:
                continue  # a facet stands for its host: "PayPal calls our webhook endpoint"
            if slots and slots[-1].component == m.component:
                continue  # the same component again: the verbs around its first mention still count
            slots.append(m)
        if not slots:
            return
        lead = self._relation(hits, s.start, slots[0].start)
        lead_host = self._relation(hits, s.start, slots[0].start, ("hosting",))
        if lead_host is not None and lead_host.start >= slots[0].start:
            lead_host = None  # "backend on GKE" starts at the first component: it is about that one
        things = [m for m in slots if self.drafts[m.component or ""].type != ComponentType.USER]
        subject = (things[0] if things else slots[0]).component or ""  # "Students use a Moodle app ...": the app
        clause = subject  # who acts in the current clause: "X, which ..." makes X the actor
        last: FlowDraft | None = None
        last_rel: Hit | None = None
        carried: Hit | None = None
        partners: list[str] = []
        attributive = False  # the last relation only described its subject ("backed by Redis")  # "the Android app and the iOS app call ...": earlier subjects of the same verb
        implicit: list[FlowDraft] = []  # flows whose source the sentence did not name
        chained = bool(self.prev_target) and self.prev_sentence == s.index - 1 and (
            self.drafts[self.prev_target or ""].type in CHAIN_TYPES
            or (lead is not None and lead.entry.id == "rel.trigger" and self.drafts[self.prev_target or ""].type in STORE_TYPES)
        )
        origin = self.prev_target if chained else self.context  # "... to Kinesis. There a Lambda ..." continues the chain
        if lead is not None and lead.entry.id == "rel.store" and self.drafts[slots[0].component or ""].type in STORE_TYPES and self.backend:
            origin = self.backend  # "Returns are stored in Oracle": the system's own code stores them
        if _IT_START.match(self.text[s.start : s.end]) and self.prev_subject:
            origin = self.prev_subject  # "It authenticates ... and stores ...": the thing the last sentence was about
        both = _BOTH.match(self.text[s.start : s.end])
        if lead is not None and both and self.prev_clients:
            for src in self.prev_clients:  # "Both (clients) talk to a GraphQL API": each one does
                last = self.add(src, slots[0].component or "", lead.entry.label or "data", s) or last
            last_rel = lead
        elif lead is not None and origin and not lead_host:
            last = self.add(origin, slots[0].component or "", lead.entry.label or "data", s)
            last_rel = lead
            if last is not None:
                implicit.append(last)
        for h in hits:  # "a ledger service consumes them and ...": they are what the last sentence sent
            if h.entry.direction == "reverse" and h.start >= slots[0].end and self.prev_target and self.prev_sentence == s.index - 1:
                if _PRONOUN.match(self.text[h.end : h.end + 20]) and h.start - slots[0].end < 4:
                    self.add(self.prev_target, slots[0].component or "", h.entry.label or "data", s)
        for a, b in zip(slots, slots[1:]):
            ca, cb = a.component or "", b.component or ""
            between = self.text[a.end : b.start]
            host = self._relation(hits, a.end, b.start, ("hosting",))
            if host is not None and host.entry.direction == "forward" and host.end > b.start:
                host = None  # "X hosted on" must end before the platform's name
            if host is None and _ON_PLATFORM.match(between) and self._platform(cb) and not self._platform(ca):
                self._host(ca, cb, s)  # "WordPress on Lightsail", "Jenkins on vSphere", "microservices on AKS"
                continue
            if _ON_PLATFORM.match(between) and self.drafts[cb].type in FRONTS and self.drafts[ca].type in BACKEND_TYPES:
                last = self.add(cb, ca, "routes requests", s) or last  # "a REST API on API Gateway": the gateway fronts it
                continue
            if host is not None:
                guest, platform = (ca, cb) if host.entry.direction == "forward" else (cb, ca)
                served = self._host(guest, platform, s)
                if served is not None:
                    last = served
                continue
            rel = self._relation(hits, a.end, b.start)
            if _RELATIVE_AFTER.match(between):
                # "X, which ...": X acts; a platform named last hands the clause to what it hosts
                clause = ca if not self._platform(ca) else (self.last_guest or clause)
            src = clause if self._platform(ca) and ca != clause else ca
            before_verb = self.text[a.end : rel.start] if rel is not None else ""
            if rel is not None and _NEW_PREDICATE.search(before_verb) and not _RELATIVE.search(before_verb):
                src = clause  # "X is on S3 and calls the API": the subject calls
            if rel is not None and attributive and not _RELATIVE.search(before_verb):
                src = clause  # "Sidekiq workers backed by Redis send emails": Sidekiq sends
            attributive = False
            if _AGENT.search(between) and self.drafts[cb].type in ACTIVE_TYPES and implicit:
                for f in implicit:  # "... are ingested from Confluence by a worker": the worker does it
                    if f in self.flows:
                        self.flows.remove(f)
                        self.add(cb, f.target, f.label, s)
                implicit = []
                continue
            if _FROM.search(between) and nxt_to(slots, a, b, self.text):
                carried = rel or last_rel
                continue  # "from the browser straight to S3": the browser is the source of the next pair
            if carried is not None and rel is None and _TO_AFTER.match(between):
                rel, carried = carried, None
            if rel is None and self._in_front(hits, b, s) and clause != cb:
                last = self.add(cb, clause, "routes requests", s) or last  # "with Apache in front of it"
                continue
            if rel is None and last is None and ca != cb and _COORD_SUBJECTS.match(between):
                partners.append(ca)
                continue
            if rel is not None:
                if _VIA.match(between) and last is None and self.drafts[cb].type in FRONTS:
                    last = self.add(cb, ca, "routes requests", s)  # "reach the API through Kong Gateway"
                    continue
                if _VIA.match(between) and last is not None and (last.target == ca or self.drafts[last.target].runs_on == ca):
                    ca = last.target  # "a backend on GKE through Apigee": the backend, not its platform
                    # "synced back to DynamoDB using AppSync": AppSync sits on the way.
                    self.flows.remove(last)
                    self.add(last.source, cb, last.label, s)
                    last = self.add(cb, ca, last.label, s)
                    continue
                pair = (src, cb) if rel.entry.direction == "forward" else (cb, src if self.drafts[ca].type in HOSTING_TYPES else ca)
                attributive = bool(_ATTRIBUTIVE.search(self.text[rel.start : rel.end]))
                if rel.entry.id == "rel.read" and self.drafts[pair[1]].type == ComponentType.MESSAGE_QUEUE:
                    pair = (pair[1], pair[0])  # messages flow from the queue to whoever reads it
                if _PASSIVE_CLAUSE.search(before_verb) and origin:
                    pair = (origin, cb)  # "..., and refunds are sent over IBM MQ": the system sends them
                if rel.entry.direction == "forward":
                    for p in partners:
                        self.add(p, cb, rel.entry.label or "data", s)
                partners = []
                if self.drafts[pair[1]].type == ComponentType.USER and rel.entry.id not in TO_PEOPLE:
                    continue  # "the app uses ... to handle user authentication" is no flow to a person
                last, last_rel = self.add(*pair, rel.entry.label or "data", s), rel
            elif last is not None and last_rel is not None and last_rel.entry.id in ("rel.route", "rel.behind") and _THEN.match(between):
                last = self.add(ca, cb, last_rel.entry.label or "data", s)  # "through Cloudflare and then Envoy"
            elif last is not None and last_rel is not None and _TO.match(between):
                last = self.add(ca, cb, last_rel.entry.label or "data", s)
            elif last is not None and self._consumes_them(hits, b, s) and last.target != cb:
                last = self.add(last.target, cb, "consumes", s) or last  # "queues jobs in RabbitMQ, and a worker consumes them"
            elif last is not None and (_COORD.match(_strip_generic(between)) or _COORD_LIST.match(between)):
                if last.source != cb:
                    before = last
                    last = self.add(last.source, cb, last.label, s) or last
                    if before in implicit and last is not before:
                        implicit.append(last)
        tail = self._relation(hits, slots[-1].end, s.end)
        if tail is not None and tail.entry.direction == "reverse" and self.prev_target and _PRONOUN.search(self.text[tail.end : s.end]):
            self.add(self.prev_target, slots[-1].component or "", tail.entry.label or "data", s)  # "a ledger service consumes them"
        for m in slots:
            if self.drafts[m.component or ""].type in BACKEND_TYPES:
                self.backend = m.component
        first_thing = next((m.component for m in slots if self.drafts[m.component or ""].type != ComponentType.USER), None)
        if first_thing and not _IT_START.match(self.text[s.start : s.end]):
            self.prev_subject = first_thing
        for m in slots:  # remember the clients mentioned lately, for "Both clients talk to ..."
            if self.drafts[m.component or ""].type in CLIENT_LIKE and m.component not in self.prev_clients:
                self.prev_clients = (self.prev_clients + [m.component or ""])[-2:]
        mine = [f for f in self.flows if f.sentence == s.index]
        if mine:
            self.prev_target, self.prev_sentence = mine[-1].target, s.index
        started = [f for f in self.flows if f.sentence == s.index and f.source in self.drafts]
        starters = [f.source for f in started if self.drafts[f.source].type in CONTEXT_TYPES]
        if starters:
            self.context = starters[0]
            return
        for m in reversed(slots):
            if self.drafts[m.component or ""].type in CONTEXT_TYPES:
                self.context = m.component
                break

    def _in_front(self, hits: list[Hit], b: Mention, s: Sentence) -> bool:
        after = [h for h in hits if h.entry.kind == "relation" and self.text[h.start : h.end].lower().startswith("in front of") and 0 <= h.start - b.end < 4]
        return bool(after) and bool(_PRONOUN.match(self.text[after[0].end : s.end]))

    def _consumes_them(self, hits: list[Hit], b: Mention, s: Sentence) -> bool:
        after = [h for h in hits if h.entry.kind == "relation" and h.entry.direction == "reverse" and 0 <= h.start - b.end < 4]
        return bool(after) and bool(_PRONOUN.match(self.text[after[0].end : s.end]))

    def _platform(self, cid: str) -> bool:
        """A host, a container platform, or a platform-as-a-service product (App Service, Heroku)."""
        d = self.drafts[cid]
        tech = self.kb.technologies.get(d.technology or "") if self.kb else None
        return d.type in HOSTING_TYPES or (tech is not None and "paas" in tech.tags and d.type != ComponentType.SERVERLESS_FUNCTION)

    def _host(self, guest: str, platform: str, s: Sentence) -> FlowDraft | None:
        """'X runs on Y': Y hosts X, or (for storage and CDNs) serves X's files."""
        g, p = self.drafts[guest], self.drafts[platform]
        if p.type in HOSTING_TYPES or self._platform(platform):
            if g.runs_on is None and g.type not in HOSTING_TYPES:
                g.runs_on = platform
            self.last_guest = guest
            return None
        if p.type in (ComponentType.OBJECT_STORAGE, ComponentType.CDN):
            return self.add(guest, platform, "loads static content", s)
        if p.type == ComponentType.SERVERLESS_FUNCTION and g.type not in HOSTING_TYPES:
            return self.add(guest, platform, "runs as functions", s)  # "the API runs on AWS Lambda"
        if g.type in HOSTING_TYPES and p.type in ACTIVE_TYPES and p.runs_on is None:
            p.runs_on = guest
        return None


_AGENT = re.compile(r"\bby\s+(?:an?\s+|the\s+|our\s+|its\s+)?$", re.I)
_PRONOUN = re.compile(r"^\s*(?:them|it|these|those|the events|the messages)\b", re.I)
_COORD_SUBJECTS = re.compile(r"^[\s,]*(?:[\w-]+\s+){0,2}?(?:and|or|as well as|,)\s+(?:the\s+|an?\s+|our\s+)?(?:[\w-]+\s*){0,2}$", re.I)
_RELATIVE_AFTER = re.compile(r"^[\s,]*(?:which|that|who)\b", re.I)
_ON_PLATFORM = re.compile(r"^\s*(?:[\w-]+\s+){0,3}?(?:is\s+|are\s+)?(?:hosted\s+|running\s+|deployed\s+|installed\s+)?(?:on|in|inside|within)\s+(?:the\s+|an?\s+|our\s+|its\s+|their\s+)?(?:[\w-]+\s+){0,1}$", re.I)
_THEN = re.compile(r"^[\s,]*(?:and\s+)?then\s+(?:the\s+|an?\s+)?$", re.I)
_PASSIVE_CLAUSE = re.compile(r",?\s+and\s+(?:[\w-]+\s+){0,3}(?:is|are|was|were)\s*$", re.I)
_BOTH = re.compile(r"^\s*(?:Both|They|The two|Both of them)\b(?:\s+(?:apps|clients|applications|services|frontends|front ends))?", re.I)
# "... in MySQL, sessions in Redis": a list that repeats the verb for each item
_COORD_LIST = re.compile(r"^\s*,\s*(?:and\s+)?(?:[\w-]+\s+){1,3}(?:in|on|into|to|at)\s+(?:the\s+|an?\s+)?$", re.I)
_IT_START = re.compile(r"^\s*(?:It|This (?:service|app|application|API|system|backend))\b")
_ATTRIBUTIVE = re.compile(r"backed by|built (?:on|with)|powered by|using|based on", re.I)
_RELATIVE = re.compile(r"\b(?:that|which|who|where)\b", re.I)
_NEW_PREDICATE = re.compile(r"\band\s+(?:also\s+|then\s+)?$", re.I)
_FROM = re.compile(r"\bfrom\s+(?:the\s+|an?\s+|their\s+|its\s+|our\s+)?$", re.I)
_TO_AFTER = re.compile(r"^[\s,]*(?:straight\s+|directly\s+|then\s+)?(?:to|into|onto)\b", re.I)


def nxt_to(slots: list[Mention], a: Mention, b: Mention, text: str) -> bool:
    """Is b followed by 'to <next component>'?"""
    i = slots.index(b)
    return i + 1 < len(slots) and bool(_TO_AFTER.match(text[b.end : slots[i + 1].start]))


def _strip_generic(between: str) -> str:
    return re.sub(r"[\w-]+", lambda w: "" if w.group().lower() in _FILLER else w.group(), between)


_FILLER = frozenset(
    "additional other aws azure gcp google amazon services service like such as object storage data frequently "
    "requested quickly to access for the an a".split()
)
