#!/usr/bin/env python3
"""Time a full offline report per seed example: read + analyse + discussion + diagrams +
HTML, and the PDF on top of it. Best of N runs in one warm process (knowledge loaded).

usage: python bench/report.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from threatroom import analyze
from threatroom.ingest import load_input
from threatroom.knowledge import load_knowledge
from threatroom.render.report import build_report, to_html, to_pdf

SEEDS = sorted((Path(__file__).resolve().parents[2] / "shared" / "examples").glob("*.txt"))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    kb = load_knowledge()
    print(f"{'example':>14} {'threats':>8} {'report s':>9} {'(of which SVG s)':>16} {'PDF s':>7} {'HTML kB':>8} {'PDF kB':>7} {'pages':>6}")
    for path in SEEDS:
        best_r = best_p = best_svg = float("inf")
        for _ in range(a.repeat):
            t0 = time.perf_counter()
            result = analyze(load_input(path, kb), kb)
            t_svg0 = time.perf_counter()
            rep = build_report(result, kb, source_name=path.name, source_text=path.read_text())
            t_svg = time.perf_counter() - t_svg0
            html = to_html(rep)
            t1 = time.perf_counter()
            pdf = to_pdf(rep)
            t2 = time.perf_counter()
            best_r, best_p, best_svg = min(best_r, t1 - t0), min(best_p, t2 - t1), min(best_svg, t_svg)
        from pypdf import PdfReader
        import io

        pages = len(PdfReader(io.BytesIO(pdf)).pages)
        print(f"{path.stem:>14} {len(result.threats):>8} {best_r:>9.3f} {best_svg:>16.3f} {best_p:>7.3f} {len(html) // 1024:>8} {len(pdf) // 1024:>7} {pages:>6}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
