#!/usr/bin/env python3
"""Time the plain-text reader on the seed examples (warm process, knowledge loaded).

usage: python bench/extract.py [--repeat 20]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from threatroom.ingest import read_text
from threatroom.knowledge import load_knowledge

SEEDS = sorted((Path(__file__).resolve().parents[2] / "shared" / "examples").glob("*.txt"))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=20)
    a = ap.parse_args()
    kb = load_knowledge()
    read_text(SEEDS[0].read_text(), kb)  # builds the lexicon once, as any process does on first use
    print(f"{'example':>14} {'chars':>6} {'components':>11} {'flows':>6} {'best ms':>8} {'median ms':>10}")
    for path in SEEDS:
        text = path.read_text()
        times = []
        for _ in range(a.repeat):
            t0 = time.perf_counter()
            m = read_text(text, kb, str(path))
            times.append((time.perf_counter() - t0) * 1000)
        times.sort()
        print(f"{path.stem:>14} {len(text):>6} {len(m.components):>11} {len(m.flows):>6} {times[0]:>8.1f} {times[len(times) // 2]:>10.1f}")
    t0 = time.perf_counter()
    kb2 = load_knowledge()
    from threatroom.ingest.text.lexer import lexicon_for

    lexicon_for.cache_clear()
    lexicon_for(kb2)
    print(f"building the lexicon (once per process): {(time.perf_counter() - t0) * 1000:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
