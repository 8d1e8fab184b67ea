#!/usr/bin/env python3
"""Check one folder of the built-in knowledge base while others are being edited.

usage: python scripts/kb_check.py src/threatroom/knowledge/data/<domain>

Loads every built-in folder; folders other than the one named that have problems
are left out (and listed), so one folder can be checked on its own. Then runs the
fixtures of the rules in the named folder and prints counts.
"""

from __future__ import annotations

import sys
from pathlib import Path

from threatroom.engine.fixtures import check_fixtures
from threatroom.errors import KnowledgeError
from threatroom.knowledge.loader import BUILTIN_DIR, _load, _files, _entries


def main(target: str) -> int:
    mine = Path(target).resolve()
    others = sorted(p.resolve() for p in BUILTIN_DIR.iterdir() if p.is_dir() and p.resolve() != mine)
    while True:
        try:
            kb = _load([*others, mine])
            break
        except KnowledgeError as exc:
            bad = {Path(p.file).resolve() for p in exc.problems}
            mine_bad = [p for p in exc.problems if mine in Path(p.file).resolve().parents or Path(p.file).resolve() == mine]
            if mine_bad:
                print(f"{len(mine_bad)} problem(s) in {target}:")
                for p in mine_bad:
                    print(f"  {p}")
                return 1
            dropped = [o for o in others if any(o in b.parents for b in bad)]
            if not dropped:
                print(exc)
                return 1
            for o in dropped:
                print(f"(left out {o.name}: it has problems of its own)")
            others = [o for o in others if o not in dropped]
    problems: list = []
    ids = set()
    techs = 0
    for f in _files(mine):
        for section, entry in _entries(f, problems):
            if section == "threats":
                ids.add(entry.entry_id)
            elif section == "technologies":
                techs += 1
    failures = check_fixtures(kb, ids)
    for fl in failures:
        print(f"  fixture: {fl}")
    print(f"{target}: {techs} technologies, {len(ids)} threats; fixtures: {len(failures)} failure(s)")
    print(f"whole knowledge base loaded: {kb.counts()}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
