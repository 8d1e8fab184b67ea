"""The chat-message Markdown renderer (src/threatroom/web/static/markdown.js) in a real
browser: the agents' real messages get their structure (tables, lists, emphasis, code),
hostile input stays text and runs nothing, only allow-listed tags and attributes appear,
and pathological input renders fast. A static check that the module never builds HTML
from strings runs everywhere; the browser tests need THREATROOM_TEST_CHROMIUM (.ci/run
sets it), like tests/test_web_browser.py."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from threatroom import analyze_file
from threatroom.agents import discuss
from threatroom.service.app import create_app
from threatroom.service.config import ServiceSettings

from .browser_helpers import chromium, needs_chromium, new_page, serve
from .conftest import EXAMPLES, ROOT

MODULE = ROOT / "src" / "threatroom" / "web" / "static" / "markdown.js"
ALLOWED_TAGS = {"p", "br", "h4", "h5", "h6", "ul", "ol", "li", "strong", "em", "del", "code", "pre", "blockquote", "hr",
                "div", "table", "thead", "tbody", "tr", "th", "td"}
ALLOWED_ATTRS = {"class", "scope"}

SAMPLE = """Threat Modeling Analysis:
In short: 46 threats, worst: Flask-Admin views in Flask web application reachable without an admin role check (High).

| Component | Attack vector | STRIDE | D | R | E | A | D | DREAD | Severity |
| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
| Flask web application | The attacker browses to /admin/user/ on Flask web application, finds a view whose is\\_accessible was never… | Elevation of Privilege | 9 | 6 | 7 | 7 | 7 | 7.2 | High |
| Flask web application | The attacker calls PUT /api/orders/&lt;id&gt; with ids belonging to other… | Elevation of Privilege | 8 | 7 | 7 | 6 | 6 | 6.8 | High |

**Flask-Admin** (in Flask web application)
- Pitfall: Flask-Admin views reachable without an admin role check (Elevation of Privilege, High). Fix: Lock down administrative interfaces. Hint: subclass ModelView with `def is_accessible(self): return current_user.is_authenticated` plus ...

1. **Data stores and management planes reachable from where they should not be**: 2 threats, worst High.
   Change: Move data stores and admin interfaces into private subnets.
"""

HOSTILE = [
    "<script>window.__md=1</script>",
    '<img src=x onerror="window.__md=2">',
    "[click](javascript:window.__md=3)",
    "![x](http://example.invalid/p.png)",
    "&lt;script&gt;",
    "&#x3C;img src=x onerror=window.__md=4&#x3E;",
    "<!-- a comment --> after",
    "| a | b |\n| --- | --- |\n| <svg onload=\"window.__md=5\"> | `<iframe src=x>` |",
    "<a href=\"javascript:window.__md=6\">link</a> <style>body{display:none}</style>",
    "> <img src=x onerror=window.__md=7>\n\n- <svg><script>window.__md=8</script></svg>",
]

# Renders each input into its own fresh <div> and reports on it.
RENDER = """async (inputs) => {
  const m = await import('/static/markdown.js');
  return inputs.map((text) => {
    const div = document.createElement('div');
    div.className = 'md-test';
    document.body.append(div);
    const t0 = performance.now();
    div.append(m.renderMarkdown(text));
    const ms = performance.now() - t0;
    const elements = [...div.querySelectorAll('*')];
    return {
      html: div.innerHTML, text: div.textContent, ms,
      tags: [...new Set(elements.map((e) => e.localName))],
      attrs: [...new Set(elements.flatMap((e) => [...e.attributes].map((a) => a.name)))],
      classes: [...new Set(elements.flatMap((e) => [...e.classList]))],
    };
  });
}"""


@pytest.fixture(scope="module")
def page(tmp_path_factory) -> Iterator[Any]:
    app = create_app(ServiceSettings(database_url=f"sqlite:///{tmp_path_factory.mktemp('md') / 'md.db'}", workers=1))
    with serve(app) as server, chromium() as browser:
        pg = new_page(browser)
        pg.goto(server + "/analyses")
        yield pg


def render(page: Any, *texts: str) -> list[dict[str, Any]]:
    return page.evaluate(RENDER, list(texts))


def one(page: Any, text: str) -> dict[str, Any]:
    return render(page, text)[0]


def count(html: str, tag: str) -> int:
    return len(re.findall(rf"<{tag}[\s>]", html))


def test_module_never_builds_html_from_strings() -> None:
    source = MODULE.read_text(encoding="utf-8")
    for banned in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "DOMParser", "eval(", "new Function",
                   "createContextualFragment", "setHTML", "srcdoc", ".href", ".src"):
        assert banned not in source, banned
    # attributes are set by name only where the name is a fixed, allowed literal
    names = set(re.findall(r"setAttribute\(([^,]*),", source))
    assert names and names <= {'"class"', '"scope"'}, names
    assert not re.search(r"\.(className|id|style|dataset|attributes)\b", source)


@needs_chromium
def test_agent_message_structure(page: Any) -> None:
    r = one(page, SAMPLE)
    html, text = r["html"], r["text"]
    assert count(html, "table") == 1 and '<div class="md-table"><table>' in html
    assert count(html, "th") == 10 and html.count('<th scope="col">') == 10
    assert html.count("<tr>") == 3 and re.search(r"<tbody>(?:<tr>(?:<td>.*?</td>){10}</tr>){2}</tbody>", html)
    assert "is_accessible was never" in text and "/api/orders/<id> with ids" in text
    assert "<strong>Flask-Admin</strong> (in Flask web application)" in html
    assert count(html, "ul") == 1 and count(html, "li") == 2 and count(html, "ol") == 1
    assert "<code>def is_accessible(self): return current_user.is_authenticated</code>" in html
    ol = re.search(r"<ol>(.*?)</ol>", html, re.S)
    assert ol and "<strong>Data stores and management planes reachable from where they should not be</strong>" in ol[1]
    assert re.search(r"worst High\.<br>Change: Move data stores", ol[1])
    assert html.startswith("<p>Threat Modeling Analysis:<br>In short: 46 threats")
    assert [e for e in page.errors if "markdown" in e] == []  # app.js is not under test here


@needs_chromium
@pytest.mark.parametrize("example", sorted(p.name for p in EXAMPLES.glob("*.yaml")))
def test_real_discussion_renders(page: Any, kb: Any, example: str) -> None:  # every message the agents write today
    messages = [m.content for m in discuss(analyze_file(EXAMPLES / example), kb).messages]
    results = render(page, *messages)
    for msg, r in zip(messages, results):
        assert set(r["tags"]) <= ALLOWED_TAGS and set(r["attrs"]) <= ALLOWED_ATTRS
        assert "\\_" not in r["text"] and "&lt;" not in r["text"] and "**" not in r["text"], msg[:200]
        assert r["ms"] < 500
    html = "".join(r["html"] for r in results)
    assert count(html, "table") >= 3 and count(html, "ol") >= 1 and count(html, "ul") >= 3 and count(html, "strong") >= 10


@needs_chromium
def test_hostile_input_stays_text(page: Any) -> None:
    results = render(page, *HOSTILE)
    page.wait_for_timeout(100)  # give any injected handler a chance to fire
    assert page.evaluate("window.__md") is None
    found = "document.querySelectorAll(['script', 'img', 'svg', 'iframe', 'a', 'style'].map((t) => '.md-test ' + t).join())"
    assert page.evaluate(found + ".length") == 0
    for r in results:
        assert not {"script", "img", "svg", "a", "iframe", "style"} & set(r["tags"])
        assert not [a for a in r["attrs"] if a.startswith("on") or a in {"href", "src", "style"}]
    texts = [r["text"] for r in results]
    assert texts[0] == "<script>window.__md=1</script>"
    assert texts[1] == '<img src=x onerror="window.__md=2">'
    assert texts[2] == "click" and texts[3] == "x"
    assert texts[4] == "<script>" and texts[5] == "<img src=x onerror=window.__md=4>"
    assert texts[6] == "<!-- a comment --> after"
    assert '<svg onload="window.__md=5">' in texts[7] and "<iframe src=x>" in texts[7]
    assert "<code>&lt;iframe src=x&gt;</code>" in results[7]["html"]
    assert texts[8] == '<a href="javascript:window.__md=6">link</a> <style>body{display:none}</style>'
    assert "<blockquote><p>&lt;img src=x" in results[9]["html"] and "<li>&lt;svg&gt;&lt;script&gt;" in results[9]["html"]


@needs_chromium
def test_only_allowed_tags_and_attributes(page: Any) -> None:
    extra = ["# H1\n## H2\n### H3\n#### H4 ####\n", "```python\n<b>x</b>\n```\n\n~~~\n~~~", "a\n\n---\n\n***",
             "> quote\n> > nested\n\n- a\n  - b\n    1. c\n", "~~gone~~ __strong__ _em_ *em* ***both***",
             "| l | c | r |\n| :-- | :-: | --: |\n| 1 | 2 | 3 |"]
    results = render(page, SAMPLE, *HOSTILE, *extra)
    tags = set().union(*(r["tags"] for r in results))
    attrs = set().union(*(r["attrs"] for r in results))
    assert tags <= ALLOWED_TAGS, tags - ALLOWED_TAGS
    assert attrs <= ALLOWED_ATTRS, attrs - ALLOWED_ATTRS
    assert set().union(*(r["classes"] for r in results)) <= {"md-table", "align-center", "align-right"}
    # and the constructs really were built
    assert tags >= {"h4", "h5", "h6", "pre", "code", "hr", "blockquote", "ul", "ol", "li", "del", "strong", "em", "table"}
    h, code, rules, quote, emph, aligned = (r["html"] for r in results[-6:])
    assert h == "<h4>H1</h4><h4>H2</h4><h5>H3</h5><h6>H4</h6>"
    assert code == "<pre><code>&lt;b&gt;x&lt;/b&gt;</code></pre><pre><code></code></pre>"
    assert rules == "<p>a</p><hr><hr>"
    assert quote == ("<blockquote><p>quote</p><blockquote><p>nested</p></blockquote></blockquote>"
                     "<ul><li>a<ul><li>b<ol><li>c</li></ol></li></ul></li></ul>")
    assert emph == "<p><del>gone</del> <strong>strong</strong> <em>em</em> <em>em</em> <em><strong>both</strong></em></p>"
    assert '<th class="align-center" scope="col">c</th>' in aligned and '<td class="align-right">3</td>' in aligned
    assert "<th scope=\"col\">l</th>" in aligned


@needs_chromium
def test_no_false_emphasis_and_escapes(page: Any) -> None:
    r = render(page, "snake_case_words and __init__ stay", "2 * 3 * 4 = 24", "an **unclosed bold", "a_b_ *c",
               r"\*not em\* \_x\_ \| \< \\", "`code *not em* &amp; \\_`", "a | b\n--- | ---\n1 \\| 2 | `x \\| y`",
               "1. one\n2) two", "- a\n* b\n+ c", "line one\nline two\n\npara two", "#hashtag not a heading")
    assert r[0]["html"] == "<p>snake_case_words and <strong>init</strong> stay</p>"
    assert r[1]["html"] == "<p>2 * 3 * 4 = 24</p>"
    assert r[2]["html"] == "<p>an **unclosed bold</p>"
    assert r[3]["html"] == "<p>a_b_ *c</p>"
    assert r[4]["text"] == "*not em* _x_ | < \\"
    assert r[5]["html"] == "<p><code>code *not em* &amp;amp; \\_</code></p>"
    assert "<td>1 | 2</td><td><code>x | y</code></td>" in r[6]["html"]
    assert r[7]["html"] == "<ol><li>one</li><li>two</li></ol>"
    assert r[8]["html"] == "<ul><li>a</li><li>b</li><li>c</li></ul>"
    assert r[9]["html"] == "<p>line one<br>line two</p><p>para two</p>"
    assert r[10]["html"] == "<p>#hashtag not a heading</p>"


@needs_chromium
def test_lists_nest_and_continue(page: Any) -> None:
    r = render(page, "1. **Title**: x\n  Change: lazy under the item\n2. next", "- a\n  - b\n    - c\n- d\n\nafter",
               "1. one\n   - sub\n\n   more of one\n2. two", "- item\n# heading ends it", "1. a\n- b")
    assert r[0]["html"] == "<ol><li><strong>Title</strong>: x<br>Change: lazy under the item</li><li>next</li></ol>"
    assert r[1]["html"] == "<ul><li>a<ul><li>b<ul><li>c</li></ul></li></ul></li><li>d</li></ul><p>after</p>"
    assert r[2]["html"] == "<ol><li>one<ul><li>sub</li></ul><p>more of one</p></li><li>two</li></ol>"
    assert r[3]["html"] == "<ul><li>item</li></ul><h4>heading ends it</h4>"
    assert r[4]["html"] == "<ol><li>a</li></ol><ul><li>b</li></ul>"


@needs_chromium
def test_character_references(page: Any) -> None:
    r = one(page, "&#x110000; &#0; &#xD800; &#65;&#x42; &lt;id&gt; &amp;lt; &quot;q&quot; &#39;s &apos;t &nbsp;| &bogus; &#xZZ;")
    assert r["text"] == "\ufffd \ufffd \ufffd AB <id> &lt; \"q\" 's 't \u00a0| &bogus; &#xZZ;"


@needs_chromium
def test_pathological_input_is_fast(page: Any) -> None:
    inputs = ["x" + "*" * 50_000, "[" * 50_000, "|" * 50_000, ">" * 5_000 + " deep", "\n".join(">" * k for k in range(1, 400)),
              "a*" * 25_000, "*a" * 25_000, "_a " * 16_000, "`" * 1000 + "` `" * 10_000, "](" * 25_000,
              "- " * 20_000 + "x", "\n".join("  " * k + "- x" for k in range(300)),
              "| a |\n| - |\n" + "|\n" * 40_000, "&#" * 25_000, "\\" * 50_000, "*" * 50_000, "x" * 200_000]
    results = render(page, *inputs)
    for text, r in zip(inputs, results):
        assert r["ms"] < 2000, (text[:20], r["ms"])
        assert set(r["tags"]) <= ALLOWED_TAGS
    assert results[0]["text"] == "x" + "*" * 50_000 and results[1]["text"] == "[" * 50_000
    assert results[-2]["html"] == "<hr>"  # a run of stars alone on its line is a rule
    assert results[-1]["text"] == "x" * 100_000 + "…"
    assert results[3]["html"].count("<blockquote>") < 20 and "deep" in results[3]["text"]
    assert [e for e in page.errors if "markdown" in e] == []  # app.js is not under test here
