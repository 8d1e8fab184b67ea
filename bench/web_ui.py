#!/usr/bin/env python3
"""Time the web UI in headless Chromium: for each example architecture on the new-analysis
page, submit and measure how long until the job page opens, the first live message
arrives, and the results (register, diagrams) are on screen; then the page's DOM size and
JavaScript heap. Also the bytes of the static files a first visit downloads.

usage: python bench/web_ui.py [--chromium /usr/bin/chromium] [--repeat 2]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.browser_helpers import ARGS, serve  # noqa: E402
from threatroom.service.app import create_app  # noqa: E402
from threatroom.service.config import ServiceSettings  # noqa: E402
from threatroom.web import STATIC, load_examples  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--chromium", default=os.environ.get("THREATROOM_TEST_CHROMIUM", "/usr/bin/chromium"))
    ap.add_argument("--repeat", type=int, default=2)
    a = ap.parse_args()
    from playwright.sync_api import sync_playwright

    static = {p.name: p.stat().st_size for p in sorted(STATIC.iterdir())}
    print(f"static files: {len(static)}, {sum(static.values()) / 1024:.1f} kB in all (JS {sum(v for k, v in static.items() if k.endswith('.js')) / 1024:.1f} kB)")
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(ServiceSettings(database_url=f"sqlite:///{tmp}/bench.db", workers=2, poll_interval=0.05))
        with serve(app) as server, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=a.chromium, args=ARGS)
            print(f"{'example':>16} {'job page s':>10} {'1st message s':>13} {'results s':>9} {'diagrams s':>10} {'threats':>7} {'DOM nodes':>9} {'JS heap MB':>10}")
            for ex in load_examples():
                best: dict[str, float] = {}
                for _ in range(a.repeat):
                    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
                    page.goto(server + "/")
                    page.select_option("#example", ex["id"])
                    t0 = time.perf_counter()
                    page.click("#submit")
                    page.wait_for_url("**/analyses/*", timeout=30_000)
                    t_page = time.perf_counter() - t0
                    page.wait_for_selector("#conversation article", timeout=60_000)
                    t_msg = time.perf_counter() - t0
                    page.wait_for_selector("#register tbody tr", timeout=60_000)
                    t_res = time.perf_counter() - t0
                    page.wait_for_selector("#trees .viewer img, #trees p", timeout=60_000)
                    page.wait_for_selector("#roles tbody tr", timeout=60_000)
                    t_dia = time.perf_counter() - t0
                    run = {"page": t_page, "msg": t_msg, "res": t_res, "dia": t_dia}
                    best = {k: min(v, best.get(k, v)) for k, v in run.items()}
                    threats = page.locator("#register tbody tr").count()
                    nodes = page.evaluate("document.getElementsByTagName('*').length")
                    heap = page.evaluate("performance.memory ? performance.memory.usedJSHeapSize : 0") / 1e6
                    page.context.close()
                print(f"{ex['id']:>16} {best['page']:>10.2f} {best['msg']:>13.2f} {best['res']:>9.2f} {best['dia']:>10.2f} {threats:>7} {nodes:>9} {heap:>10.1f}")
            browser.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
