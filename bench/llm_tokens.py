#!/usr/bin/env python3
"""Tokens, cost and time of a full LLM discussion of each seed example, per role and in total.

usage:
  python bench/llm_tokens.py                        # the built-in fake model (no key, no network)
  python bench/llm_tokens.py --fake-server          # the same brain over loopback HTTP, priced as gpt-4o
  python bench/llm_tokens.py --llm openai-compatible:gemma-3-270m --llm-base-url http://127.0.0.1:8088/v1 \\
         --output-mode json_object                  # a real local server (see scripts/local-llm.sh)

The response cache is off: every call reaches the model. Writes JSON with --json FILE.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

from threatroom import analyze_file
from threatroom.knowledge import load_knowledge
from threatroom.llm import FakeServer, LLMSettings, llm_discuss, open_runtime

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ["flask-blog", "mobile-game", "aws-web-app"]


def seed_path(name: str) -> Path:
    shared = ROOT.parent / "shared" / "examples" / f"{name}.txt"
    return shared if shared.exists() else ROOT / "examples" / f"{name}.yaml"


def run(settings: LLMSettings) -> list[dict]:
    kb = load_knowledge()
    rows = []
    for name in SEEDS:
        result = analyze_file(seed_path(name))
        runtime = open_runtime(settings)
        t0 = time.perf_counter()
        merged, record = llm_discuss(result, kb, runtime)
        dt = time.perf_counter() - t0
        per_role: dict[str, list[float]] = defaultdict(lambda: [0, 0, 0, 0.0])
        for m in record.messages:
            if m.speaker == "user":
                continue
            r = per_role[m.role]
            r[0] += 1
            r[1] += m.input_tokens
            r[2] += m.output_tokens
            r[3] += m.cost_usd
        u = record.llm
        rows.append({
            "example": name, "seconds": round(dt, 2), "status": record.status, "messages": len(record.messages) - 1,
            "calls": len(u.calls), "fallbacks": u.fallbacks, "input_tokens": u.input_tokens, "output_tokens": u.output_tokens,
            "cost_usd": round(u.cost_usd, 6), "llm_threats": len(u.threats_added), "dropped": len(u.proposals_dropped),
            "per_role": {k: {"turns": v[0], "input_tokens": v[1], "output_tokens": v[2], "cost_usd": round(v[3], 6)} for k, v in per_role.items()},
        })
    return rows


def show(rows: list[dict], label: str) -> None:
    print(f"model: {label}")
    for r in rows:
        print(f"\n{r['example']}: {r['status']}, {r['messages']} messages, {r['calls']} calls, {r['fallbacks']} offline fallbacks, "
              f"{r['seconds']} s, {r['llm_threats']} LLM threats ({r['dropped']} dropped)")
        print(f"  {'role':<22} {'turns':>5} {'input':>8} {'output':>8} {'cost $':>9}")
        for role, v in sorted(r["per_role"].items()):
            print(f"  {role:<22} {v['turns']:>5} {v['input_tokens']:>8} {v['output_tokens']:>8} {v['cost_usd']:>9.4f}")
        print(f"  {'total':<22} {r['messages']:>5} {r['input_tokens']:>8} {r['output_tokens']:>8} {r['cost_usd']:>9.4f}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--llm", default="test")
    ap.add_argument("--llm-base-url")
    ap.add_argument("--output-mode", default="auto")
    ap.add_argument("--timeout", type=float, default=600)
    ap.add_argument("--max-prompt-chars", type=int, help="shrink the grounded data for small models")
    ap.add_argument("--max-output-tokens", type=int, default=1200)
    ap.add_argument("--fake-server", action="store_true", help="serve the fake model over loopback HTTP, named gpt-4o")
    ap.add_argument("--json", type=Path)
    a = ap.parse_args()
    if a.fake_server:
        with FakeServer(model_name="gpt-4o-2024-08-06") as srv:
            settings = LLMSettings(model="openai-compatible:gpt-4o", base_url=srv.url, cache=False, timeout=a.timeout)
            rows = run(settings)
        label = "fake model over HTTP, priced as gpt-4o"
    else:
        settings = LLMSettings(model=a.llm, base_url=a.llm_base_url, cache=False, output_mode=a.output_mode, timeout=a.timeout,
                               max_prompt_chars=a.max_prompt_chars, max_output_tokens=a.max_output_tokens, max_retries=1)
        rows = run(settings)
        label = a.llm + (f" at {a.llm_base_url}" if a.llm_base_url else "")
    show(rows, label)
    if a.json:
        a.json.write_text(json.dumps({"model": label, "examples": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
