"""The docs stay true: README code runs, every command is documented."""

from __future__ import annotations

import os
import re
from pathlib import Path

import threatroom
from threatroom.cli import app, kb_app

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_readme_python_example_runs(capsys, monkeypatch) -> None:
    blocks = re.findall(r"```python\n(.*?)```", README, re.S)
    assert blocks
    monkeypatch.chdir(ROOT)
    code = blocks[0].split("kb = load_knowledge")[0]  # the rest needs the user's own files
    exec(compile(code, "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert len(out.strip().splitlines()) == 3


def test_every_command_is_documented() -> None:
    names = [c.name or c.callback.__name__ for c in app.registered_commands]
    names += [f"kb {c.name}" for c in kb_app.registered_commands]
    assert names
    for name in names:
        assert f"threatroom {name}" in README, name


def test_two_commands_are_in_the_readme() -> None:
    assert "pip install -e . && threatroom analyze examples/flask-blog.yaml" in README
    ci = (ROOT / ".ci" / "run").read_text()
    assert "pytest" in ci and "python -m pytest" in README


def test_public_api_is_explicit() -> None:
    for name in threatroom.__all__:
        assert hasattr(threatroom, name), name
    assert (Path(threatroom.__file__).parent / "py.typed").exists()


def test_exit_codes_documented() -> None:
    for code in ("| 0 |", "| 1 |", "| 2 |"):
        assert code in README


def test_contract_doc_names_the_fields() -> None:
    doc = (ROOT / "docs" / "json-contract.md").read_text()
    for field in ("component_id", "flow_id", "stride", "mitigations", "dread", "rationale", "severity", "cwe", "capec", "trust_boundaries"):
        assert f"`{field}" in doc, field
    assert os.path.exists(ROOT / "docs" / "schema" / "threat-model.schema.json")
