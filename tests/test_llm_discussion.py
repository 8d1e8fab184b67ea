"""LLM seats with fake models: the seed examples end to end, routing rules on LLM
output, validation and retries, offline fallback, budget caps, cancellation, cache."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from pydantic_ai.messages import ModelResponse, TextPart, ToolCallPart
from pydantic_ai.models.function import AgentInfo, FunctionModel

from threatroom import analyze_file
from threatroom.agents import HumanAgent, load_topology
from threatroom.agents.protocol import parse_reply
from threatroom.agents.topology import Role
from threatroom.llm import LLMSettings, fake_model, llm_discuss, open_runtime
from threatroom.llm.fake import answer

from .conftest import SHARED

SEEDS = {p.stem: p for p in sorted((SHARED / "examples").glob("*.txt"))}


@pytest.fixture(scope="module")
def results():
    return {name: analyze_file(path) for name, path in SEEDS.items()}


def runtime(tmp_path: Path | None = None, model=None, **kw):
    settings = LLMSettings(model="test", cache=tmp_path is not None, cache_dir=tmp_path, **kw)
    return open_runtime(settings, model=model, sleep=_no_sleep)


async def _no_sleep(_: float) -> None:
    return None


def _prompt(messages) -> str:
    from pydantic_ai.messages import ModelRequest, UserPromptPart

    for m in reversed(messages):
        if isinstance(m, ModelRequest):
            for p in m.parts:
                if isinstance(p, UserPromptPart):
                    return p.content
    return ""


def scripted(fn):
    """A FunctionModel whose answers come from fn(doc_answer, info, messages) -> dict | str."""

    def respond(messages, info: AgentInfo) -> ModelResponse:
        props = info.output_tools[0].parameters_json_schema.get("properties", {}) if info.output_tools else {}
        base = answer(_prompt(messages), wants_threats="threats" in props)
        data = fn(base, info, messages)
        if isinstance(data, str):
            return ModelResponse(parts=[TextPart(data)])
        return ModelResponse(parts=[ToolCallPart(info.output_tools[0].name, data)])

    return FunctionModel(respond, model_name="scripted")


@pytest.mark.parametrize("name", sorted(SEEDS))
def test_seed_examples_run_end_to_end_with_the_fake_model(name, results, kb) -> None:
    rt = runtime()
    merged, record = llm_discuss(results[name], kb, rt)
    topo = load_topology()
    assert record.status == "terminated"
    spoken = [m for m in record.messages if m.speaker != "user"]
    assert spoken and all(m.agent == "test" for m in spoken), [(m.speaker, m.note) for m in spoken if m.agent != "test"]
    assert record.rejected_handovers == 0
    for m in spoken:  # the topology's routing rules hold for LLM output
        if m.addressee:
            assert topo.allowed(m.speaker, m.addressee)
    assert {r.role for r in record.roles} >= {r.value for r in Role if r != Role.LEADER}
    assert all(r.by_llm for r in record.roles)
    # usage per role comes from the model's usage objects and adds up to the total
    assert record.llm is not None and record.llm.input_tokens > 0 and record.llm.output_tokens > 0
    assert sum(m.input_tokens for m in spoken) == record.llm.input_tokens
    assert len(record.llm.calls) == len(spoken)
    # the threat modeler's proposal is grounded, new and marked
    added = [t for t in merged.threats if t.source == "llm"]
    assert [t.id for t in added] == record.llm.threats_added and len(added) == 1
    comp_ids = {c.id for c in merged.components}
    assert added[0].component_id in comp_ids and added[0].cwe == ["CWE-778"]
    assert merged.summary.total == len(results[name].threats) + 1


def test_llm_threats_referencing_unknown_elements_are_dropped(results, kb) -> None:
    def fn(base, info, messages):
        if "threats" in base:
            good = dict(base["threats"][0]) if base["threats"] else None
            bad = dict(good or {}, element_id="no-such-component", title="Ghost component leaks everything")
            dup_title = dict(good or {}, title=good["title"]) if good else None
            base["threats"] = [t for t in (good, bad, dup_title) if t]
        return base

    res = results["flask-blog"]
    merged, record = llm_discuss(res, kb, runtime(model=scripted(fn)))
    assert len(record.llm.threats_added) == 1
    assert any("no-such-component" in d for d in record.llm.proposals_dropped)
    assert any("proposed twice" in d for d in record.llm.proposals_dropped)
    ids = [t.id for t in merged.threats]
    assert len(ids) == len(set(ids))


def test_a_disallowed_handover_is_re_asked_then_accepted(results, kb) -> None:
    """A2 (team A) may not address B1; the validator asks again and the model corrects."""
    asked = {"n": 0}

    def fn(base, info, messages):
        doc_me = json.loads(_prompt(messages).split("<data>\n", 1)[1].rsplit("\n</data>", 1)[0])["you"]["name"]
        retried = len(messages) > 1  # a re-ask carries the previous answer and the validator's feedback
        if doc_me == "A2" and not retried:
            asked["n"] += 1
            return dict(base, next="B1", terminate=False)
        return base

    _, record = llm_discuss(results["flask-blog"], kb, runtime(model=scripted(fn)))
    assert asked["n"] == 1
    a2 = next(m for m in record.messages if m.speaker == "A2")
    assert a2.addressee == "A1" and a2.agent == "test" and a2.handover_rejected is None


def test_invalid_answers_fall_back_to_the_offline_agent_and_the_log_says_so(results, kb) -> None:
    def fn(base, info, messages):
        if "threats" in base:  # the threat modeler always answers nonsense
            return {"message": 7}
        return base

    merged, record = llm_discuss(results["mobile-game"], kb, runtime(model=scripted(fn), output_retries=2))
    b4 = [m for m in record.messages if m.speaker == "B4"]
    assert b4 and all(m.agent == "offline" for m in b4)
    assert all("offline agent took this turn" in (m.note or "") for m in b4)
    assert b4[0].content.startswith("Threat Modeling Analysis:")
    assert record.status == "terminated"
    assert record.llm.fallbacks == len(b4)
    # three requests per failed turn: the answer and two re-asks, all counted
    assert sum(1 for c in record.llm.calls if c.agent == "B4") == 3 * len(b4)


def test_provider_errors_fall_back_and_after_two_turns_the_rest_go_offline(results, kb) -> None:
    from pydantic_ai.exceptions import ModelHTTPError

    calls = {"n": 0}

    def respond(messages, info):
        calls["n"] += 1
        raise ModelHTTPError(503, "scripted", body="down")

    rt = runtime(model=FunctionModel(respond, model_name="down"), max_retries=2)
    _, record = llm_discuss(results["flask-blog"], kb, rt)
    assert record.status == "terminated"
    assert all(m.agent == "offline" for m in record.messages[1:])
    assert calls["n"] == 2 * 3  # two turns, each one try and two retries; then the LLM is marked down
    assert [c.attempts for c in record.llm.calls] == [3, 3] and all(c.error for c in record.llm.calls)
    assert "unavailable" in (record.messages[3].note or "")
    assert sum("retry" in e for e in record.llm.events) == 4


def test_token_budget_stops_cleanly_with_a_partial_record(results, kb) -> None:
    full = llm_discuss(results["aws-web-app"], kb, runtime())[1]
    cap = full.llm.input_tokens // 3
    merged, record = llm_discuss(results["aws-web-app"], kb, runtime(max_tokens=cap))
    assert record.status == "budget_exceeded" and record.partial
    assert "token budget" in record.stop_reason
    assert 1 < len(record.messages) < len(full.messages)
    assert record.llm.input_tokens + record.llm.output_tokens <= cap
    assert merged.summary.total >= len(results["aws-web-app"].threats)  # the register is whole


def test_cost_budget_uses_the_price_table(results, kb) -> None:
    def respond(messages, info):
        from pydantic_ai.usage import RequestUsage

        data = answer(_prompt(messages), wants_threats="threats" in info.output_tools[0].parameters_json_schema.get("properties", {}))
        return ModelResponse(parts=[ToolCallPart(info.output_tools[0].name, data)], model_name="gpt-4o",
                             provider_name="openai", usage=RequestUsage(input_tokens=100_000, output_tokens=1_000))

    rt = runtime(model=FunctionModel(respond, model_name="gpt-4o"), max_cost=0.5)
    _, record = llm_discuss(results["flask-blog"], kb, rt)
    assert record.status == "budget_exceeded"
    per_call = record.llm.calls[0].cost_usd
    assert per_call == pytest.approx(100_000 * 2.5e-6 + 1_000 * 10e-6, rel=0.2)  # gpt-4o list price, from genai-prices
    assert record.llm.cost_usd <= 0.5
    assert all(c.price_known for c in record.llm.calls)


def test_cancellation_stops_between_turns(results, kb) -> None:
    cancel = threading.Event()
    rt = open_runtime(LLMSettings(model="test", cache=False), cancel=cancel)
    seen = []

    def on_message(m):
        seen.append(m)
        if len(seen) == 4:
            cancel.set()

    _, record = llm_discuss(results["flask-blog"], kb, rt, on_message=on_message)
    assert record.status == "cancelled" and record.partial and len(record.messages) == 4


def test_cache_makes_reruns_free_and_identical(results, kb, tmp_path: Path) -> None:
    counted = {"n": 0}

    def fn(base, info, messages):
        counted["n"] += 1
        return base

    first = llm_discuss(results["mobile-game"], kb, runtime(tmp_path, model=scripted(fn)))[1]
    n = counted["n"]
    second = llm_discuss(results["mobile-game"], kb, runtime(tmp_path, model=scripted(fn)))[1]
    assert counted["n"] == n  # no request reached the model
    assert second.transcript() == first.transcript()
    assert second.llm.cached_calls == len(second.llm.calls) and second.llm.cost_usd == 0
    assert second.llm.input_tokens == 0
    assert list(tmp_path.rglob("*.json"))


def test_a_person_can_sit_among_llm_agents(results, kb) -> None:
    said = []

    def ask(ctx):
        said.append(ctx.member.name)
        return "Business Discussion:\nRevenue first.\nNEXT: B1"

    _, record = llm_discuss(results["flask-blog"], kb, runtime(), seats={"B3": HumanAgent(ask)})
    assert said and record.status == "terminated"
    b3 = next(m for m in record.messages if m.speaker == "B3")
    assert b3.agent == "human" and b3.input_tokens == 0


def test_two_runs_in_one_process_do_not_share_state(results, kb) -> None:
    a, b = runtime(), runtime()
    ra = llm_discuss(results["flask-blog"], kb, a)[1]
    rb = llm_discuss(results["aws-web-app"], kb, b)[1]
    assert a.meter is not b.meter and a.proposals is not b.proposals
    assert ra.llm.threats_added != rb.llm.threats_added
    assert all("flask" not in m.content.lower() for m in rb.messages if m.speaker != "user")


def test_text_output_modes_work_too(results, kb) -> None:
    for mode in ("native", "prompted"):
        rt = open_runtime(LLMSettings(model="test", cache=False, output_mode=mode))
        _, record = llm_discuss(results["flask-blog"], kb, rt)
        assert record.status == "terminated" and record.llm.fallbacks == 0, mode


def test_reply_protocol_stays_with_the_code(results, kb) -> None:
    """A model message containing NEXT:/TERMINATE lines cannot steer: only the structured field does."""

    def fn(base, info, messages):
        return dict(base, message=base["message"] + "\nTERMINATE\nNEXT: A2")

    _, record = llm_discuss(results["flask-blog"], kb, runtime(model=scripted(fn)))
    assert record.status == "terminated" and record.rejected_handovers == 0
    b1 = record.messages[1]
    assert b1.addressee == "B4"
    assert parse_reply(b1.content + "\nNEXT: B4")[1] == "B4"


def test_after_one_re_ask_the_topology_rules_route_the_message(results, kb) -> None:
    """A model that insists on an illegal hand-over keeps its message; the runner refuses the
    hand-over and applies the default order. An early TERMINATE is never obeyed."""
    from threatroom.agents.topology import DEFAULT

    def fn(base, info, messages):
        me = read_doc(messages)["you"]["name"]
        if me == "A2":
            return dict(base, next="B3", terminate=False)
        if me == "B2":
            return dict(base, next=None, terminate=True)
        if me == "A3":
            return dict(base, next=None, terminate=False, message=base["message"] + "\nTERMINATE")
        return base

    _, record = llm_discuss(results["flask-blog"], kb, runtime(model=scripted(fn)))
    topo = load_topology(DEFAULT)
    a2 = next(m for m in record.messages if m.speaker == "A2")
    assert a2.agent == "test" and a2.handover == "B3" and "may not hand over" in a2.handover_rejected
    assert a2.addressee == topo.default_next("A2")
    b2 = next(m for m in record.messages if m.speaker == "B2")
    assert not b2.terminate and b2.addressee == "B1" and "asked to end the exercise" in b2.note
    a3 = next(m for m in record.messages if m.speaker == "A3")
    assert not a3.terminate and a3.addressee == "A1" and "named no one" in a3.note
    assert record.status == "terminated" and record.messages[-1].speaker == "B4"


def read_doc(messages) -> dict:
    return json.loads(_prompt(messages).split("<data>\n", 1)[1].rsplit("\n</data>", 1)[0])


def test_the_grounded_data_shrinks_to_a_prompt_budget(results, kb) -> None:
    sizes = {}

    def fn(base, info, messages):
        sizes.setdefault(read_doc(messages)["you"]["name"], []).append(len(_prompt(messages)))
        return base

    _, full = llm_discuss(results["aws-web-app"], kb, runtime(model=scripted(fn)))
    big = max(max(v) for v in sizes.values())
    sizes.clear()
    _, small = llm_discuss(results["aws-web-app"], kb, runtime(model=scripted(fn), max_prompt_chars=6000))
    assert max(max(v) for v in sizes.values()) < big * 0.7
    assert small.status == "terminated" and small.llm.fallbacks == 0
