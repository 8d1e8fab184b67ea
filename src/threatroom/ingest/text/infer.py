"""What a threat modeler adds to what the text says, each marked inferred with the reason:
users and their client, the entry point, links for components nobody connects,
trust zones (internet, cloud account, on-premises, third parties); and what the text's
words say about data classes, authentication and features.
"""

from __future__ import annotations

from ...knowledge.base import KnowledgeBase
from ...model.vocabulary import ComponentType, DataClass, ZoneKind
from .lexer import Hit, Mention, Sentence
from .groups import (
    ACTIVE_TYPES,
    BACKENDS,
    CLIENTS,
    EDGE_TYPES,
    ENTRY_ORDER,
    FRONT_DOOR,
    HOSTING_TYPES,
    OUTSIDE_TYPES,
)
from .relations import Linker
from .resolve import Draft, Resolver

#: Generic parts meant for staff, whose exposure a threat model must not assume away.
STAFF_ONLY = frozenset({"generic.admin-console", "generic.internal-dashboard"})
PROVIDERS = {"aws": "AWS account", "azure": "Azure subscription", "gcp": "Google Cloud project"}


def apply_words(res: Resolver, link: Linker, mentions: list[Mention], hits: list[Hit]) -> None:
    """Data classes, authentication and features from the words of each sentence."""
    by_sentence: dict[int, list[Mention]] = {}
    for m in mentions:
        if m.component:
            by_sentence.setdefault(m.sentence, []).append(m)
    for h in hits:
        e = h.entry
        named = [m for m in by_sentence.get(h.sentence, []) if m.kind == "tech"]
        federated = e.kind == "auth" and e.auth is not None and e.auth.value in FEDERATED
        if not federated and any(m.start <= h.start and h.end <= m.end for m in named):
            continue  # "Sign in with Google" names a product; its words say nothing more
        # Components of the sentence, nearest to the word first.
        near = sorted(by_sentence.get(h.sentence, []), key=lambda m: (0 if m.start <= h.start < m.end else 1, abs(m.start - h.start)))
        here: list[Draft] = []
        for m in near:
            d = res.drafts[m.component or ""]
            if d.type != ComponentType.USER and d not in here:
                here.append(d)
        if e.kind == "zone" and e.zone is not None:
            after = [res.drafts[m.component or ""] for m in near if m.start >= h.end]
            if e.zone == ZoneKind.THIRD_PARTY and after:
                after[0].zone_hint = ZoneKind.THIRD_PARTY.value
            elif e.zone == ZoneKind.INTERNET and here:
                here[0].exposed = True  # "the API is publicly accessible"
            continue
        if e.kind == "data_class" and e.data_class is not None:
            for d in _holders(res, here, e.attach_to, every=True):
                d.data.add(e.data_class)
            for f in link.flows:
                if f.sentence == h.sentence:
                    f.data.add(e.data_class)
        elif e.kind == "auth" and e.auth is not None:
            idp_here = [d for d in here if d.type == ComponentType.IDENTITY_PROVIDER]
            if e.auth.value in ("mfa", "sms_otp") and idp_here:
                holders = idp_here[:1]
            elif e.auth.value in FEDERATED:
                prefer = [ComponentType.IDENTITY_PROVIDER, ComponentType.API_GATEWAY, ComponentType.WEB_APPLICATION, ComponentType.API_SERVICE]
                holders = _holders(res, here, prefer, every=False)
            else:
                holders = _own_app(res, here)
            for d in holders:
                d.auth.add(e.auth.value)
        elif e.kind == "feature" and e.feature is not None:
            holders = _holders(res, here, e.attach_to, every=False)
            if e.feature.value == "user_accounts":
                holders = _own_app(res, here) or holders
            for d in holders:
                d.features.add(e.feature.value)


FEDERATED = frozenset({"saml", "oidc", "oauth2"})
APPS = (ComponentType.WEB_APPLICATION, ComponentType.API_SERVICE)


def _own_app(res: Resolver, here: list[Draft]) -> list[Draft]:
    """Where users' own logins live: the app named in the sentence, else the system's main app,
    else an identity provider in the sentence."""
    apps = [d for d in here if d.type in APPS]
    if apps:
        return apps[:1]
    main = sorted((d for d in res.drafts.values() if d.type in APPS), key=lambda d: d.order)
    if main:
        return main[:1]
    return [d for d in here if d.type == ComponentType.IDENTITY_PROVIDER][:1]


def _holders(res: Resolver, here: list[Draft], prefer: list[ComponentType], *, every: bool) -> list[Draft]:
    if prefer:
        ranked = [d for d in here if d.type in prefer]  # already nearest first
        if ranked:
            return ranked if every else ranked[:1]
        for t in prefer:
            pool = [d for d in res.drafts.values() if d.type == t]
            if pool:
                return pool[:1]
        return []
    return here if every else here[:1]


def complete(res: Resolver, link: Linker, kb: KnowledgeBase, sentences: list[Sentence], hits: list[Hit]) -> list[str]:
    """Add the inferred users, client, links and zones; return the assumptions made."""
    assumptions: list[str] = []
    drafts = res.drafts
    s0 = sentences[0]

    def first(types: tuple[ComponentType, ...] | frozenset[ComponentType]) -> Draft | None:
        pool = sorted((d for d in drafts.values() if d.type in types), key=lambda d: d.order)
        return pool[0] if pool else None

    actors = [d for d in drafts.values() if d.type == ComponentType.USER]
    if not actors:
        u = res.new("User", ComponentType.USER, generic=True, inferred_reason="every system has users; the text does not name them")
        actors = [u]
    client = first(CLIENTS)
    backend = first(BACKENDS)
    if client is None and (backend is not None or first((ComponentType.CDN, ComponentType.LOAD_BALANCER, ComponentType.API_GATEWAY))):
        kind = ComponentType.BROWSER
        client = res.new("Browser", kind, generic=True, inferred_reason="a web application is used through a browser; the text names no client")
    # People reach components through their client.
    for f in list(link.flows):
        src, dst = drafts[f.source], drafts[f.target]
        if client is not None and src.type == ComponentType.USER and dst.type not in CLIENTS and src.zone_hint is None:
            link.flows.remove(f)
            link.add(client.id, dst.id, f.label, sentences[f.sentence])
        elif client is not None and dst.type == ComponentType.USER and src.type not in CLIENTS and dst.zone_hint is None:
            link.flows.remove(f)
            link.add(src.id, client.id, f.label, sentences[f.sentence])
    for a in actors:
        # "Doctors log in to an admin dashboard": that person uses that web application, in a browser.
        own = _sentence_app(a, drafts)
        if own is not None and not any(f.source == a.id for f in link.flows) and client is not None and client.type != ComponentType.BROWSER:
            browser = first((ComponentType.BROWSER,)) or res.new(
                "Browser", ComponentType.BROWSER, generic=True, inferred_reason=f"{a.name} uses {own.name}, a web application, through a browser"
            )
            browser.zone_hint = ZoneKind.INTERNET.value
            link.add(a.id, browser.id, "uses", s0, reason=f"{a.name} uses {own.name} in a browser")
            link.add(browser.id, own.id, "requests", s0, reason=f"{a.name} works in {own.name}")
            continue
        if not any(f.source == a.id for f in link.flows):
            target = client if (client is not None and a.zone_hint is None) else (_entry(drafts, link) or client)
            if target is not None:
                link.add(a.id, target.id, "uses", s0, reason=f"{a.name} reaches the system through {target.name}")
    reaches_system = any(
        f.source == client.id and drafts[f.target].type in ENTRY_ORDER + BACKENDS for f in link.flows
    ) if client is not None else True
    if client is not None and not reaches_system:
        entry = _entry(drafts, link)
        if entry is not None:
            link.add(client.id, entry.id, "requests", s0, reason=f"{entry.name} is the first component a client reaches")
    # A web application or API nothing calls is called by the clients, through the front door if there is one.
    if client is not None:
        door = _entry(drafts, link)
        for d in sorted(drafts.values(), key=lambda d: d.order):
            if d.type in (ComponentType.WEB_APPLICATION, ComponentType.API_SERVICE) and d is not door and not d.nouns & STAFF_ONLY:
                if not any(f.target == d.id for f in link.flows) and any(f.source == d.id for f in link.flows):
                    src = door if door is not None and door.type in FRONT_DOOR - {ComponentType.CDN} else client
                    link.add(src.id, d.id, "requests", s0, reason=f"nothing the text names calls {d.name}; assumed its clients do")
    # Edge components nobody reaches yet are reached by the client.
    if client is not None:
        for d in sorted(drafts.values(), key=lambda d: d.order):
            if d.type in FRONT_DOOR and not any(f.target == d.id for f in link.flows):
                link.add(client.id, d.id, "requests", s0, reason=f"{d.name} sits at the edge, where clients reach the system")
    # Components the text names without saying what talks to them.
    ci = first((ComponentType.CI_CD,))
    hosting = {d.runs_on for d in drafts.values() if d.runs_on}
    for d in sorted(drafts.values(), key=lambda d: d.order):
        if d.type == ComponentType.USER or (d.type in HOSTING_TYPES and d.id in hosting):
            continue  # a platform that hosts something needs no caller of its own
        if d.type == ComponentType.CI_CD and ci is not None and ci is not d:
            if not any(f.source == d.id or f.target == d.id for f in link.flows):
                link.add(ci.id, d.id, "deploys", s0, reason=f"{d.name} is part of the delivery pipeline with {ci.name}")
                assumptions.append(f"Assumed {ci.name} hands builds to {d.name}.")
            continue
        if any(f.source == d.id or f.target == d.id for f in link.flows):
            continue
        if d.type in CLIENTS or d.type in EDGE_TYPES or d.type in HOSTING_TYPES:
            src = client or actors[0]
            reason = f"the text names {d.name} but not who uses it; assumed {src.name}"
        else:
            pipe = first((ComponentType.SERVERLESS_FUNCTION, ComponentType.MESSAGE_QUEUE, ComponentType.API_GATEWAY))
            src = backend if backend is not None and backend is not d else (pipe if pipe is not None and pipe is not d else (client or actors[0]))
            reason = f"the text names {d.name} but not what talks to it; assumed {src.name}"
        if src is d:
            continue
        link.add(src.id, d.id, "uses", s0, reason=reason)
        assumptions.append(f"Assumed {src.name} connects to {d.name}: the text does not say what talks to it.")
    _zones(res, kb, hits, assumptions)
    for d in sorted(drafts.values(), key=lambda d: d.order):
        if d.nouns & STAFF_ONLY and d.exposed is None:
            d.exposed = True
            assumptions.append(
                f"Assumed the {d.name.lower()} is reachable from the internet: the text does not say it is limited to an internal network."
            )
    return assumptions


def _sentence_app(actor: Draft, drafts: dict[str, Draft]) -> Draft | None:
    """A web application named in the same sentence as this person, if any."""
    spans = {e.start for e in actor.evidence}
    sentences = {actor.last_sentence} if spans else set()
    for d in sorted(drafts.values(), key=lambda d: d.order):
        if d.type == ComponentType.WEB_APPLICATION and d.last_sentence in sentences and d is not actor:
            return d
    return None


def _entry(drafts: dict[str, Draft], link: Linker) -> Draft | None:
    """The first component a client reaches: the outermost front door nobody else calls,
    public parts before staff-only ones (an admin console is not the front door)."""
    called = {f.target for f in link.flows if drafts[f.source].type not in CLIENTS and drafts[f.source].type != ComponentType.USER}
    pool = [d for d in drafts.values() if d.type in ENTRY_ORDER]
    if not pool:
        return None
    return min(pool, key=lambda d: (bool(d.nouns & STAFF_ONLY), d.id in called, ENTRY_ORDER.index(d.type), d.order))


def _zones(res: Resolver, kb: KnowledgeBase, hits: list[Hit], assumptions: list[str]) -> None:
    drafts = res.drafts
    on_prem_sentences = {h.sentence for h in hits if h.entry.kind == "zone" and h.entry.zone == ZoneKind.ON_PREMISES}
    providers: dict[str, str] = {}
    for d in drafts.values():
        tech = kb.technologies.get(d.technology or "")
        if d.zone_hint == ZoneKind.THIRD_PARTY.value and d.type != ComponentType.USER:
            continue  # the text said so ("their company's identity provider")
        if d.type == ComponentType.USER:
            d.zone_hint = d.zone_hint or ZoneKind.INTERNET.value
        elif d.type in CLIENTS:
            d.zone_hint = ZoneKind.INTERNET.value
        elif tech is not None and tech.provider in PROVIDERS:
            d.zone_hint = tech.provider
            providers[tech.provider] = PROVIDERS[tech.provider]
        elif tech is not None and d.type in HOSTING_TYPES and ("paas" in tech.tags or "saas" in tech.tags):
            d.zone_hint = "platform"  # Vercel, Heroku: our code on someone else's platform
        elif tech is not None and ("saas" in tech.tags or "llm-provider" in tech.tags):
            d.zone_hint = ZoneKind.THIRD_PARTY.value  # run by another company
        elif tech is None and d.type in OUTSIDE_TYPES and d.generic:
            d.zone_hint = ZoneKind.THIRD_PARTY.value
        elif d.last_sentence in on_prem_sentences:
            d.zone_hint = ZoneKind.ON_PREMISES.value
    for d in sorted(drafts.values(), key=lambda d: d.order):
        if d.zone_hint:
            continue
        if d.runs_on and drafts[d.runs_on].zone_hint:
            d.zone_hint = drafts[d.runs_on].zone_hint
        elif len(providers) == 1:
            d.zone_hint = next(iter(providers))
            assumptions.append(f"Assumed {d.name} runs in the {providers[d.zone_hint]} with the other cloud services.")
        else:
            d.zone_hint = "app"


ZONE_INFO = {
    "internet": ("Internet", ZoneKind.INTERNET, "users and their devices are outside the system's control"),
    "third_party": ("Third-party services", ZoneKind.THIRD_PARTY, "services run by other companies"),
    "on_premises": ("On-premises network", ZoneKind.ON_PREMISES, "the text places these components on premises"),
    "app": ("Application environment", ZoneKind.PRIVATE, "where the system's own servers run; the text does not say where"),
    "platform": ("Hosting platform", ZoneKind.CLOUD, "the system's code runs on a hosting provider's platform"),
    "aws": ("AWS account", ZoneKind.CLOUD, "the components are AWS services"),
    "azure": ("Azure subscription", ZoneKind.CLOUD, "the components are Azure services"),
    "gcp": ("Google Cloud project", ZoneKind.CLOUD, "the components are Google Cloud services"),
}


def data_classes_in(drafts: dict[str, Draft]) -> list[DataClass]:
    return sorted({c for d in drafts.values() for c in d.data}, key=lambda c: c.value)


__all__ = ["ACTIVE_TYPES", "ZONE_INFO", "apply_words", "complete", "data_classes_in"]
