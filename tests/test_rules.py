"""Every built-in rule's fixtures, discovered from the knowledge base itself."""

from __future__ import annotations

import pytest

from threatroom.engine.fixtures import check_rule
from threatroom.knowledge import load_knowledge

RULES = load_knowledge().threats


def test_the_library_is_large_enough(kb) -> None:
    counts = kb.counts()
    assert counts["threats"] >= 250, counts
    assert counts["technologies"] >= 400, counts
    assert len(RULES) == counts["threats"]


@pytest.mark.parametrize("rule", RULES, ids=[r.id for r in RULES])
def test_rule_fixtures(rule, kb) -> None:
    failures = check_rule(rule, kb)
    assert not failures, "\n".join(str(f) for f in failures)


def test_every_rule_has_a_reference_id(kb) -> None:
    missing = [r.id for r in kb.threats if not (r.cwe or r.capec)]
    assert not missing, f"rules without CWE or CAPEC: {missing}"


def test_catalog_covers_every_component_type(kb) -> None:
    from threatroom.model import ComponentType

    typed = {t.type for t in kb.technologies.values() if t.type is not None}
    missing = set(ComponentType) - typed - {ComponentType.USER, ComponentType.NETWORK}
    assert not missing, missing


def test_aliases_do_not_collide(kb) -> None:
    from threatroom.knowledge import normalize_name

    owner: dict[str, str] = {}
    clashes = []
    for t in kb.technologies.values():
        for name in {normalize_name(n) for n in (t.id, t.name, *t.aliases)}:
            if name in owner and owner[name] != t.id:
                clashes.append(f"'{name}': {owner[name]} and {t.id}")
            owner.setdefault(name, t.id)
    assert not clashes, clashes
