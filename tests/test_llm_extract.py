"""LLM-assisted extraction: proposals must quote the description; unsupported ones are
dropped and listed; the rest merge with the deterministic model, with their span."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic_ai.messages import ModelResponse, ToolCallPart
from pydantic_ai.models.function import FunctionModel

from threatroom.cli import main
from threatroom.ingest import read_text
from threatroom.llm import FakeServer, LLMSettings, llm_extract, open_runtime
from threatroom.llm.extract import find_span, merge_proposals
from threatroom.llm.outputs import ExtractionOutput

from .conftest import SHARED

TEXT = ("Customers use a React single-page app that calls a Flask API over HTTPS. The Flask API stores orders in PostgreSQL.\n"
        "Every night a   cron job exports  the orders to an SFTP server run by the accounting firm.")


@pytest.mark.parametrize("quote, found", [("flask api over https", "Flask API over HTTPS"), ("cron job exports the orders", "cron job exports  the orders"),
                                          ("a MongoDB cluster", None), ("x", None)])
def test_find_span_ignores_case_and_spacing(quote: str, found: str | None) -> None:
    span = find_span(TEXT, quote)
    assert (TEXT[span[0]:span[1]] if span else None) == found


def test_supported_proposals_merge_and_the_rest_are_dropped_with_reasons(kb) -> None:
    model = read_text(TEXT, kb)
    names = {c.name.lower() for c in model.components}
    out = ExtractionOutput.model_validate({
        "components": [
            {"name": "Accounting SFTP server", "type": "file_storage", "technology": "SFTP", "quote": "an SFTP server run by the accounting firm"},
            {"name": "Nightly export job", "type": "background_worker", "quote": "every night a cron job exports the orders"},
            {"name": "Redis cache", "type": "cache", "technology": "redis", "quote": "orders are cached in Redis"},
            {"name": "Billing service", "type": "api_service", "quote": "The Flask API stores orders"},
        ],
        "flows": [
            {"source": "Nightly export job", "target": "Accounting SFTP server", "label": "orders", "protocol": "sftp",
             "quote": "exports the orders to an SFTP server"},
            {"source": "Nightly export job", "target": "Mainframe", "quote": "exports the orders"},
        ],
    })
    merged, report = merge_proposals(out, TEXT, model, kb)
    added = {c.name: c for c in merged.components if c.name.lower() not in names}
    assert set(report.added_components) == set(added) and {"Nightly export job"} <= set(added)
    assert len(report.added_flows) == 1  # to the SFTP server, whichever name the reader gave it
    flow = next(f for f in merged.flows if f.id not in {x.id for x in model.flows})
    assert TEXT[flow.evidence[0].start:flow.evidence[0].end] == "exports  the orders to an SFTP server"
    for c in added.values():
        ev = c.evidence[0]
        assert TEXT[ev.start:ev.end] == ev.quote
    assert any("Redis cache" in d and "not in the description" in d for d in report.dropped)
    assert any("Billing service" in d and "does not mention" in d for d in report.dropped)
    assert any("Mainframe" in d for d in report.dropped)
    assert merged.reference_problems() == []
    codes = [f.code for f in report.findings()]
    assert codes.count("llm-proposal-dropped") == len(report.dropped) == 3


def test_llm_extract_with_a_scripted_model_and_analysis(kb) -> None:
    def respond(messages, info):
        prompt = messages[-1].parts[-1].content
        doc = json.loads(prompt.split("<data>\n", 1)[1].rsplit("\n</data>", 1)[0].replace("\\u003c", "<"))
        assert doc["architecture_text"] == TEXT and doc["already_found"]
        data = {"components": [{"name": "Nightly export job", "type": "background_worker", "quote": "a cron job"}], "flows": []}
        return ModelResponse(parts=[ToolCallPart(info.output_tools[0].name, data)])

    rt = open_runtime(LLMSettings(model="test", cache=False, extract=True), model=FunctionModel(respond))
    model = read_text(TEXT, kb)
    merged, report = llm_extract(TEXT, model, kb, rt)
    assert report.added_components == ["Nightly export job"] and len(merged.components) == len(model.components) + 1
    assert rt.meter.calls and rt.meter.calls[0].agent == "extraction"


def test_extraction_failure_keeps_the_deterministic_model(kb) -> None:
    def respond(messages, info):
        return ModelResponse(parts=[ToolCallPart(info.output_tools[0].name, {"components": "nope"})])

    rt = open_runtime(LLMSettings(model="test", cache=False, output_retries=1), model=FunctionModel(respond))
    model = read_text(TEXT, kb)
    merged, report = llm_extract(TEXT, model, kb, rt)
    assert merged == model and report.failed == "UnexpectedModelBehavior"
    assert report.findings()[-1].code == "llm-extraction-failed"


def test_cli_extract_and_analyze_with_the_fake_model(tmp_path: Path, capsys) -> None:
    seed = SHARED / "examples" / "mobile-game.txt"
    out = tmp_path / "m.yaml"
    assert main(["extract", str(seed), "--llm", "test", "--no-llm-cache", "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert "llm-proposal-dropped" in err and "Audit log service" in err
    assert "Audit log service" not in out.read_text()
    res = tmp_path / "r.json"
    assert main(["analyze", str(seed), "--llm", "test", "--llm-extract", "--no-llm-cache", "-f", "json", "-o", str(res), "-q"]) == 0
    codes = [w["code"] for w in json.loads(res.read_text())["warnings"]]
    assert "llm-proposal-dropped" in codes


def test_extraction_over_http(tmp_path: Path, capsys) -> None:
    seed = SHARED / "examples" / "flask-blog.txt"
    with FakeServer() as srv:
        rc = main(["extract", str(seed), "--llm", "openai-compatible:fake", "--llm-base-url", srv.url, "--no-llm-cache", "-o", str(tmp_path / "m.yaml")])
        assert rc == 0 and len(srv.requests) == 1
        body = srv.requests[0]
    assert body["response_format"]["type"] == "json_schema"
    assert "Audit log service" in capsys.readouterr().err
