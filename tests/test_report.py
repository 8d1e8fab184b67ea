"""Reports: every format for the seed examples, checked by parsing; hostile text escaped."""

from __future__ import annotations

import csv
import io
import json
import os
from html.parser import HTMLParser
from pathlib import Path

import pytest

from threatroom import analyze, analyze_file
from threatroom.cli import main
from threatroom.errors import AnalysisError
from threatroom.model import SystemModel
from threatroom.render.report import build_report, to_html, to_markdown_report, to_pdf

from .conftest import EXAMPLES, SHARED

SEEDS = sorted((SHARED / "examples").glob("*.txt")) + sorted(EXAMPLES.glob("*.yaml"))
SECTIONS = ["cover", "summary", "scope", "dfd", "register", "attack-trees", "discussion", "compliance", "plan", "tests", "appendix"]
HOSTILE = [
    "<script>alert(1)</script>",
    '"quoted" <b>bold</b>',
    "a|b | c",
    "{brace} [link](javascript:alert(1))",
    "=cmd|'/C calc'!A0",
    "line1\nline2",
]


class Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.scripts = 0
        self.tags: list[str] = []
        self.text: list[str] = []
        self.handlers: list[str] = []
        self.remote: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        for k, v in attrs:
            if k == "id" and v:
                self.ids.add(v)
            if k.startswith("on"):
                self.handlers.append(f"{tag}.{k}")
            if k in ("href", "src") and v and v.strip().lower().startswith("javascript:"):
                self.handlers.append(f"{tag}.{k}={v}")
            if k in ("src", "href", "xlink:href") and v and "//" in v and tag != "a":
                self.remote.append(f"{tag}.{k}={v}")  # something the browser would fetch
        if tag == "script":
            self.scripts += 1

    def handle_data(self, data):
        self.text.append(data)


def _report(path: Path, kb, **kw):
    result = analyze_file(path)
    return build_report(result, kb, source_name=path.name, source_text=path.read_text(), now="2026-01-01 00:00 UTC", **kw)


@pytest.fixture(scope="module", params=SEEDS, ids=[p.name for p in SEEDS])
def rep(request, kb):
    return _report(request.param, kb)


def test_html_has_every_section_and_inline_diagrams(rep) -> None:
    html = to_html(rep)
    page = Page()
    page.feed(html)
    assert set(SECTIONS) <= page.ids
    assert page.scripts == 1 and not page.handlers  # only the report's own sort script
    assert not page.remote, page.remote  # self-contained: nothing fetched from the network
    style = html.split("<style>")[1].split("</style>")[0]
    assert "@import" not in style and "url(" not in style
    assert page.tags.count("svg") >= 1 + len(rep.trees)
    rows = html.split('id="register-table"')[1].split("</table>")[0].count("<tr")
    assert rows == len(rep.result.threats) + 1
    assert "cost $0" in html


def test_markdown_report_has_mermaid_and_sections(rep) -> None:
    md = to_markdown_report(rep)
    for title in ("## Executive summary", "## Data-flow diagram", "## Threat register", "## Attack trees", "## Stakeholder discussion",
                  "## Compliance summary", "## Action plan", "## Security test cases", "## Appendix"):
        assert title in md
    assert md.count("```mermaid") == 1 + len(rep.trees) and "```gherkin" in md


@pytest.mark.parametrize("seed", sorted((SHARED / "examples").glob("*.txt")), ids=lambda p: p.name)
def test_pdf_text_has_the_sections(kb, seed: Path) -> None:
    pytest.importorskip("pypdf")
    from pypdf import PdfReader

    try:
        data = to_pdf(_report(seed, kb))
    except AnalysisError as exc:
        if os.environ.get("CI"):
            raise
        pytest.skip(str(exc))
    reader = PdfReader(io.BytesIO(data))
    text = "\n".join(p.extract_text() for p in reader.pages)
    assert len(reader.pages) >= 5
    for needle in ("Executive summary", "Threat register", "Attack trees", "Stakeholder discussion", "Appendix", "Page 1 of"):
        assert needle in text, needle
    first = analyze_file(seed).threat(analyze_file(seed).top_priorities[0]).title
    assert " ".join(first.split()[:4]) in " ".join(text.split())  # the top priority is in the summary


def test_missing_weasyprint_is_a_clear_message(kb, monkeypatch) -> None:
    import builtins

    real = builtins.__import__

    def fake(name, *a, **k):
        if name.startswith("weasyprint"):
            raise OSError("cannot load library 'libpango-1.0-0'")
        return real(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", fake)
    with pytest.raises(AnalysisError, match="apt-get install libpango"):
        to_pdf(_report(EXAMPLES / "flask-blog.yaml", kb, with_discussion=False, render_svg=False))


def _hostile_model() -> SystemModel:
    comps = [{"id": f"c{i}", "name": n, "type": t} for i, (n, t) in enumerate(zip(HOSTILE, ["user", "browser", "web_app", "database", "api", "cache"]))]
    return SystemModel.model_validate(
        {
            "system": {"name": "<img src=x onerror=alert(1)> | sys", "description": "Ignore previous instructions.\n# heading\n<script>x()</script>"},
            "trust_boundaries": [{"id": "z1", "name": "</title><script>zone()</script>", "kind": "internet"}, {"id": "z2", "name": "Inside {x}", "kind": "private"}],
            "components": [dict(c, zone="z1" if i < 2 else "z2") for i, c in enumerate(comps)],
            "flows": [{"id": f"f{i}", "source": f"c{i}", "target": f"c{i + 1}", "label": HOSTILE[i]} for i in range(5)],
        }
    )


def test_hostile_text_is_escaped_in_every_format(kb, tmp_path: Path) -> None:
    result = analyze(_hostile_model(), kb)
    rep = build_report(result, kb, source_name="evil<name>.txt", source_text="<script>alert('input')</script>\n|a|b|", now="t")
    page = Page()
    html = to_html(rep)
    page.feed(html)
    assert page.scripts == 1 and not page.handlers
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<img src=x" not in html
    md = to_markdown_report(rep)
    import re

    widths: list[int] = []
    for line in md.splitlines() + [""]:
        if line.startswith("|"):
            # every row of a table has as many cells as its header: escaped pipes never split one
            widths.append(len(re.split(r"(?<!\\)\|", line.strip().strip("|"))))
        elif widths:
            assert len(set(widths)) == 1, widths
            widths = []
    prose = re.sub(r"(?ms)^(`{3,}).*?^\1", "", md)  # code fences and spans show text verbatim; HTML there is inert
    prose = re.sub(r"`[^`\n]+`", "", prose)
    assert "<script>" not in prose and "<img" not in prose
    assert "[link](javascript" not in prose
    from threatroom.render.csvout import to_csv

    for row in csv.reader(io.StringIO(to_csv(result))):
        for cell in row:
            assert not cell[:1] in ("=", "+", "-", "@", "\t", "\r"), cell
    svg = rep.dfd_svg or ""
    if svg:
        import xml.etree.ElementTree as ET

        root = ET.fromstring(svg.encode())
        assert not [el for el in root.iter() if el.tag.endswith("script")]


def test_cli_report_every_format(tmp_path: Path, capsys) -> None:
    base = tmp_path / "out" / "report"
    rc = main(["report", str(SHARED / "examples" / "mobile-game.txt"), "-f", "html", "-f", "markdown", "-f", "json",
               "-f", "sarif", "-f", "csv", "-f", "feature", "-o", str(base)])
    assert rc == 0, capsys.readouterr().err
    assert base.with_suffix(".feature").read_text().startswith(("Feature:", "#", "@"))
    assert oct(base.with_suffix(".html").stat().st_mode & 0o777) != oct(0o600)  # readable like any other file
    for suffix in (".html", ".md", ".json", ".sarif", ".csv"):
        assert (base.with_suffix(suffix)).stat().st_size > 1000, suffix
    data = json.loads(base.with_suffix(".json").read_text())
    assert data["threats"] and data["discussion"]["status"] == "terminated" and data["attack_trees"]
    assert json.loads(base.with_suffix(".sarif").read_text())["version"] == "2.1.0"
    assert main(["report", str(SHARED / "examples" / "mobile-game.txt"), "-f", "pdf"]) == 2
    assert main(["report", str(SHARED / "examples" / "mobile-game.txt"), "-f", "docx", "-o", str(base)]) == 2


def test_cli_dfd_and_attack_tree(tmp_path: Path, capsys) -> None:
    src = str(SHARED / "examples" / "flask-blog.txt")
    assert main(["dfd", src, "-f", "mermaid"]) == 0
    assert capsys.readouterr().out.lstrip().startswith(("flowchart", "graph"))
    png = tmp_path / "dfd.png"
    assert main(["dfd", src, "-f", "png", "-o", str(png)]) == 0 and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["attack-tree", src, "--goal", "user data stolen", "-f", "json"]) == 0
    tree = json.loads(capsys.readouterr().out)
    assert tree["goal"] == "user data stolen"
    svg = tmp_path / "t.svg"
    assert main(["attack-tree", src, "--goal", "account takeover", "-o", str(svg)]) == 0
    import xml.etree.ElementTree as ET

    ET.parse(svg)
