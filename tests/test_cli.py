from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from threatroom.cli import main

from .conftest import EXAMPLES

USER_KB = Path(__file__).parent / "kb_user"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    rc = main(list(args))
    out, err = capsys.readouterr()
    return rc, out, err


def test_analyze_json_to_stdout(capsys) -> None:
    rc, out, err = run(capsys, "analyze", str(EXAMPLES / "flask-blog.yaml"), "--format", "json")
    assert rc == 0
    data = json.loads(out)
    assert {"components", "flows", "trust_boundaries", "threats", "top_priorities", "summary"} <= set(data)
    assert "threats in" in err  # progress on stderr, not mixed into the result


def test_analyze_to_file_in_each_format(capsys, tmp_path: Path) -> None:
    for fmt, check in (("json", lambda s: json.loads(s)["threats"]), ("markdown", lambda s: "## Threat register" in s), ("table", lambda s: "DREAD" in s)):
        out_file = tmp_path / f"out.{fmt}"
        rc, out, _ = run(capsys, "analyze", str(EXAMPLES / "flask-blog.yaml"), "-f", fmt, "-o", str(out_file), "-q")
        assert rc == 0 and out == ""
        assert check(out_file.read_text())
    assert not list(tmp_path.glob(".*tmp"))  # no temporary files left behind


def test_table_to_terminal(capsys) -> None:
    rc, out, _ = run(capsys, "analyze", str(EXAMPLES / "flask-blog.yaml"), "-q")
    assert rc == 0 and "Severity" in out and "SQL" in out


@pytest.mark.parametrize(
    ("content", "needle"),
    [("", "empty"), ("components: [\n", "not valid YAML"), ("components:\n  - {id: a, name: A, type: toaster}\n", "components[0].type")],
)
def test_bad_input_exits_2_without_traceback(capsys, tmp_path: Path, content: str, needle: str) -> None:
    p = tmp_path / "bad.yaml"
    p.write_text(content)
    rc, out, err = run(capsys, "analyze", str(p))
    assert rc == 2 and out == ""
    assert needle in err and "Traceback" not in err


def test_missing_file_and_text_file_exit_2(capsys, tmp_path: Path) -> None:
    rc, _, err = run(capsys, "analyze", str(tmp_path / "nope.yaml"))
    assert rc == 2 and "cannot read" in err
    t = tmp_path / "arch.txt"
    t.write_text("Lorem ipsum dolor sit amet.")
    rc, out, err = run(capsys, "analyze", str(t))
    assert rc == 2 and out == "" and "no system components recognized" in err and "schema" in err


def test_usage_errors_exit_2(capsys) -> None:
    assert run(capsys, "analyze")[0] == 2
    assert run(capsys, "analyze", str(EXAMPLES / "flask-blog.yaml"), "--format", "pdf")[0] == 2
    assert run(capsys, "frobnicate")[0] == 2


def test_schema_command(capsys) -> None:
    rc, out, _ = run(capsys, "schema")
    assert rc == 0 and "components" in json.loads(out)["properties"]
    rc, out, _ = run(capsys, "schema", "--result")
    assert rc == 0 and "threats" in json.loads(out)["properties"]


def test_kb_list_and_show(capsys) -> None:
    rc, out, _ = run(capsys, "kb", "list", "--json")
    rules = json.loads(out)
    assert rc == 0 and len(rules) >= 250
    rc, out, _ = run(capsys, "kb", "list", "--section", "technologies", "--json")
    assert rc == 0 and len(json.loads(out)) >= 400
    rc, out, _ = run(capsys, "kb", "show", rules[0]["id"])
    assert rc == 0 and yaml.safe_load(out)["id"] == rules[0]["id"]
    rc, out, _ = run(capsys, "kb", "show", "flask")
    assert rc == 0 and yaml.safe_load(out)["name"] == "Flask"
    assert run(capsys, "kb", "show", "no-such-thing")[0] == 2
    assert run(capsys, "kb", "list", "--section", "nope")[0] == 2


def test_user_knowledge_folder_is_loaded_like_the_builtins(capsys, tmp_path: Path) -> None:
    rc, out, err = run(capsys, "kb", "validate", str(USER_KB))
    assert rc == 0, err
    assert "1 rules of its own" in out and "0 failure(s)" in out
    model = tmp_path / "m.yaml"
    model.write_text(
        "components:\n  - {id: gw, name: Edge gateway, type: api_gateway, technology: Acme Gateway}\n"
        "  - {id: u, name: User, type: user}\nflows:\n  - {id: f, source: u, target: gw}\n"
    )
    rc, out, _ = run(capsys, "analyze", str(model), "-f", "json", "--kb", str(USER_KB), "-q")
    data = json.loads(out)
    assert rc == 0 and "acme.debug-port@gw" in {t["id"] for t in data["threats"]}
    rc, out, _ = run(capsys, "analyze", str(model), "-f", "json", "-q")
    assert "acme.debug-port@gw" not in {t["id"] for t in json.loads(out)["threats"]}


def test_kb_validate_reports_problems(capsys, tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    shutil.copytree(USER_KB, bad)
    text = (bad / "acme.yaml").read_text().replace("uses: [acme-gateway]", "uses: [acme-gatewayy]")
    (bad / "acme.yaml").write_text(text)
    rc, _, err = run(capsys, "kb", "validate", str(bad))
    assert rc == 2 and "acme.yaml" in err and "acme-gatewayy" in err
    broken_fixture = (bad / "acme.yaml").read_text().replace("acme-gatewayy", "acme-gateway").replace("subject: gw", "subject: u")
    (bad / "acme.yaml").write_text(broken_fixture)
    rc, _, err = run(capsys, "kb", "validate", str(bad))
    assert rc == 2 and "not on 'u'" in err


def test_version(capsys) -> None:
    rc, out, _ = run(capsys, "--version")
    assert rc == 0 and out.startswith("threatroom ")
