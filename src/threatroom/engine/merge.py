"""Add threats from outside the library (an LLM, a person) to a finished register,
keeping the register's order, summary and top priorities consistent."""

from __future__ import annotations

from collections import Counter

from ..model.threats import Summary, Threat, ThreatModel
from ..model.vocabulary import Severity, Stride
from .analyze import _rank


def add_threats(result: ThreatModel, extra: list[Threat]) -> ThreatModel:
    """A copy of ``result`` with ``extra`` threats in the register; ids must be new."""
    if not extra:
        return result
    known = {t.id for t in result.threats}
    clash = [t.id for t in extra if t.id in known]
    if clash:
        raise ValueError(f"threat ids already in the register: {', '.join(clash)}")
    threats = sorted([*result.threats, *extra], key=lambda t: (-t.dread.score, t.id))
    by_sev = Counter(t.severity.value for t in threats)
    by_stride = Counter(t.stride.value for t in threats)
    summary = Summary(
        total=len(threats),
        by_severity={s.value: by_sev.get(s.value, 0) for s in Severity},
        by_stride={s.value: by_stride.get(s.value, 0) for s in Stride},
    )
    return result.model_copy(update={"threats": threats, "summary": summary, "top_priorities": _rank(threats)})


__all__ = ["add_threats"]
