"""AND/OR attack trees built from a threat register (no rendering here).

An attacker's goal ("Steal personal data from the database", "Take the service down")
is read for the STRIDE categories it implies and for the components or data it names.
The tree is the goal over one OR sub-goal per target component; the leaves are the
register's threats on that component (and on the flows into it), each with its DREAD
score, severity and mitigation titles. A target that the internet reaches only through
other components is attacked through an AND: get a foothold on an entry point that
reaches it, and exploit a weakness of the target itself.

Everything is deterministic: same register and goal, same tree.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ..model import ComponentType, DataClass, Feature, Severity, Stride, ZoneKind
from ..model.threats import ComponentOut, Threat, ThreatModel
from ..model.vocabulary import DATA_SENSITIVITY, DATA_STORE_TYPES, SEVERITY_ORDER
from .facts import CLIENT_TYPES, DATA_LABELS, OUTSIDE_ZONES

#: Components that pass outside traffic on to what is behind them.
FORWARDERS = frozenset({ComponentType.LOAD_BALANCER, ComponentType.REVERSE_PROXY, ComponentType.API_GATEWAY,
                        ComponentType.CDN})
#: Most attack steps under one sub-goal, and most sub-goals under the goal.
MAX_STEPS = 6
MAX_SUBGOALS = 6
MAX_FOOTHOLDS = 4
GOAL_MAX_CHARS = 200


class AttackNode(BaseModel):
    """A node of an attack tree: the goal, an OR / AND gate, or an attack step (a threat)."""

    model_config = ConfigDict(extra="forbid")

    id: str
    kind: Literal["goal", "or", "and", "step"]
    label: str
    threat_id: str | None = Field(default=None, description="The register threat a step stands for.")
    dread: float | None = Field(default=None, description="A step's DREAD; max over an OR's children, min over AND's.")
    severity: Severity | None = None
    mitigations: list[str] = Field(default_factory=list, description="Titles of a step's mitigations.")
    children: list[AttackNode] = Field(default_factory=list)

    def walk(self) -> Iterable[AttackNode]:
        """This node and all below it, depth first."""
        yield self
        for child in self.children:
            yield from child.walk()


class AttackTree(BaseModel):
    """An attacker's goal and the AND/OR tree of ways to reach it."""

    model_config = ConfigDict(extra="forbid")

    goal: str
    root: AttackNode


# --------------------------------------------------------------------------- goals

ALL_STRIDE = frozenset(Stride)


@dataclass(frozen=True)
class GoalProfile:
    """What a goal asks for: the STRIDE categories of steps that reach it, those of
    steps that lead there, and words that make any threat relevant."""

    primary: frozenset[Stride]
    enabling: frozenset[Stride] = frozenset()
    keywords: tuple[str, ...] = ()
    steals: bool = False


_STEAL = re.compile(r"steal|stolen|exfiltrat|leak|disclos|breach|dump|expos|theft|spy|snoop|intercept|read .*data")
_OUTAGE = re.compile(r"outage|\bdown\b|denial|\bd?dos\b|unavailab|disrupt|crash|exhaust|overload|offline")
_TAKEOVER = re.compile(r"take ?over|impersonat|hijack|log ?in as|phish|credential stuff|spoof")
_TAMPER = re.compile(r"tamper|fraud|cheat|modif|alter|manipulat|forg|corrupt|deface|falsif")
_REPUDIATE = re.compile(r"repudiat|cover (their|its|the)? ?tracks|deny (having|an action)|erase .*logs?")
_ELEVATE = re.compile(r"privilege|escalat|\badmin|\broot\b|full control|remote code|\brce\b")
_STEAL_WORDS = ("inject", "exfiltrat", "dump", "leak", "exposed", "stolen", "steal", "read", "public")
_AUTH_WORDS = ("session", "credential", "password", "token", "login", "log in", "sign-in", "sign in",
               "mfa", "cookie", "authenticat", "account", "oauth", "jwt")

_CLASS_WORDS: tuple[tuple[re.Pattern[str], DataClass], ...] = (
    (re.compile(r"personal|\bpii\b|customer data|user data|profile"), DataClass.PII),
    (re.compile(r"health|medical|\bphi\b|patient"), DataClass.PHI),
    (re.compile(r"card|payment|\bpci\b"), DataClass.PAYMENT_CARD),
    (re.compile(r"credential|password|secret|\bkeys?\b"), DataClass.CREDENTIALS),
    (re.compile(r"financ|bank|money|ledger"), DataClass.FINANCIAL),
)


_ID, _EOP, _SPOOF = Stride.INFORMATION_DISCLOSURE, Stride.ELEVATION_OF_PRIVILEGE, Stride.SPOOFING
#: Per kind of goal: its words, the STRIDE category reaching it, those leading there, title keywords.
_GOAL_KINDS: tuple[tuple[re.Pattern[str], Stride, frozenset[Stride], tuple[str, ...]], ...] = (
    (_STEAL, _ID, frozenset({_EOP, _SPOOF}), _STEAL_WORDS),
    (_OUTAGE, Stride.DENIAL_OF_SERVICE, frozenset(), ()),
    (_TAKEOVER, _SPOOF, frozenset(), _AUTH_WORDS),
    (_TAMPER, Stride.TAMPERING, frozenset({_EOP}), ()),
    (_REPUDIATE, Stride.REPUDIATION, frozenset(), ()),
    (_ELEVATE, _EOP, frozenset({_SPOOF}), ()),
)


def goal_profile(goal: str) -> GoalProfile:
    """The STRIDE categories and keywords a goal implies; all of STRIDE when the goal
    names none of: theft/leak, outage, account takeover, tampering/fraud/cheating,
    repudiation, privilege escalation."""
    text = goal.lower()
    hits = [kind for kind in _GOAL_KINDS if kind[0].search(text)]
    if not hits:
        return GoalProfile(primary=ALL_STRIDE)
    primary = frozenset(kind[1] for kind in hits)
    enabling = frozenset(s for kind in hits for s in kind[2]) - primary
    keywords = tuple(word for kind in hits for word in kind[3])
    return GoalProfile(primary, enabling, keywords, steals=any(kind[0] is _STEAL for kind in hits))


def _relevant(t: Threat, profile: GoalProfile) -> bool:
    """Whether a threat serves the goal: its category, or a keyword in its title."""
    if t.stride in profile.primary or t.stride in profile.enabling:
        return True
    return any(k in t.title.lower() for k in profile.keywords)


# --------------------------------------------------------------------------- the system as an attacker sees it


class _Map:
    """Zones, data, exposure and reachability of the components of a register."""

    def __init__(self, result: ThreatModel) -> None:
        self.result = result
        self.comps = {c.id: c for c in result.components}
        self.order = {c.id: i for i, c in enumerate(result.components)}
        zones = {z.id: z.kind for z in result.trust_boundaries}
        self.zone_kind = {c.id: zones.get(c.zone or "") for c in result.components}
        def per_comp() -> dict[str, list[str]]:
            return {c.id: [] for c in result.components}

        self.out_edges, self.in_edges, self.hosting = per_comp(), per_comp(), per_comp()
        self.flows_in, self.flows_out = per_comp(), per_comp()
        for f in result.flows:
            if f.source in self.comps and f.target in self.comps:
                self.out_edges[f.source].append(f.target)
                self.in_edges[f.target].append(f.source)
                self.flows_out[f.source].append(f.id)
                self.flows_in[f.target].append(f.id)
        for c in result.components:  # what runs on a host is reached through it, and the reverse
            if c.runs_on in self.comps and c.runs_on != c.id:
                self.hosting[c.id].append(c.runs_on)
                self.hosting[c.runs_on].append(c.id)
        self.data: dict[str, set[DataClass]] = {c.id: set() for c in result.components}
        for c in result.components:
            if c.attributes.data_classes != "unknown":
                self.data[c.id] |= set(c.attributes.data_classes)
        for a in result.data_assets:
            for cid in (x for x in a.stored_in if x in self.data):
                self.data[cid].add(a.classification)
        self.threats: dict[str, list[Threat]] = {}
        for t in result.threats:
            self.threats.setdefault(t.component_id or f"flow:{t.flow_id}", []).append(t)
        self.exposed = self._exposure()

    def outside(self, cid: str) -> bool:
        """On the attacker's side: a client or user, or in an internet or client zone."""
        return self.comps[cid].type in CLIENT_TYPES or self.zone_kind[cid] in OUTSIDE_ZONES

    def _exposure(self) -> set[str]:
        """Components the internet reaches directly: declared internet-facing, in a DMZ,
        called from outside, behind an exposed forwarder (load balancer, proxy,
        gateway, CDN), hosting or hosted on an exposed component. Declared
        ``internet_facing: false`` wins."""
        exposed: set[str] = set()
        changed = True
        while changed:
            changed = False
            for c in self.result.components:
                cid = c.id
                if cid in exposed or self.outside(cid) or c.attributes.internet_facing is False:
                    continue
                if (
                    c.attributes.internet_facing is True
                    or self.zone_kind[cid] == ZoneKind.DMZ
                    or any(self.outside(src) for src in self.in_edges[cid])
                    or any(src in exposed and self.comps[src].type in FORWARDERS for src in self.in_edges[cid])
                    or any(h in exposed for h in self.hosting[cid])
                ):
                    exposed.add(cid)
                    changed = True
        return exposed

    def entries_reaching(self, cid: str) -> list[str]:
        """Exposed components with a path of flows to ``cid`` (following the flows'
        direction, else ignoring it), nearest first."""
        for undirected in (False, True):
            dist = {cid: 0}
            queue = deque([cid])
            while queue:
                cur = queue.popleft()
                nxt = self.in_edges[cur] + self.hosting[cur] + (self.out_edges[cur] if undirected else [])
                for other in nxt:
                    if other not in dist:
                        dist[other] = dist[cur] + 1
                        queue.append(other)
            found = [e for e in dist if e in self.exposed and e != cid]
            if found:
                return sorted(found, key=lambda e: (dist[e], self.order[e]))
        return []


def _by_dread(threats: Iterable[Threat]) -> list[Threat]:
    """Highest DREAD first, then severity, then id: a total, stable order."""
    return sorted(threats, key=lambda t: (-t.dread.score, -SEVERITY_ORDER[t.severity], t.id))


def _named_targets(goal: str, m: _Map) -> list[str]:
    """Components the goal names: by name, id or technology, or through a data asset."""
    text = " " + re.sub(r"\s+", " ", goal.lower()) + " "
    hits: list[str] = []

    def says(phrase: str) -> bool:
        phrase = phrase.lower().strip()
        return len(phrase) >= 3 and re.search(r"(?<![a-z0-9])" + re.escape(phrase) + r"(?![a-z0-9])", text) is not None

    for c in m.result.components:
        if c.type == ComponentType.USER:
            continue
        if says(c.name) or says(c.id) or any(says(n) for n in c.technology_names):
            hits.append(c.id)
        elif any(says(f.value.replace("_", " ")) for f in c.features if f != Feature.USER_ACCOUNTS):
            hits.append(c.id)
    for a in m.result.data_assets:
        if says(a.name):
            hits.extend(cid for cid in a.stored_in if cid in m.comps)
    return sorted(set(hits), key=m.order.__getitem__)


def _targets(goal: str, profile: GoalProfile, m: _Map) -> list[str]:
    """Named components; else, for theft, holders of the data named (or any sensitive data)."""
    named = _named_targets(goal, m)
    if named:
        return named
    if profile.steals:
        text = goal.lower()
        classes = {dc for pattern, dc in _CLASS_WORDS if pattern.search(text)}
        if not classes:
            classes = {dc for dc in DataClass if DATA_SENSITIVITY[dc] > 0}
        holders = [cid for cid in m.comps if m.data[cid] & classes]
        if holders:
            return holders
        stores = [c.id for c in m.result.components if c.type in DATA_STORE_TYPES]
        if stores:
            return stores
    return list(m.comps)


# --------------------------------------------------------------------------- building


def _step(t: Threat) -> AttackNode:
    """The leaf for one threat."""
    mitigations = [mt.title for mt in t.mitigations]
    return AttackNode(id="", kind="step", label=t.title, threat_id=t.id, dread=t.dread.score,
                      severity=t.severity, mitigations=mitigations)


def _gate(kind: Literal["goal", "or", "and"], label: str, children: list[AttackNode]) -> AttackNode:
    """A gate whose score and severity follow its children: max for OR (and the goal),
    min for AND (the attacker needs every child)."""
    scores = [c.dread for c in children if c.dread is not None]
    rated = [c.severity for c in children if c.severity is not None]
    pick = min if kind == "and" else max
    severity = pick(rated, key=SEVERITY_ORDER.__getitem__) if rated else None
    return AttackNode(id="", kind=kind, label=label, dread=pick(scores) if scores else None,
                      severity=severity, children=children)


def _one_or_many(label: str, children: list[AttackNode]) -> AttackNode:
    """An OR over several children; a lone child stands for itself."""
    return children[0] if len(children) == 1 else _gate("or", label, children)


_VERBS = {
    frozenset({Stride.INFORMATION_DISCLOSURE}): "Steal data from {}",
    frozenset({Stride.DENIAL_OF_SERVICE}): "Take {} down",
    frozenset({Stride.SPOOFING}): "Take over accounts through {}",
    frozenset({Stride.TAMPERING}): "Tamper with {}",
    frozenset({Stride.REPUDIATION}): "Act unaccountably through {}",
    frozenset({Stride.ELEVATION_OF_PRIVILEGE}): "Gain privileges on {}",
}
_DIRECT = re.compile(r"public|internet|exposed|anonymous|open to|reachable from")


def _steps_on(cid: str, profile: GoalProfile, m: _Map) -> list[Threat]:
    """Threats serving the goal on a component and the flows into it (and out, for theft)."""
    flows = m.flows_in[cid] + (m.flows_out[cid] if profile.steals else [])
    found = m.threats.get(cid, []) + [t for fid in flows for t in m.threats.get(f"flow:{fid}", [])]
    return _by_dread(t for t in found if _relevant(t, profile))[:MAX_STEPS]


def _footholds(entries: list[str], m: _Map) -> list[Threat]:
    """Threats that give an attacker control of, or access through, an entry point."""
    grip = {Stride.ELEVATION_OF_PRIVILEGE, Stride.TAMPERING, Stride.SPOOFING}
    found = [t for e in entries for t in m.threats.get(e, []) if t.stride in grip]
    return _by_dread(found)[:MAX_FOOTHOLDS]


def _subgoal(cid: str, steps: list[Threat], profile: GoalProfile, m: _Map) -> AttackNode:
    """OR of the steps on a target; behind the perimeter, AND(reach it, exploit it)."""
    comp: ComponentOut = m.comps[cid]
    label = _VERBS.get(profile.primary, "Compromise {}").format(comp.name)
    entries = [] if m.outside(cid) or cid in m.exposed else m.entries_reaching(cid)
    footholds = _footholds(entries, m) if entries else []
    if not footholds:
        return _gate("or", label, [_step(t) for t in steps])
    direct = [t for t in steps if _DIRECT.search(t.title.lower())]
    behind = [t for t in steps if t not in direct]
    children = [_step(t) for t in direct]
    if behind:
        names = ", ".join(m.comps[e].name for e in entries[:3])
        reach = _one_or_many(f"Reach {comp.name} through {names}", [_step(t) for t in footholds])
        exploit = _one_or_many(f"Exploit {comp.name}", [_step(t) for t in behind])
        children.append(_gate("and", f"Get past the perimeter to {comp.name}, then exploit it", [reach, exploit]))
    return _gate("or", label, children)


def build_attack_tree(result: ThreatModel, goal: str) -> AttackTree:
    """The attack tree for ``goal`` over the threats of ``result``.

    The root is the goal; below it one OR sub-goal per target component (at most
    :data:`MAX_SUBGOALS`, highest DREAD first); below those the attack steps (at most
    :data:`MAX_STEPS` per gate, highest DREAD first), with an AND of "reach it" and
    "exploit it" for targets the internet reaches only through other components.
    When no threat fits the goal's categories, every threat on the targets is used."""
    goal_text = " ".join(str(goal).split())[:GOAL_MAX_CHARS] or "Compromise the system"
    m = _Map(result)
    profile = goal_profile(goal_text)
    subgoals: list[AttackNode] = []
    for attempt in (profile, GoalProfile(primary=ALL_STRIDE)):
        found = [(cid, _steps_on(cid, attempt, m)) for cid in _targets(goal_text, attempt, m)]
        found = sorted((f for f in found if f[1]), key=lambda f: (-f[1][0].dread.score, m.order[f[0]]))
        found = found[: 2 * MAX_SUBGOALS]  # the likeliest sub-goals; the AND ones may score lower
        subgoals = [_subgoal(cid, steps, attempt, m) for cid, steps in found]
        if subgoals:
            break
    subgoals.sort(key=lambda s: -(s.dread or 0.0))  # stable: model order among equals
    root = _gate("goal", goal_text, subgoals[:MAX_SUBGOALS])
    for i, node in enumerate(root.walk(), start=1):
        node.id = f"n{i}"
    return AttackTree(goal=goal_text, root=root)


def default_goals(result: ThreatModel) -> list[str]:
    """Up to three attacker goals suited to the model: stealing its most sensitive data
    (from where it is stored), taking over accounts, cheating or fraud where the model
    has game state or payments, and taking the service down."""
    m = _Map(result)
    goals: list[str] = []
    # (sensitivity, held in a store or asset, data class, where): the first best one wins
    held = [(DATA_SENSITIVITY[a.classification], 1, a.classification, next(iter(a.stored_in), None))
            for a in result.data_assets]
    held += [(DATA_SENSITIVITY[dc], int(c.type in DATA_STORE_TYPES), dc, c.id)
             for c in result.components for dc in sorted(m.data[c.id], key=lambda d: -DATA_SENSITIVITY[d])]
    best = max(held, key=lambda h: h[:2], default=None)  # max keeps the first of equals
    if best is not None and best[0] > 0 and (best[3] is None or best[3] in m.comps):
        where = f" from {m.comps[best[3]].name}" if best[3] else ""
        goals.append(f"Steal {DATA_LABELS[best[2]]}{where}")
    elif any(c.type in DATA_STORE_TYPES for c in result.components):
        store = next(c for c in result.components if c.type in DATA_STORE_TYPES)
        goals.append(f"Steal data from {store.name}")
    users = {c.id for c in result.components if c.type == ComponentType.USER}
    has = {t.stride for t in result.threats if t.component_id not in users}
    features = {f for c in result.components for f in c.features}
    kinds = {c.type for c in result.components}
    accounts = Feature.USER_ACCOUNTS in features or ComponentType.IDENTITY_PROVIDER in kinds
    if Stride.SPOOFING in has or accounts:
        goals.append("Take over user accounts")
    if Stride.TAMPERING in has and Feature.GAME_STATE in features:
        goals.append("Cheat by tampering with game state")
    elif Stride.TAMPERING in has and Feature.PAYMENTS in features:
        goals.append("Commit payment fraud by tampering with transactions")
    if Stride.DENIAL_OF_SERVICE in has:
        goals.append("Take the service down")
    if Stride.TAMPERING in has and len(goals) < 3 and not any("tamper" in g for g in goals):
        goals.append("Tamper with stored data")
    return goals[:3]
