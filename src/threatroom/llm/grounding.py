"""What the model is shown: the grounded model, the register, the offline findings and
the protocol state, as one JSON document inside a ``<data>`` block.

The architecture text is a JSON string in that document: quoted data, never part of
the instructions. ``<`` is escaped, so the text cannot close the block.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from ..agents.base import TurnContext
from ..model.threats import ThreatModel

MAX_TEXT = 6_000
MAX_MESSAGE = 1_200
LIMITS = {"components": 60, "flows": 80, "threats": 25, "conversation": 6}


@dataclass(frozen=True)
class Protocol:
    """The topology's rules for this turn, and the move the offline rules suggest."""

    may_address: list[str]
    may_terminate: bool
    suggested_next: str | None
    delivered: list[str]
    pending: list[str]

    @property
    def suggested(self) -> str:
        return "TERMINATE" if self.suggested_next is None else f"NEXT: {self.suggested_next}"


def _dump(doc: dict[str, object]) -> str:
    # one-space indentation: compact JSON saves ~12 % of input tokens, but made llama-cpp-python
    # 0.3.36's grammar sampler hang on Gemma 3 270M (scripts/local-llm.sh); readability wins
    return json.dumps(doc, ensure_ascii=False, indent=1).replace("<", "\\u003c").replace(">", "\\u003e")


def data_block(doc: dict[str, object], budget: int | None = None) -> str:
    """The document as a ``<data>`` block, shrunk to ``budget`` characters when given."""
    return f"<data>\n{_dump(fit(doc, budget) if budget else doc)}\n</data>"


def _cut(key: str, size: int) -> object:
    def step(doc: dict[str, object]) -> None:
        value = doc.get(key)
        if isinstance(value, str):
            doc[key] = value[:size] + (" [...]" if len(value) > size else "")
        elif isinstance(value, list):
            doc[key] = value[:size]
    return step


def _slim(doc: dict[str, object]) -> None:
    """Components and flows by id and name only; the planned message cut short."""
    doc["components"] = [{"id": c["id"], "name": c["name"], "type": c.get("type")} for c in doc.get("components", [])]  # type: ignore[union-attr]
    doc["flows"] = [{"id": f["id"], "from": f["from"], "to": f["to"]} for f in doc.get("flows", [])]  # type: ignore[union-attr]
    proto = doc.get("protocol")
    if isinstance(proto, dict) and isinstance(proto.get("planned_message"), str):
        doc["protocol"] = dict(proto, planned_message=proto["planned_message"][:300])


# In order: what a small model can do without first. Each step keeps the data grounded.
_SHRINK = (_cut("conversation", 2), _cut("threats", 12), _cut("architecture_text", 1_500), _cut("offline_analysis", 3_000),
           _slim, _cut("flows", 20), _cut("components", 20), _cut("threats", 6), _cut("offline_analysis", 1_500),
           _cut("conversation", 1), _cut("architecture_text", 400), _cut("flows", 8), _cut("offline_analysis", 800))


def fit(doc: dict[str, object], budget: int) -> dict[str, object]:
    """A copy of ``doc`` made smaller, step by step, until its JSON fits ``budget`` characters
    (for models with a small context or a slow CPU); it may stay above it."""
    out = dict(doc)
    for step in _SHRINK:
        if len(_dump(out)) <= budget:
            break
        step(out)  # type: ignore[operator]
    return out


def read_data_block(prompt: str) -> dict[str, object]:
    """The document inside a prompt's ``<data>`` block (for fakes and tests)."""
    start, end = prompt.rfind("<data>\n"), prompt.rfind("\n</data>")
    if start < 0 or end < start:
        return {}
    try:
        doc = json.loads(prompt[start + 7 : end])
    except ValueError:
        return {}
    return doc if isinstance(doc, dict) else {}


def model_view(result: ThreatModel, *, threats: int = LIMITS["threats"]) -> dict[str, object]:
    """The grounded model in a compact form, the most urgent threats first."""
    ranked = [result.threat(t) for t in result.top_priorities]
    ranked += [t for t in result.threats if t.id not in set(result.top_priorities)]
    return {
        "system": result.system.name,
        "architecture_text": result.system.description[:MAX_TEXT],
        "components": [
            {"id": c.id, "name": c.name, "type": c.type.value, "technologies": c.technology_names, "zone": c.zone,
             "internet_facing": c.attributes.internet_facing}
            for c in result.components[: LIMITS["components"]]
        ],
        "flows": [
            {"id": f.id, "from": f.source, "to": f.target, "data": f.label, "protocol": f.protocol,
             "crosses_boundary": f.crosses_boundary}
            for f in result.flows[: LIMITS["flows"]]
        ],
        "threat_count": result.summary.total,
        "threats": [
            {"id": t.id, "element": t.element_name, "stride": t.stride.value, "title": t.title, "severity": t.severity.value,
             "dread": t.dread.score, "cwe": t.cwe, "source": t.source}
            for t in ranked[:threats]
        ],
        "input_warnings": [w.message for w in result.warnings if w.code == "prompt-injection"],
    }


def turn_document(ctx: TurnContext, protocol: Protocol, offline_analysis: str | None, planned: str) -> dict[str, object]:
    """The data for one turn. ``planned`` is what the rule-based agent would say now;
    ``offline_analysis`` the role's draft analysis, until the member has delivered.
    Leaders route and sum up: they get a short view (top threats, no flows), which
    keeps their many turns cheap."""
    me = ctx.member
    leader = me.role.value == "leader"
    view = model_view(ctx.result, threats=8 if leader else LIMITS["threats"])
    if leader:
        view.pop("flows")
        view["components"] = [{"id": c["id"], "name": c["name"]} for c in view["components"]]  # type: ignore[union-attr, index]
    doc: dict[str, object] = {
        "you": {"name": me.name, "role": me.role.value, "team": ctx.topology.team_of(me.name).name},
        "protocol": {
            "may_address": protocol.may_address,
            "may_terminate": protocol.may_terminate,
            "suggested": protocol.suggested,
            "delivered": protocol.delivered,
            "pending": protocol.pending,
            "planned_message": planned[:MAX_MESSAGE],
        },
        "task": ctx.task,
        **view,
        "conversation": [
            {"speaker": m.speaker, "role": m.role, "to": m.addressee, "content": m.content[: MAX_MESSAGE // 2 if leader else MAX_MESSAGE]}
            for m in ctx.messages[-(3 if leader else LIMITS["conversation"]) :]
        ],
    }
    if offline_analysis is not None:
        doc["offline_analysis"] = offline_analysis[:MAX_TEXT]
    return doc


__all__ = ["Protocol", "data_block", "model_view", "read_data_block", "turn_document"]
