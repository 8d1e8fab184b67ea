"""Facts the rules are matched against, computed once per analysis.

Each component gets its technology lineage, facets, tags, features, the data classes
it handles (declared, stored as assets, or carried by its flows), its effective
exposure and its neighbours. Each flow gets its ends and boundary facts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from ..knowledge.base import KnowledgeBase
from ..model.system import Component, Flow, SystemModel
from ..model.vocabulary import AuthMethod, ComponentType, DataClass, ZoneKind

Tri = bool | Literal["unknown"]

CLIENT_TYPES = frozenset(
    {ComponentType.USER, ComponentType.BROWSER, ComponentType.MOBILE_APP, ComponentType.DESKTOP_APP, ComponentType.DEVICE}
)
OUTSIDE_ZONES = frozenset({ZoneKind.INTERNET, ZoneKind.CLIENT})

TYPE_LABELS = {t: t.value.replace("_", " ") for t in ComponentType}
TYPE_LABELS.update(
    {
        ComponentType.RELATIONAL_DB: "relational database",
        ComponentType.NOSQL_DB: "NoSQL database",
        ComponentType.API_SERVICE: "API service",
        ComponentType.CDN: "CDN",
        ComponentType.DNS: "DNS",
        ComponentType.CI_CD: "CI/CD pipeline",
        ComponentType.THIRD_PARTY_API: "third-party API",
        ComponentType.ML_MODEL: "ML model",
    }
)
DATA_LABELS = {
    DataClass.PUBLIC: "public data",
    DataClass.INTERNAL: "internal data",
    DataClass.PII: "personal data",
    DataClass.PHI: "health data",
    DataClass.PAYMENT_CARD: "payment card data",
    DataClass.CREDENTIALS: "credentials",
    DataClass.FINANCIAL: "financial data",
}


@dataclass(slots=True, eq=False)
class ComponentFacts:
    index: int
    comp: Component
    type: ComponentType
    own: frozenset[str]
    facets: frozenset[str]
    uses: frozenset[str]
    tags: frozenset[str]
    features: frozenset[str]
    data: frozenset[DataClass]
    zone_kind: ZoneKind | None
    internet_facing: Tri
    exposure_reason: str
    auth: frozenset[str] | Literal["unknown"]
    encryption_at_rest: Tri
    encryption_in_transit: Tri
    tech_name: str
    facet_names: dict[str, str]
    inbound: list[int] = field(default_factory=list)
    outbound: list[int] = field(default_factory=list)

    @property
    def degree(self) -> int:
        return len(set(self.inbound) | set(self.outbound))


@dataclass(slots=True, eq=False)
class FlowFacts:
    index: int
    flow: Flow
    source: ComponentFacts
    target: ComponentFacts
    crosses_boundary: bool
    crosses_internet: bool
    protocol: str | None
    encrypted: Tri
    authenticated: Tri
    data: frozenset[DataClass]


@dataclass(slots=True)
class Facts:
    kb: KnowledgeBase
    model: SystemModel
    components: list[ComponentFacts]
    flows: list[FlowFacts]
    by_id: dict[str, ComponentFacts]
    memo: dict[int, bool] = field(default_factory=dict)


def _lineage(kb: KnowledgeBase, ids: list[str]) -> frozenset[str]:
    out: set[str] = set()
    for tid in ids:
        out |= kb.lineage(tid)
    return frozenset(out)


def build_facts(model: SystemModel, kb: KnowledgeBase) -> Facts:
    zones = {z.id: z.kind for z in model.trust_boundaries}
    stored: dict[str, set[DataClass]] = {}
    for asset in model.data_assets:
        for cid in asset.stored_in:
            stored.setdefault(cid, set()).add(asset.classification)
    flow_data: dict[str, set[DataClass]] = {}
    for f in model.flows:
        for end in (f.source, f.target):
            flow_data.setdefault(end, set()).update(f.data_classes)

    comps: list[ComponentFacts] = []
    by_id: dict[str, ComponentFacts] = {}
    for i, c in enumerate(model.components):
        own_ids = [c.technology] if c.technology in kb.technologies else []
        facet_ids = [f for f in c.facets if f in kb.technologies]
        own = _lineage(kb, own_ids)
        facets = _lineage(kb, facet_ids)
        declared = set(c.attributes.data_classes) if c.attributes.data_classes != "unknown" else set()
        data = frozenset(declared | stored.get(c.id, set()) | flow_data.get(c.id, set()))
        auth = c.attributes.authentication
        tech = kb.technologies.get(c.technology or "")
        cf = ComponentFacts(
            index=i,
            comp=c,
            type=c.type,
            own=own,
            facets=facets,
            uses=own | facets,
            tags=kb.tags_of(own | facets),
            features=frozenset(c.features),
            data=data,
            zone_kind=zones.get(c.zone) if c.zone else None,
            internet_facing=c.attributes.internet_facing,
            exposure_reason={True: "declared internet-facing", False: "declared internal"}.get(c.attributes.internet_facing, "unknown"),  # type: ignore[arg-type]
            auth="unknown" if auth == "unknown" else frozenset(a.value if isinstance(a, AuthMethod) else a for a in auth),
            encryption_at_rest=c.attributes.encryption_at_rest,
            encryption_in_transit=c.attributes.encryption_in_transit,
            tech_name=tech.name if tech else (c.technology or TYPE_LABELS[c.type]),
            facet_names={f: kb.technologies[f].name for f in facet_ids},
        )
        comps.append(cf)
        by_id[c.id] = cf

    flows: list[FlowFacts] = []
    for i, f in enumerate(model.flows):
        src, dst = by_id[f.source], by_id[f.target]
        src.outbound.append(dst.index)
        dst.inbound.append(src.index)
        if f.crosses_boundary is not None:
            crosses = f.crosses_boundary
        else:
            crosses = (src.comp.zone or "") != (dst.comp.zone or "")
        src_out = src.zone_kind in OUTSIDE_ZONES or (src.zone_kind is None and src.type in CLIENT_TYPES)
        dst_out = dst.zone_kind in OUTSIDE_ZONES or (dst.zone_kind is None and dst.type in CLIENT_TYPES)
        flows.append(
            FlowFacts(
                index=i,
                flow=f,
                source=src,
                target=dst,
                crosses_boundary=crosses,
                crosses_internet=src_out != dst_out,
                protocol=f.protocol,
                encrypted=f.encrypted if f.encrypted != "unknown" else _encrypted_by_protocol(f.protocol),
                authenticated=f.authenticated,
                data=frozenset(f.data_classes),
            )
        )

    # Exposure not declared: infer it from who talks to the component.
    hosted: dict[str, list[ComponentFacts]] = {}
    for cf in comps:
        if cf.comp.runs_on:
            hosted.setdefault(cf.comp.runs_on, []).append(cf)
    for cf in sorted(comps, key=lambda c: c.comp.id in hosted):  # hosts after what they host
        if cf.internet_facing != "unknown" or cf.type in CLIENT_TYPES:
            continue
        if cf.zone_kind in (ZoneKind.INTERNET, ZoneKind.DMZ):
            cf.internet_facing, cf.exposure_reason = True, f"sits in a {cf.zone_kind.value} zone"
            continue
        callers = [comps[j] for j in cf.inbound]
        outside = [c for c in callers if c.type in CLIENT_TYPES or c.zone_kind in OUTSIDE_ZONES]
        if outside:
            cf.internet_facing = True
            cf.exposure_reason = f"receives traffic from {outside[0].comp.name}"
        elif any(h.internet_facing is True for h in hosted.get(cf.comp.id, ())):
            cf.internet_facing = True
            cf.exposure_reason = f"hosts {hosted[cf.comp.id][0].comp.name}, which is internet-facing"
        elif callers and all(c.zone_kind is not None and c.zone_kind not in OUTSIDE_ZONES for c in callers) and cf.zone_kind in (
            ZoneKind.PRIVATE,
            ZoneKind.RESTRICTED,
            ZoneKind.ON_PREMISES,
        ):
            cf.internet_facing = False
            cf.exposure_reason = "reached only from inside its network"
    return Facts(kb=kb, model=model, components=comps, flows=flows, by_id=by_id)


def _encrypted_by_protocol(protocol: str | None) -> Tri:
    if protocol is None:
        return "unknown"
    if protocol in {"https", "tls", "mtls", "wss", "sftp", "ssh", "grpcs", "mqtts", "amqps", "ldaps", "smtps", "ftps"}:
        return True
    if protocol in {"http", "ws", "ftp", "telnet", "mqtt", "ldap", "smtp", "coap", "modbus"}:
        return False
    return "unknown"
