"""Accessibility and small screens, measured in Chromium: every page at 1280 px and at
phone width (390 px) has no sideways page scroll, WCAG AA text contrast, a name for every
control and an alt text for every image; the new-analysis form works from the keyboard
alone; and a server with API keys asks for one, refuses a wrong one and works with the
right one. Screenshots of every page at both widths go to test-artifacts/screenshots/."""

from __future__ import annotations

import time

import pytest

from threatroom.service.app import create_app
from threatroom.service.config import ServiceSettings
from threatroom.service.keys import create_key
from threatroom.web import load_examples

from .browser_helpers import DESKTOP, PHONE, finished, needs_chromium, new_page, serve, service_fixture, shot

pytestmark = needs_chromium

# WCAG 2.x contrast of every visible text against its composited background: 4.5:1, or 3:1
# for large text. Disabled controls are exempt (WCAG 1.4.3), as is the faded tail of a
# folded message (it is a visual hint; the full text is one button away).
CONTRAST = """() => {
  const parse = (c) => { const m = /rgba?\\(([^)]+)\\)/.exec(c || ""); if (!m) return null;
    const p = m[1].split(/[\\s,\\/]+/).filter(Boolean).map(Number); return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 }; };
  const blend = (top, under) => ({ r: top.r * top.a + under.r * (1 - top.a), g: top.g * top.a + under.g * (1 - top.a),
    b: top.b * top.a + under.b * (1 - top.a), a: 1 });
  const lum = ({ r, g, b }) => { const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
  const background = (el) => { const chain = []; for (let n = el; n; n = n.parentElement) chain.unshift(n);
    let bg = { r: 255, g: 255, b: 255, a: 1 };
    for (const n of chain) { const c = parse(getComputedStyle(n).backgroundColor); if (c && c.a > 0) bg = blend(c, bg); }
    return bg; };
  const fails = [], seen = new Set();
  const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walk.nextNode()) {
    const text = walk.currentNode.textContent.trim(); const el = walk.currentNode.parentElement;
    if (!text || !el || seen.has(el)) continue; seen.add(el);
    if (el.closest("[hidden], option, .folded, :disabled, .sr-only")) continue;
    const box = el.getBoundingClientRect(); const cs = getComputedStyle(el);
    if (!box.width || !box.height || cs.visibility === "hidden") continue;
    const bg = background(el); const fg = blend(parse(cs.color), bg);
    const [hi, lo] = [lum(fg), lum(bg)].sort((a, b) => b - a); const ratio = (hi + 0.05) / (lo + 0.05);
    const size = parseFloat(cs.fontSize), bold = parseInt(cs.fontWeight, 10) >= 700;
    const need = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
    if (ratio < need) fails.push(`${el.tagName.toLowerCase()}.${el.className} "${text.slice(0, 40)}" ${ratio.toFixed(2)} < ${need}`);
  }
  return fails;
}"""

# Controls without an accessible name, images without alt, and the page's sideways overflow.
STRUCTURE = """() => {
  const visible = (el) => { const b = el.getBoundingClientRect(); return b.width > 0 && b.height > 0 && !el.closest("[hidden]"); };
  const named = (el) => (el.labels && el.labels.length) || el.getAttribute("aria-label") || el.getAttribute("aria-labelledby")
    || (["BUTTON", "SUMMARY", "A"].includes(el.tagName) && el.textContent.trim());
  const unnamed = [...document.querySelectorAll("input, select, textarea, button, summary, a[href]")]
    .filter((el) => visible(el) && !named(el)).map((el) => el.outerHTML.slice(0, 80));
  const noAlt = [...document.querySelectorAll("img")].filter((i) => !i.getAttribute("alt")).length;
  return { unnamed, noAlt, overflow: document.documentElement.scrollWidth - window.innerWidth,
           h1: document.querySelectorAll("h1").length, lang: document.documentElement.lang };
}"""


def _submit_api(page, server: str, **body) -> str:  # type: ignore[no-untyped-def]
    job = page.request.post(server + "/v1/analyses", data={"formats": ["json"], **body}).json()
    end = time.monotonic() + 60
    while page.request.get(f"{server}/v1/analyses/{job['id']}").json()["status"] != "succeeded":
        assert time.monotonic() < end, "the analysis did not finish"
        time.sleep(0.1)
    return job["id"]


server = service_fixture("a11y")


@pytest.fixture(scope="module")
def runs(browser, server: str) -> tuple[str, str]:
    pg = new_page(browser)
    text = next(e["text"] for e in load_examples() if e["id"] == "aws-web-app")
    first = _submit_api(pg, server, text=text, name="AWS web app")
    second = _submit_api(pg, server, text=text.replace("RDS", "Aurora"), name="AWS web app, Aurora", based_on=first)
    pg.context.close()
    return first, second


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280", "390"])
def test_every_page_is_readable_and_labelled(browser, server: str, runs: tuple[str, str], viewport: dict[str, int]) -> None:
    first, second = runs
    pages = {"new": ("/", "#example"), "job": (f"/analyses/{second}", None), "history": ("/analyses", f"#pick-{first}"),
             "compare": (f"/analyses/{second}/compare/{first}", "#diff:not([hidden])")}
    pg = new_page(browser, viewport)
    for name, (path, ready) in pages.items():
        pg.goto(server + path)
        if ready is None:
            finished(pg)
            pg.wait_for_selector("#conversation article")
        else:
            pg.wait_for_selector(ready)
        report = pg.evaluate(STRUCTURE)
        assert report["unnamed"] == [], (name, report["unnamed"])
        assert report["noAlt"] == 0 and report["h1"] == 1 and report["lang"] == "en", (name, report)
        assert report["overflow"] <= 1, f"{name} scrolls sideways by {report['overflow']} px at {viewport['width']} px"
        assert pg.evaluate(CONTRAST) == [], name
        shot(pg, f"{name}-{viewport['width']}", full=True)
    assert pg.errors == []
    pg.context.close()


def test_the_form_works_from_the_keyboard(browser, server: str) -> None:
    pg = new_page(browser)
    pg.goto(server + "/")
    pg.keyboard.press("Tab")
    assert pg.evaluate("document.activeElement.className") == "skip"  # the first stop skips the navigation
    assert pg.locator(".skip").bounding_box()["x"] >= 0  # and is visible when focused
    order = []
    for _ in range(40):
        pg.keyboard.press("Tab")
        focused = pg.evaluate("document.activeElement.id")
        outline = pg.evaluate("getComputedStyle(document.activeElement).outlineStyle")
        assert outline != "none", f"no visible focus on #{focused}"
        order.append(focused)
        if focused == "text":
            pg.keyboard.type("A Flask web application stores orders in a PostgreSQL database. Browsers call it over HTTPS.")
        if focused == "submit":
            break
    assert order.index("example") < order.index("text") < order.index("model-file") < order.index("name") < order.index("agents") < order.index("submit")
    pg.keyboard.press("Enter")
    pg.wait_for_url("**/analyses/*", timeout=20_000)
    finished(pg)
    sort = pg.locator("#register th button[data-sort='dread']")
    sort.focus()
    pg.keyboard.press("Enter")
    assert pg.locator("#register th[aria-sort]").get_attribute("aria-sort") == "ascending"
    canvas = pg.locator("#dfd-box .canvas")
    canvas.focus()
    before = pg.locator("#dfd-box img").get_attribute("style")
    pg.keyboard.press("+")
    assert pg.locator("#dfd-box img").get_attribute("style") != before  # the diagram zooms from the keyboard
    assert pg.errors == []
    pg.context.close()


def test_a_server_with_keys_asks_for_one(browser, tmp_path) -> None:
    app = create_app(ServiceSettings(database_url=f"sqlite:///{tmp_path / 'k.db'}", workers=1, poll_interval=0.05))
    with app.state.db.session() as s:
        key = create_key(s, name="ui test", tenant="team-a")
    with serve(app) as server:
        pg = new_page(browser)
        pg.goto(server + "/analyses")
        pg.wait_for_selector("#auth:not([hidden])")
        assert pg.evaluate("document.activeElement.id") == "api-key"
        pg.fill("#api-key", "tr_wrong_key")
        pg.keyboard.press("Enter")
        pg.get_by_text("That key was refused.").wait_for()
        assert pg.evaluate("sessionStorage.length") == 0 and pg.locator("#forget-key").is_hidden()  # a refused key is dropped
        shot(pg, "auth-refused")
        pg.fill("#api-key", key)
        pg.keyboard.press("Enter")
        pg.wait_for_selector("#auth", state="hidden")
        pg.wait_for_selector("#history-empty:not([hidden])")  # the list answered with the key
        assert pg.locator("#forget-key").is_visible()
        assert key not in pg.content()  # the key is never written into the page
        pg.click("#forget-key")
        pg.wait_for_selector("#auth:not([hidden])")
        assert pg.errors == []
        pg.context.close()


def test_the_checks_themselves_catch_problems(browser, server: str) -> None:
    """The contrast and structure checks above can fail: faint text, an unlabelled input,
    an image without alt and a too-wide block are each reported."""
    pg = new_page(browser, PHONE)
    pg.goto(server + "/")
    pg.wait_for_selector("#example")
    pg.evaluate("""() => {
      const p = document.createElement("p"); p.textContent = "faint"; p.style.color = "#aaaaaa"; document.body.append(p);
      document.body.append(document.createElement("input"), document.createElement("img"));
      const wide = document.createElement("div"); wide.textContent = "wide"; wide.style.width = "900px"; document.body.append(wide);
    }""")
    assert any('"faint"' in f for f in pg.evaluate(CONTRAST))
    report = pg.evaluate(STRUCTURE)
    assert len(report["unnamed"]) == 1 and report["noAlt"] == 1 and report["overflow"] > 400
    pg.context.close()
