"""The web UI shells: pages, CSP, static files, examples, the model-parsing helper,
and the no-inline / no-innerHTML rules."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from threatroom.ingest import read_text
from threatroom.service.app import create_app
from threatroom.service.config import ServiceSettings
from threatroom.web import CSP, STATIC, load_examples

JOB = "0123456789abcdef0123456789abcdef"
PAGES = ["/", "/analyses", f"/analyses/{JOB}", f"/analyses/{JOB}/compare/{'f' * 32}"]


@pytest.fixture()
def client(tmp_path: Path):
    with TestClient(create_app(ServiceSettings(database_url=f"sqlite:///{tmp_path}/w.db", workers=0))) as c:
        yield c


@pytest.mark.parametrize("path", PAGES)
def test_pages_are_html_with_a_strict_csp(client: TestClient, path: str) -> None:
    r = client.get(path)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert r.headers["content-security-policy"] == CSP
    assert "script-src 'self'" in CSP and "frame-ancestors 'none'" in CSP
    assert '<html lang="en">' in r.text and '<script type="module" src="/static/app.js"></script>' in r.text


@pytest.mark.parametrize("path", PAGES)
def test_pages_have_no_inline_script_or_style(client: TestClient, path: str) -> None:
    html = client.get(path).text
    scripts = re.findall(r"<script\b[^>]*>(.*?)</script>", html, re.S | re.I)
    assert scripts and all(s.strip() == "" for s in scripts)
    assert all('src="/static/' in tag for tag in re.findall(r"<script\b[^>]*>", html, re.I))
    assert not re.search(r"\sstyle\s*=", html, re.I)
    assert "<style" not in html.lower()
    assert not re.search(r"\son[a-z]+\s*=", html, re.I)  # no inline event handlers either


def test_every_form_control_has_a_label(client: TestClient) -> None:
    for path in PAGES:
        html = client.get(path).text
        for m in re.finditer(r"<(input|select|textarea)\b([^>]*)>", html):
            attrs = m.group(2)
            ident = re.search(r'\sid="([^"]+)"', attrs)
            assert ident and (f'for="{ident.group(1)}"' in html or "aria-label" in attrs), m.group(0)


def test_static_files_are_served_with_their_types(client: TestClient) -> None:
    js = client.get("/static/app.js")
    assert js.status_code == 200 and "javascript" in js.headers["content-type"]
    css = client.get("/static/app.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert client.get("/static/nope.js").status_code == 404


def test_the_examples_load_and_read_as_architectures() -> None:
    examples = load_examples()
    assert len(examples) == 3
    for e in examples:
        assert e["name"] and e["id"] and e["text"]
        assert len(read_text(e["text"]).components) >= 3, e["id"]


def test_the_examples_are_offered_on_the_new_page(client: TestClient) -> None:
    html = client.get("/").text
    for e in load_examples():
        assert f'value="{e["id"]}"' in html
    assert 'id="example"' in html and 'for="text"' in html and 'id="model-file"' in html


def test_parse_model_reads_yaml(client: TestClient) -> None:
    doc = "system:\n  name: shop\ncomponents:\n  - id: web\n    name: Web\n    type: process\n"
    r = client.post("/web/parse-model", json={"text": doc})
    assert r.status_code == 200, r.text
    assert r.json()["components"][0]["id"] == "web"


@pytest.mark.parametrize("doc", ["components: [a, b\n", "- just\n- a list\n", "   "])
def test_parse_model_refuses_bad_yaml(client: TestClient, doc: str) -> None:
    r = client.post("/web/parse-model", json={"text": doc})
    assert r.status_code == 422
    assert isinstance(r.json()["detail"], str | list)


def test_the_job_id_is_only_in_a_data_attribute(client: TestClient) -> None:
    html = client.get(f"/analyses/{JOB}").text
    assert html.count(JOB) == 1
    assert f'data-job-id="{JOB}"' in html


@pytest.mark.parametrize("hostile", ["<script>", '"><img src=x onerror=alert(1)>', "abc", JOB.upper()])
def test_a_hostile_job_id_is_never_echoed(client: TestClient, hostile: str) -> None:
    from urllib.parse import quote

    r = client.get("/analyses/" + quote(hostile, safe=""))
    assert r.status_code == 404
    assert hostile not in r.text and "<script>" not in r.text
    assert "onerror" not in r.text
    assert r.headers["content-security-policy"] == CSP


def test_no_script_ever_writes_html() -> None:
    scripts = sorted(STATIC.glob("*.js"))
    assert len(scripts) >= 8
    for path in scripts:
        js = path.read_text()
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function", "DOMParser"):
            assert sink not in js, (path.name, sink)
    everything = "".join(p.read_text() for p in scripts)
    assert "textContent" in everything and "createElement" in everything


def test_every_module_import_resolves() -> None:
    """No build step and no bundler: each `import { a } from "./m.js"` must name a file
    that is there and a name that file exports (a browser would refuse the page otherwise)."""
    imports = 0
    for path in STATIC.glob("*.js"):
        for names, target in re.findall(r'import \{([^}]*)\} from "\./([a-z]+\.js)";', path.read_text()):
            source = (STATIC / target).read_text()
            for name in (n.strip() for n in names.split(",") if n.strip()):
                imports += 1
                assert re.search(rf"export (async )?(function|const|class) {re.escape(name)}(?![\w$])", source), (path.name, target, name)
    assert imports > 30


@pytest.mark.parametrize("path", ["/analyses/abc/compare/" + JOB, f"/analyses/{JOB}/compare/<script>"])
def test_compare_page_refuses_bad_ids(client: TestClient, path: str) -> None:
    r = client.get(path)
    assert r.status_code == 404 and "<script>" not in r.text


def test_the_api_still_answers_json(client: TestClient) -> None:
    r = client.get("/v1/info")
    assert r.status_code == 200 and "llm_models" in r.json()
    assert client.get("/healthz").json() == {"status": "ok"}
