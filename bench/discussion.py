#!/usr/bin/env python3
"""Time the offline stakeholder discussion on generated models and on the seed examples.

usage: python bench/discussion.py [--sizes 10,100,1000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from perf import generate  # noqa: E402

from threatroom import analyze, analyze_file  # noqa: E402
from threatroom.agents import discuss  # noqa: E402
from threatroom.knowledge import load_knowledge  # noqa: E402
from threatroom.model import SystemModel  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10,100,1000")
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    kb = load_knowledge()
    print(f"{'model':>22} {'threats':>8} {'messages':>9} {'analyze s':>10} {'discuss s':>10}")
    cases = [(f"generated {n}", lambda n=n: analyze(SystemModel.model_validate(generate(n)), kb)) for n in map(int, a.sizes.split(","))]
    seeds = Path(__file__).resolve().parents[2] / "shared" / "examples"
    cases += [(p.stem, lambda p=p: analyze_file(p)) for p in sorted(seeds.glob("*.txt"))]
    for label, make in cases:
        best_a = best_d = float("inf")
        for _ in range(a.repeat):
            t0 = time.perf_counter()
            result = make()
            t1 = time.perf_counter()
            record = discuss(result, kb)
            t2 = time.perf_counter()
            best_a, best_d = min(best_a, t1 - t0), min(best_d, t2 - t1)
        print(f"{label:>22} {len(result.threats):>8} {len(record.messages):>9} {best_a:>10.3f} {best_d:>10.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
