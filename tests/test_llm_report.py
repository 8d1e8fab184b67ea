"""The LLM run in the report: usage and cost in the appendix, LLM threats marked,
partial runs flagged, in HTML, Markdown, JSON, SARIF and PDF."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from threatroom.cli import main

from .conftest import EXAMPLES


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("llm-report") / "r"
    rc = main(["report", str(EXAMPLES / "mobile-game.yaml"), "--llm", "test", "--no-llm-cache", "-q",
               "-f", "html", "-f", "markdown", "-f", "json", "-f", "sarif", "-f", "pdf", "-o", str(out)])
    assert rc == 0
    return out


def test_json_carries_the_llm_threats_and_usage(written: Path) -> None:
    data = json.loads(written.with_suffix(".json").read_text())
    llm = [t for t in data["threats"] if t["source"] == "llm"]
    assert len(llm) == 1 and llm[0]["id"] in data["discussion"]["llm"]["threats_added"]
    usage = data["discussion"]["llm"]
    assert usage["model"] == "test" and usage["input_tokens"] == sum(c["input_tokens"] for c in usage["calls"])
    assert usage["prompts"]["threat_modeler"] == "threat_modeler@v1"
    assert all(m["agent"] == "test" for m in data["discussion"]["messages"][1:])


def test_html_and_markdown_show_usage_and_mark_llm_threats(written: Path) -> None:
    html = written.with_suffix(".html").read_text()
    md = written.with_suffix(".md").read_text()
    assert "Language model" in html and 'class="badge llm"' in html
    assert "Offline analysis: no language model" not in html and "Offline analysis" not in md
    assert "### Language model" in md and "(proposed by the LLM)" in md
    assert "genai-prices" in md


def test_sarif_includes_the_llm_threat(written: Path) -> None:
    sarif = json.loads(written.with_suffix(".sarif").read_text())
    rule_ids = {r["ruleId"] for run in sarif["runs"] for r in run["results"]}
    assert any(r.startswith("llm.") for r in rule_ids)


def test_pdf_has_the_llm_appendix(written: Path) -> None:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(written.with_suffix(".pdf").read_bytes()))
    text = "\n".join(p.extract_text() for p in reader.pages[-6:])
    assert "Language model" in text and "Offline fallbacks" in text
