#!/usr/bin/env python3
"""Time and peak memory of analysing generated structured models.

usage: python bench/perf.py [--sizes 10,100,1000,5000] [--repeat 3]

Each size runs in a fresh process (so peak RSS is that size's own). A model is built
from repeating "service cells" - clients, edge, web and API tiers, workers, data
stores, queues and third parties, with technologies drawn from the catalog for each
type and flows along the usual paths - and written as YAML first, so the timing covers
reading and validating the file, the analysis, and writing the JSON result.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CELL = [
    # (type, zone, chance of being present)
    ("browser", "internet", 1.0),
    ("mobile_app", "internet", 0.5),
    ("cdn", "edge", 0.5),
    ("load_balancer", "dmz", 1.0),
    ("web_application", "app", 1.0),
    ("api_service", "app", 1.0),
    ("background_worker", "app", 0.7),
    ("serverless_function", "app", 0.4),
    ("relational_db", "data", 1.0),
    ("cache", "data", 0.7),
    ("message_queue", "data", 0.6),
    ("object_storage", "data", 0.6),
    ("nosql_db", "data", 0.4),
    ("search_engine", "data", 0.3),
    ("identity_provider", "app", 0.3),
    ("payment_processor", "third", 0.3),
    ("messaging_service", "third", 0.3),
    ("logging_monitoring", "app", 0.3),
    ("host", "app", 0.4),
]
PATHS = [
    ("browser", "cdn"), ("browser", "load_balancer"), ("mobile_app", "load_balancer"), ("cdn", "load_balancer"),
    ("load_balancer", "web_application"), ("load_balancer", "api_service"), ("web_application", "api_service"),
    ("web_application", "relational_db"), ("api_service", "relational_db"), ("api_service", "cache"),
    ("api_service", "message_queue"), ("message_queue", "background_worker"), ("background_worker", "relational_db"),
    ("api_service", "object_storage"), ("object_storage", "serverless_function"), ("serverless_function", "nosql_db"),
    ("api_service", "search_engine"), ("web_application", "identity_provider"), ("api_service", "payment_processor"),
    ("background_worker", "messaging_service"), ("api_service", "logging_monitoring"),
]
ZONES = {"internet": "internet", "edge": "dmz", "dmz": "dmz", "app": "cloud", "data": "private", "third": "third_party"}


def generate(n: int, seed: int = 7) -> dict:
    from threatroom.knowledge import load_knowledge

    kb = load_knowledge()
    rng = random.Random(seed)
    by_type: dict[str, list[str]] = {}
    facets: dict[str, list[str]] = {}
    for t in kb.technologies.values():
        if t.type is not None:
            by_type.setdefault(t.type.value, []).append(t.id)
        for h in t.hosts:
            facets.setdefault(h.value, []).append(t.id)
    comps: list[dict] = []
    flows: list[dict] = []
    cell = 0
    while len(comps) < n:
        ids: dict[str, str] = {}
        for ctype, zone, p in CELL:
            if len(comps) >= n:
                break
            if rng.random() > p:
                continue
            cid = f"c{cell}-{ctype}"
            comp = {"id": cid, "name": f"{ctype.replace('_', ' ')} {cell}", "type": ctype, "zone": ZONES[zone]}
            if by_type.get(ctype) and rng.random() < 0.85:
                comp["technology"] = rng.choice(sorted(by_type[ctype]))
            if facets.get(ctype) and rng.random() < 0.6:
                comp["facets"] = sorted(set(rng.sample(sorted(facets[ctype]), k=min(3, len(facets[ctype])))))
            comps.append(comp)
            ids[ctype] = cid
        for a, b in PATHS:
            if a in ids and b in ids:
                flows.append({"id": f"f{len(flows)}", "source": ids[a], "target": ids[b], "label": f"{a} to {b}"})
        cell += 1
    zones = [{"id": z, "name": z.replace("_", " "), "kind": z} for z in sorted(set(ZONES.values()))]
    return {"system": {"name": f"generated-{n}"}, "trust_boundaries": zones, "components": comps, "flows": flows}


def one(n: int) -> dict:
    import yaml

    from threatroom import analyze
    from threatroom.ingest import load_input
    from threatroom.knowledge import load_knowledge
    from threatroom.render.jsonout import write_json

    t_load = time.perf_counter()
    kb = load_knowledge()
    kb_s = time.perf_counter() - t_load
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "model.yaml"
        path.write_text(yaml.safe_dump(generate(n), sort_keys=False))
        t0 = time.perf_counter()
        model = load_input(path)
        t1 = time.perf_counter()
        result = analyze(model, kb)
        t2 = time.perf_counter()
        out_path = Path(d) / "result.json"
        with out_path.open("w", encoding="utf-8") as fh:
            write_json(result, fh)
        t3 = time.perf_counter()
        json_bytes = out_path.stat().st_size
    rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "components": len(model.components), "flows": len(model.flows), "threats": len(result.threats),
        "kb_load_s": round(kb_s, 3), "read_s": round(t1 - t0, 3), "analyze_s": round(t2 - t1, 3),
        "json_s": round(t3 - t2, 3), "total_s": round(t3 - t0, 3), "json_mb": round(json_bytes / 1e6, 1),
        "peak_rss_mb": round(rss_kb / 1024, 1),
    }


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10,100,1000,5000")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.one:
        print(json.dumps(one(a.one)))
        return 0
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpus; best of {a.repeat} runs, each in a fresh process")
    print(f"{'components':>10} {'flows':>6} {'threats':>8} {'read s':>7} {'analyze s':>9} {'json s':>7} {'total s':>8} {'peak MB':>8} {'JSON MB':>8}")
    for n in (int(x) for x in a.sizes.split(",")):
        runs = []
        for _ in range(a.repeat):
            p = subprocess.run([sys.executable, __file__, "--one", str(n)], capture_output=True, text=True, check=True)
            runs.append(json.loads(p.stdout))
        best = min(runs, key=lambda r: r["total_s"])
        peak = max(r["peak_rss_mb"] for r in runs)
        print(f"{best['components']:>10} {best['flows']:>6} {best['threats']:>8} {best['read_s']:>7} {best['analyze_s']:>9} "
              f"{best['json_s']:>7} {best['total_s']:>8} {peak:>8} {best['json_mb']:>8}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
