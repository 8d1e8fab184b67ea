"""Shared by the browser tests: the service on a loopback port in a thread, Debian's
Chromium driven by Playwright, and a few page helpers. ``.ci/run`` installs Chromium and
sets THREATROOM_TEST_CHROMIUM; without it the browser tests skip."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from .conftest import ROOT

CHROMIUM = os.environ.get("THREATROOM_TEST_CHROMIUM")
needs_chromium = pytest.mark.skipif(not CHROMIUM, reason="THREATROOM_TEST_CHROMIUM is unset (.ci/run installs Chromium and sets it)")
SHOTS = ROOT / "test-artifacts" / "screenshots"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """Run ``app`` with uvicorn on a free loopback port; yields the base URL."""
    import uvicorn

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    end = time.monotonic() + 30
    while not srv.started:
        assert time.monotonic() < end, "the server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        thread.join(timeout=10)


@contextmanager
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


def new_page(browser: Any, viewport: dict[str, int] = DESKTOP) -> Any:
    """A page in a fresh context (its own sessionStorage), collecting script errors."""
    pg = browser.new_context(viewport=viewport, accept_downloads=True).new_page()
    pg.errors = []
    pg.on("pageerror", lambda e: pg.errors.append(str(e)))
    return pg


def shot(page: Any, name: str, *, full: bool = False) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full)


def submit(page: Any, server: str, *, example: str | None = None, text: str | None = None, agents: bool = True) -> str:
    page.goto(server + "/")
    if example is not None:
        page.select_option("#example", example)
    if text is not None:
        page.fill("#text", text)
    if not agents:
        page.uncheck("#agents")
    page.click("#submit")
    page.wait_for_url("**/analyses/*", timeout=20_000)
    return page.url.rsplit("/", 1)[1]


def finished(page: Any, timeout: float = 60_000) -> None:
    """Wait for the register of a succeeded analysis (and the roles table it loads after)."""
    page.wait_for_selector("#register tbody tr", timeout=timeout)
    page.wait_for_selector("#dfd-box img, #dfd-box p", timeout=timeout)  # (no wait_for_function: the CSP forbids eval)


def service_fixture(name: str) -> Any:
    """A module-scoped fixture: the service with two local workers on a fresh SQLite file."""
    from threatroom.service.app import create_app
    from threatroom.service.config import ServiceSettings

    @pytest.fixture(scope="module")
    def server(tmp_path_factory: Any) -> Iterator[str]:
        db = tmp_path_factory.mktemp(name) / f"{name}.db"
        with serve(create_app(ServiceSettings(database_url=f"sqlite:///{db}", workers=2, poll_interval=0.05))) as url:
            yield url

    return server
