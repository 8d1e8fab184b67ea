from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from threatroom.errors import KnowledgeError
from threatroom.knowledge import load_knowledge

from .conftest import SAMPLE_KB


def _folder(tmp_path: Path, extra: str, name: str = "extra.yaml") -> Path:
    d = tmp_path / f"kb{len(list(tmp_path.iterdir()))}"
    shutil.copytree(SAMPLE_KB, d)
    (d / name).write_text(extra, encoding="utf-8")
    return d


def _problems(folder: Path) -> list[str]:
    with pytest.raises(KnowledgeError) as exc:
        load_knowledge([folder], include_builtin=False)
    return [str(p) for p in exc.value.problems]


RULE = """
threats:
  - id: t.one
    title: A threat about {name}
    stride: S
    cause: c
    when: {type: [user]}
    description: A long enough description of the threat.
    attack_vector: How it is carried out.
    dread: {damage: 3, reproducibility: 3, exploitability: 3, affected_users: 3, discoverability: 3}
    mitigations: [sample.parameterized-queries]
    fixtures:
      fires: [{components: [{id: u, type: user}]}]
      not_fires: [{components: [{id: w, type: web_application}]}]
"""


def test_sample_loads(sample_kb) -> None:
    assert sample_kb.counts() == {"technologies": 4, "threats": 3, "mitigations": 1, "tags": 7}
    assert sample_kb.resolve("Jinja templating engine") == "jinja2"
    assert sample_kb.resolve("FLASK") == "flask"
    assert sample_kb.lineage("aws.rds-mysql") == {"aws.rds-mysql", "mysql"}


def test_valid_extra_rule_loads(tmp_path: Path) -> None:
    kb = load_knowledge([_folder(tmp_path, RULE)], include_builtin=False)
    assert "t.one" in {r.id for r in kb.threats}


def test_schema_error_names_file_line_and_entry(tmp_path: Path) -> None:
    msgs = _problems(_folder(tmp_path, RULE.replace("stride: S", "stride: Q")))
    assert len(msgs) == 1
    assert "extra.yaml:3 [t.one]: stride" in msgs[0]


def test_duplicate_ids(tmp_path: Path) -> None:
    msgs = _problems(_folder(tmp_path, RULE + RULE.replace("threats:\n", "")))
    assert any("duplicate threat id" in m and "[t.one]" in m for m in msgs)
    msgs = _problems(_folder(tmp_path, "technologies:\n  - {id: flask, name: F, kind: framework, type: web_application}\n"))
    assert any("duplicate technology id" in m and "catalog.yaml" in m for m in msgs)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("when: {type: [user]}", "when: {uses: [django]}"), "unknown technology in 'uses' 'django'"),
        (("when: {type: [user]}", "when: {tag: [nosuchtag]}"), "unknown tag"),
        (("mitigations: [sample.parameterized-queries]", "mitigations: [no.such]"), "unknown mitigation 'no.such'"),
        (("cause: c", "cause: c\n    supersedes: [ghost]"), "unknown threat in supersedes 'ghost'"),
        (("title: A threat about {name}", "title: A threat about {nme}"), "unknown placeholder {nme}"),
        (("when: {type: [user]}", "when: {}"), "empty condition"),
        (("when: {type: [user]}", "applies_to: flow\n    when: {type: [user]}"), "flow rule uses component keys"),
        (("when: {type: [user]}", "when: {flow: {crosses_boundary: true}}"), "component rule uses flow keys"),
    ],
)
def test_bad_references_and_conditions(tmp_path: Path, change: tuple[str, str], expected: str) -> None:
    old, new = change
    assert old in RULE
    msgs = _problems(_folder(tmp_path, RULE.replace(old, new)))
    assert any(expected in m for m in msgs), msgs
    assert all("extra.yaml" in m for m in msgs)


def test_is_a_cycle_and_dangling_parent(tmp_path: Path) -> None:
    msgs = _problems(
        _folder(
            tmp_path,
            "technologies:\n"
            "  - {id: x1, name: X1, kind: product, type: cache, is_a: [x2]}\n"
            "  - {id: x2, name: X2, kind: product, type: cache, is_a: [x1]}\n"
            "  - {id: x3, name: X3, kind: product, type: cache, is_a: [ghost]}\n",
        )
    )
    assert any("cycle" in m for m in msgs)
    assert any("unknown technology in is_a 'ghost'" in m for m in msgs)


def test_unknown_section_and_bad_yaml(tmp_path: Path) -> None:
    assert any("unknown section 'rules'" in m for m in _problems(_folder(tmp_path, "rules: []\n")))
    assert any("cannot read" in m for m in _problems(_folder(tmp_path, "threats: [\n", name="bad.yaml")))


def test_technology_needs_type_or_hosts(tmp_path: Path) -> None:
    msgs = _problems(_folder(tmp_path, "technologies:\n  - {id: lib, name: Lib, kind: library}\n"))
    assert any("needs a 'type'" in m for m in msgs)


def test_missing_folder() -> None:
    with pytest.raises(KnowledgeError, match="does not exist"):
        load_knowledge(["/nonexistent/kb"], include_builtin=False)
