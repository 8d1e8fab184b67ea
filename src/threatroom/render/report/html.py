"""The self-contained HTML report: inline CSS and SVG, a small hand-written sort script,
no network. Jinja2 autoescapes every value; only our own SVG and Markdown rendered with
raw HTML disabled are inserted as markup."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markdown_it import MarkdownIt

from .build import Report

TEMPLATES = Path(__file__).parent / "templates"
SEVERITY_ORDER = {"Low": 0, "Medium": 1, "High": 2, "Critical": 3}
_PROLOG = re.compile(r"^\s*(<\?xml[^>]*\?>)?\s*(<!DOCTYPE[^>]*>)?\s*(<!--.*?-->)?\s*", re.S)


@lru_cache(maxsize=1)
def _env() -> Environment:
    return Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html", "j2"]), trim_blocks=True, lstrip_blocks=True)


@lru_cache(maxsize=1)
def _md() -> MarkdownIt:
    # Raw HTML off: any markup in the text is shown, not interpreted. Links and images off too:
    # agents' text (an LLM's included) must not load anything or lure a reader elsewhere.
    return MarkdownIt("commonmark", {"html": False}).enable("table").disable(["image", "link", "autolink"])


def head(text: str, lines: int) -> str:
    """The first lines of a long text for print, saying where the rest is."""
    rows = text.splitlines()
    if len(rows) <= lines:
        return text
    cut = rows[:lines]
    while cut and cut[-1].startswith("|"):  # never end inside a table
        cut.pop()
    return "\n".join(cut) + "\n\n*(Continued in the HTML and Markdown reports.)*"


def inline_svg(svg: str | None) -> str:
    """SVG ready to sit inside HTML: no XML prolog, no scripts or event handlers."""
    if not svg:
        return ""
    svg = _PROLOG.sub("", svg)
    svg = re.sub(r"<script\b.*?</script\s*>", "", svg, flags=re.S | re.I)
    return re.sub(r"\son[a-z]+\s*=\s*(\"[^\"]*\"|'[^']*')", "", svg, flags=re.I)


def to_html(report: Report, *, for_print: bool = False, images: dict[str, str] | None = None) -> str:
    m = report.result
    names = {c.id: c.name for c in m.components}
    return _env().get_template("report.html.j2").render(
        r=report,
        m=m,
        names=names,
        sev_order=SEVERITY_ORDER,
        css=(TEMPLATES / "report.css").read_text(encoding="utf-8"),
        script=None if for_print else (TEMPLATES / "sort.js").read_text(encoding="utf-8"),
        for_print=for_print,
        images=images or {},
        dfd_svg=inline_svg(report.dfd_svg),
        tree_svgs=[inline_svg(t.svg) for t in report.trees],
        md=_md().render,
        head=head,
        analyses={ra.analysis for ra in report.discussion.roles} if report.discussion else set(),
    )
