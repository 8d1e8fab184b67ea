"""The built-in fake model behind ``--llm test``: no key, no network, deterministic.

It reads the grounded data the prompt carries and answers the way a careful model
would: the role's analysis from the offline findings, the suggested hand-over, and,
for the threat modeler, one proposed threat about audit trails on the most exposed
component. The same brain answers the loopback OpenAI-compatible server in
:mod:`threatroom.llm.fakeserver`, so tests can drive the real HTTP path.
"""

from __future__ import annotations

import json
from typing import Any

from .grounding import read_data_block

FAKE_NAME = "threatroom-fake"


def _turn(doc: dict[str, Any], wants_threats: bool) -> dict[str, Any]:
    you, protocol = doc.get("you", {}), doc.get("protocol", {})
    terminate = bool(protocol.get("may_terminate"))
    suggested = str(protocol.get("suggested", ""))
    nxt = None if terminate else suggested.removeprefix("NEXT: ").strip() or None
    offline = doc.get("offline_analysis")
    if offline:
        message = f"{offline}\n\n(Written by the test model from the offline findings.)"
    elif not protocol.get("pending"):
        threats = doc.get("threats", [])[:3]
        firsts = "; ".join(f"{t['title']} ({t['severity']}, {t['id']})" for t in threats) or "none"
        message = (f"All analyses are in for {doc.get('system', 'the system')} "
                   f"({', '.join(protocol.get('delivered', []))}). First priorities: {firsts}.")
    else:
        message = f"{you.get('name', 'I')} here. {protocol.get('planned_message', '')}".strip()
    out: dict[str, Any] = {"message": message, "next": nxt, "terminate": terminate}
    if wants_threats:
        out["threats"] = _threats(doc) if offline else []
    return out


def _threats(doc: dict[str, Any]) -> list[dict[str, Any]]:
    comps = doc.get("components", [])
    exposed = [c for c in comps if c.get("internet_facing") is True] or comps
    if not exposed:
        return []
    c = exposed[0]
    return [{
        "element_id": c["id"],
        "stride": "Repudiation",
        "title": f"Administrative actions on {c['name']} leave no tamper-evident trail",
        "attack_vector": f"An insider or a stolen operator account changes {c['name']}'s configuration and later denies it; nothing records who did what.",
        "description": "Without an append-only audit log, changes cannot be attributed during an investigation.",
        "cwe": ["CWE-778"],
        "mitigations": ["Write security-relevant actions to an append-only audit log outside the component's own control."],
        "damage": 5, "reproducibility": 6, "exploitability": 4, "affected_users": 5, "discoverability": 4,
        "dread_reason": "exposed component with operator access; impact is on investigations rather than data directly",
    }]


def _extraction(doc: dict[str, Any]) -> dict[str, Any]:
    text = str(doc.get("architecture_text", ""))
    found = doc.get("already_found", [])
    components = [{"name": c["name"], "type": c["type"], "technology": c.get("technology"), "quote": c.get("quote") or c["name"]} for c in found]
    probe = "an audit log service records every change"
    if probe not in text.lower():  # the test model also makes an unsupported claim, which must be dropped
        components.append({"name": "Audit log service", "type": "api_service", "technology": None, "quote": probe})
    return {"components": components, "flows": []}


def answer(prompt: str, *, wants_threats: bool = False) -> dict[str, Any]:
    """The fake's structured answer to a threatroom prompt."""
    doc = read_data_block(prompt)
    if "already_found" in doc:
        return _extraction(doc)
    return _turn(doc, wants_threats)


def _latest_prompt(messages: list[Any]) -> str:
    from pydantic_ai.messages import ModelRequest, UserPromptPart

    for msg in reversed(messages):
        if isinstance(msg, ModelRequest):
            for part in msg.parts:
                if isinstance(part, UserPromptPart) and isinstance(part.content, str):
                    return part.content
    return ""


def fake_model() -> Any:
    """A pydantic-ai FunctionModel backed by :func:`answer`."""
    from pydantic_ai.messages import ModelResponse, TextPart, ToolCallPart
    from pydantic_ai.models.function import AgentInfo, FunctionModel

    def respond(messages: list[Any], info: AgentInfo) -> ModelResponse:
        tool = info.output_tools[0] if info.output_tools else None
        schema = tool.parameters_json_schema if tool else (info.model_request_parameters.output_object.json_schema if info.model_request_parameters.output_object else {})
        wants = "threats" in (schema or {}).get("properties", {})
        data = answer(_latest_prompt(messages), wants_threats=wants)
        if tool is not None:
            return ModelResponse(parts=[ToolCallPart(tool.name, data)], model_name=FAKE_NAME)
        return ModelResponse(parts=[TextPart(json.dumps(data))], model_name=FAKE_NAME)

    return FunctionModel(respond, model_name=FAKE_NAME)


__all__ = ["FAKE_NAME", "answer", "fake_model"]
