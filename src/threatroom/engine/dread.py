"""DREAD scoring in context: the rule's baseline, adjusted for where the threat lives.

Adjustments (each recorded in the rationale, results clamped to 1..10):

* exposure: internet-facing element +1 exploitability and discoverability; an element
  reached only from inside its network -1 on both; a flow inside one trust zone -2
  exploitability;
* data sensitivity (spoofing, tampering, disclosure, elevation only): credentials,
  health or card data +2 damage, personal or financial data +1, public data only -1;
* authentication: strong caller authentication (MFA, mTLS, IAM, certificates) -1
  exploitability; none at all on an internet-facing element +1;
* blast radius: four or more connected components +1 affected users; an element with
  no connections -1.
"""

from __future__ import annotations

from ..knowledge.schema import Dread
from ..model.threats import DreadRationale, DreadScore
from ..model.vocabulary import DATA_SENSITIVITY, Severity, Stride
from .facts import CLIENT_TYPES, DATA_LABELS, ComponentFacts, FlowFacts

FACTORS = ("damage", "reproducibility", "exploitability", "affected_users", "discoverability")
STRONG_AUTH = frozenset({"mfa", "mtls", "iam", "certificate"})
DATA_STRIDE = frozenset({Stride.SPOOFING, Stride.TAMPERING, Stride.INFORMATION_DISCLOSURE, Stride.ELEVATION_OF_PRIVILEGE})


def severity_of(score: float) -> Severity:
    if score >= 8.0:
        return Severity.CRITICAL
    if score >= 6.6:
        return Severity.HIGH
    if score >= 4.5:
        return Severity.MEDIUM
    return Severity.LOW


def _data_adjust(data: frozenset, stride: Stride, adj: dict[str, list[tuple[int, str]]]) -> None:
    if stride not in DATA_STRIDE or not data:
        return
    top = max(data, key=lambda d: (DATA_SENSITIVITY[d], d.value))
    level = DATA_SENSITIVITY[top]
    if level >= 3:
        adj["damage"].append((2, f"handles {DATA_LABELS[top]}"))
    elif level == 2:
        adj["damage"].append((1, f"handles {DATA_LABELS[top]}"))
    elif level == 0 and len(data) == 1:
        adj["damage"].append((-1, "handles only public data"))


def _component_adjust(c: ComponentFacts, stride: Stride, adj: dict[str, list[tuple[int, str]]]) -> None:
    if c.type not in CLIENT_TYPES:
        if c.internet_facing is True:
            adj["exploitability"].append((1, f"internet-facing ({c.exposure_reason})"))
            adj["discoverability"].append((1, "reachable from the internet"))
        elif c.internet_facing is False:
            adj["exploitability"].append((-1, c.exposure_reason))
            adj["discoverability"].append((-1, "not visible from the internet"))
    _data_adjust(c.data, stride, adj)
    if c.auth != "unknown":
        strong = sorted(c.auth & STRONG_AUTH)
        if strong:
            adj["exploitability"].append((-1, f"callers must pass {', '.join(strong)}"))
        elif c.auth == {"none"} and c.internet_facing is True:
            adj["exploitability"].append((1, "no authentication in front of it"))
    if c.degree >= 4:
        adj["affected_users"].append((1, f"{c.degree} components connect to it"))
    elif c.degree == 0 and c.type not in CLIENT_TYPES:
        adj["affected_users"].append((-1, "nothing else connects to it"))


def _flow_adjust(f: FlowFacts, stride: Stride, adj: dict[str, list[tuple[int, str]]]) -> None:
    if f.crosses_internet:
        adj["exploitability"].append((1, "crosses the internet boundary"))
        adj["discoverability"].append((1, "traffic is visible on public networks"))
    elif not f.crosses_boundary:
        adj["exploitability"].append((-2, "stays inside one trust zone"))
    _data_adjust(f.data | f.target.data if not f.data else f.data, stride, adj)


Adjustment = tuple[str, int, str]  # (factor, delta, reason)


def adjustments(stride: Stride, subject: ComponentFacts | FlowFacts) -> tuple[Adjustment, ...]:
    """The context adjustments for a threat of this STRIDE category on this element."""
    adj: dict[str, list[tuple[int, str]]] = {k: [] for k in FACTORS}
    if isinstance(subject, FlowFacts):
        _flow_adjust(subject, stride, adj)
    else:
        _component_adjust(subject, stride, adj)
    return tuple((f, d, why) for f in FACTORS for d, why in adj[f])


def build(baseline: Dread, adj: tuple[Adjustment, ...]) -> DreadScore:
    values: dict[str, int] = {}
    reasons: dict[str, str] = {}
    for factor in FACTORS:
        base = getattr(baseline, factor)
        steps = [(d, why) for f, d, why in adj if f == factor]
        value = max(1, min(10, base + sum(d for d, _ in steps)))
        values[factor] = value
        if steps:
            parts = "; ".join(f"{d:+d} {why}" for d, why in steps)
            reasons[factor] = f"{value}: baseline {base}, {parts}"
        else:
            reasons[factor] = f"{value}: baseline" + (f" ({baseline.why})" if baseline.why and factor == "damage" else "")
    total = round(sum(values.values()) / len(FACTORS), 1)
    return DreadScore(**values, score=total, rationale=DreadRationale(**reasons))


def score(baseline: Dread, stride: Stride, subject: ComponentFacts | FlowFacts) -> DreadScore:
    """The baseline adjusted for the element's context, with the reason for every step."""
    return build(baseline, adjustments(stride, subject))
