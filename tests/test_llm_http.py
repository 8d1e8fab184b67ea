"""The real provider path over loopback HTTP: the OpenAI SDK talking to the fake
OpenAI-compatible server that ships with threatroom. Usage objects, prices, retries,
timeouts, keys."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from genai_prices import Usage, calc_price

from threatroom import analyze_file
from threatroom.cli import main
from threatroom.llm import FakeServer, Fault, LLMSettings, llm_discuss, open_runtime

from .conftest import EXAMPLES, SHARED

SEEDS = sorted((SHARED / "examples").glob("*.txt"))


@pytest.fixture()
def server():
    with FakeServer(model_name="gpt-4o-2024-08-06") as srv:
        yield srv


def _runtime(srv: FakeServer, sleeps: list[float] | None = None, **kw):
    async def sleep(s: float) -> None:
        if sleeps is not None:
            sleeps.append(s)

    settings = LLMSettings(model="openai-compatible:gpt-4o", base_url=srv.url, cache=False, **kw)
    return open_runtime(settings, sleep=sleep)


@pytest.mark.parametrize("seed", SEEDS, ids=lambda p: p.stem)
def test_seed_examples_over_http_with_costs_from_usage(seed: Path, server: FakeServer, kb) -> None:
    result = analyze_file(seed)
    merged, record = llm_discuss(result, kb, _runtime(server))
    assert record.status == "terminated" and record.llm.fallbacks == 0
    assert len(server.requests) == len(record.llm.calls)
    for call in record.llm.calls:
        expected = calc_price(Usage(input_tokens=call.input_tokens, output_tokens=call.output_tokens), model_ref="gpt-4o", provider_id="openai")
        assert call.cost_usd == pytest.approx(float(expected.total_price))
        assert call.price_known and call.input_tokens > 0
    assert record.llm.cost_usd == pytest.approx(sum(c.cost_usd for c in record.llm.calls))
    assert record.llm.cost_usd > 0
    assert sum(m.cost_usd for m in record.messages) == pytest.approx(record.llm.cost_usd)
    assert any(t.source == "llm" for t in merged.threats)
    # temperature 0 by default, structured output as JSON schema for an OpenAI-compatible server
    assert all(r.get("temperature") == 0 for r in server.requests)
    assert all(r.get("response_format", {}).get("type") == "json_schema" for r in server.requests)


def test_429_and_5xx_are_retried_with_backoff(server: FakeServer, kb) -> None:
    server.queue(Fault(status=429, retry_after=7), Fault(status=502), Fault(status=500))
    sleeps: list[float] = []
    result = analyze_file(EXAMPLES / "flask-blog.yaml")
    _, record = llm_discuss(result, kb, _runtime(server, sleeps, backoff=0.5, max_retries=3))
    assert record.messages[1].agent == "openai-compatible:gpt-4o"
    assert sleeps == [7.0, 1.0, 2.0]  # Retry-After honoured, then 0.5 * 2**n
    assert record.llm.calls[0].attempts == 4
    assert [e.split(";")[0] for e in record.llm.events[:3]] == [
        "B1: ModelRateLimitError (HTTP 429)", "B1: ModelServerError (HTTP 502)", "B1: ModelServerError (HTTP 500)"]


def test_timeouts_are_retried(server: FakeServer, kb) -> None:
    server.queue(Fault(delay=1.5))
    result = analyze_file(EXAMPLES / "flask-blog.yaml")
    _, record = llm_discuss(result, kb, _runtime(server, timeout=0.5, max_retries=2))
    assert record.status == "terminated"
    assert "Timeout" in record.llm.events[0] or "Connection" in record.llm.events[0]
    assert record.messages[1].agent != "offline"


def test_client_errors_are_not_retried(server: FakeServer, kb) -> None:
    server.queue(Fault(status=400))
    result = analyze_file(EXAMPLES / "flask-blog.yaml")
    _, record = llm_discuss(result, kb, _runtime(server, max_retries=3))
    first = record.messages[1]
    assert first.agent == "offline" and "request failed" in first.note
    assert record.messages[2].agent != "offline"  # the next turn tries again
    assert len(server.requests) == sum(c.attempts for c in record.llm.calls)
    assert record.llm.calls[0].error.endswith("(HTTP 400)") and record.llm.calls[0].attempts == 1


def test_a_rejected_key_sends_the_rest_offline_at_once(server: FakeServer, kb) -> None:
    server.queue(Fault(status=401))
    result = analyze_file(EXAMPLES / "flask-blog.yaml")
    _, record = llm_discuss(result, kb, _runtime(server, max_retries=3))
    assert len(server.requests) == 1 and record.status == "terminated"
    assert all(m.agent == "offline" for m in record.messages[1:])
    assert "check the API key" in record.messages[2].note


def test_unusable_answers_over_http_fall_back(server: FakeServer, kb) -> None:
    server.queue(Fault(garbage=True), Fault(garbage=True), Fault(garbage=True))
    result = analyze_file(EXAMPLES / "flask-blog.yaml")
    _, record = llm_discuss(result, kb, _runtime(server, output_retries=2))
    assert record.messages[1].agent == "offline" and "invalid" in record.messages[1].note
    assert record.llm.calls[0].input_tokens > 0  # the failed tries were paid for and are counted


def test_the_key_is_sent_but_never_written(server: FakeServer, tmp_path: Path, capsys) -> None:
    secret = "sk-test-NEVER-PRINT-4242"
    key_file = tmp_path / "key"
    key_file.write_text(secret + "\n")
    cache = tmp_path / "cache"
    out = tmp_path / "r"
    rc = main(["report", str(EXAMPLES / "flask-blog.yaml"), "--llm", "openai-compatible:gpt-4o", "--llm-base-url", server.url,
               "--llm-key-file", str(key_file), "-f", "json", "-f", "markdown", "-f", "html", "-o", str(out)])
    assert rc == 0
    assert all(a == f"Bearer {secret}" for a in server.authorizations) and server.authorizations
    captured = capsys.readouterr()
    written = [p.read_text() for p in tmp_path.glob("r.*")]
    assert len(written) == 3
    for text in [captured.out, captured.err, *written]:
        assert secret not in text
    settings = LLMSettings(model="openai:gpt-4o", api_key=secret, cache_dir=cache)
    assert secret not in repr(settings) and secret not in settings.model_dump_json()


def test_cli_discuss_over_http_and_env_settings(server: FakeServer, tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("THREATROOM_LLM", "openai-compatible:gpt-4o")
    monkeypatch.setenv("THREATROOM_LLM_BASE_URL", server.url)
    out = tmp_path / "d.json"
    rc = main(["discuss", str(EXAMPLES / "mobile-game.yaml"), "-q", "-f", "json", "-o", str(out), "--no-llm-cache"])
    assert rc == 0, capsys.readouterr().err
    record = json.loads(out.read_text())
    assert record["llm"]["model"] == "openai-compatible:gpt-4o" and record["llm"]["cost_usd"] > 0
    assert record["status"] == "terminated"


def test_cli_budget_exit_code_and_partial_report(server: FakeServer, tmp_path: Path, capsys) -> None:
    out = tmp_path / "r.md"
    rc = main(["report", str(EXAMPLES / "aws-web-app.yaml"), "--llm", "openai-compatible:gpt-4o", "--llm-base-url", server.url,
               "--no-llm-cache", "--max-cost", "0.02", "-f", "markdown", "-o", str(out)])
    assert rc == 3
    text = out.read_text()
    assert "**Partial result:**" in text and "cost budget reached" in text
    assert "## Threat register" in text
    assert "partial result" in capsys.readouterr().err


def test_json_object_mode_attaches_the_schema_for_llama_cpp(server: FakeServer, kb) -> None:
    result = analyze_file(EXAMPLES / "flask-blog.yaml")
    _, record = llm_discuss(result, kb, _runtime(server, output_mode="json_object"))
    assert record.status == "terminated" and record.llm.fallbacks == 0
    formats = [r["response_format"] for r in server.requests]
    assert all(f["type"] == "json_object" and "message" in f["schema"]["properties"] for f in formats)
    assert any("threats" in f["schema"]["properties"] for f in formats)  # the threat modeler's own schema


def test_text_mode_asks_for_no_response_format(server: FakeServer, kb) -> None:
    result = analyze_file(EXAMPLES / "flask-blog.yaml")
    _, record = llm_discuss(result, kb, _runtime(server, output_mode="text"))
    assert record.status == "terminated" and record.llm.fallbacks == 0
    assert all(r["response_format"] == {"type": "text"} for r in server.requests)
    assert all(any('"message"' in m["content"] for m in r["messages"] if m["role"] == "system") for r in server.requests)  # schema in the instructions


def test_anthropic_provider_over_http_with_costs(kb) -> None:
    with FakeServer(model_name="claude-sonnet-4-6") as srv:
        settings = LLMSettings(model="anthropic:claude-sonnet-4-6", base_url=srv.url.removesuffix("/v1"), api_key="sk-ant-test", cache=False)
        _, record = llm_discuss(analyze_file(EXAMPLES / "flask-blog.yaml"), kb, open_runtime(settings))
        assert record.status == "terminated" and record.llm.fallbacks == 0
        assert "sk-ant-test" in srv.authorizations[0] and srv.requests[0]["tools"]
        # an API version that honours temperature 0 (newer SDK defaults drop it with a warning)
        assert set(srv.api_versions) == {"2023-06-01"} and all(r["temperature"] == 0 for r in srv.requests)
    for call in record.llm.calls:
        expected = calc_price(Usage(input_tokens=call.input_tokens, output_tokens=call.output_tokens),
                              model_ref="claude-sonnet-4-6", provider_id="anthropic")
        assert call.price_known and call.cost_usd == pytest.approx(float(expected.total_price))
    assert record.llm.cost_usd > 0
