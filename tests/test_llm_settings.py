"""Choosing the model: flags over environment over config file; keys by reference;
clear errors for a missing extra, a missing key or an unknown provider; prompts as data."""

from __future__ import annotations

import builtins
from pathlib import Path

import pytest

from threatroom.cli import main
from threatroom.errors import InputError, KnowledgeError
from threatroom.llm import LLMSettings, resolve_settings
from threatroom.llm.prompts import PROMPTS_DIR, load_prompts
from threatroom.llm.providers import MissingExtra, build_model

from .conftest import EXAMPLES


def test_offline_unless_a_model_is_chosen(tmp_path: Path) -> None:
    assert resolve_settings({}, env={}, config=None) is None


def test_flags_win_over_env_which_wins_over_the_config_file(tmp_path: Path) -> None:
    cfg = tmp_path / "threatroom.toml"
    cfg.write_text('[llm]\nmodel = "ollama:llama3.1"\nmax_cost = 0.25\ntimeout = 30\n')
    s = resolve_settings({}, env={}, config=cfg)
    assert s is not None and (s.model, s.max_cost, s.timeout, s.provider, s.model_name) == ("ollama:llama3.1", 0.25, 30, "ollama", "llama3.1")
    s = resolve_settings({}, env={"THREATROOM_LLM": "openai:gpt-4o-mini", "THREATROOM_LLM_MAX_COST": "0.1"}, config=cfg)
    assert (s.model, s.max_cost) == ("openai:gpt-4o-mini", 0.1)
    s = resolve_settings({"model": "test", "max_cost": None}, env={"THREATROOM_LLM": "openai:gpt-4o-mini"}, config=cfg)
    assert s.model == "test" and s.temperature == 0


def test_config_file_may_not_hold_a_key(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('[llm]\nmodel = "openai:gpt-4o"\napi_key = "sk-x"\n')
    with pytest.raises(InputError, match="do not write API keys"):
        resolve_settings({}, env={}, config=cfg)


@pytest.mark.parametrize("text, message", [("[llm\nmodel=1", "not valid TOML"), ('[llm]\nmodel = "test"\ntimeout = -1\n', "timeout"),
                                           ('[llm]\nmodel = "test"\nbogus = 1\n', "bogus")])
def test_bad_config_is_a_clear_error(tmp_path: Path, text: str, message: str) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(text)
    with pytest.raises(InputError, match=message):
        resolve_settings({}, env={}, config=cfg)


def test_key_from_env_or_file_is_secret(tmp_path: Path) -> None:
    s = resolve_settings({"model": "openai:gpt-4o"}, env={"THREATROOM_LLM_API_KEY": "sk-env-1"}, config=None)
    assert s.key() == "sk-env-1" and "sk-env-1" not in repr(s) and "sk-env-1" not in str(s.model_dump())
    f = tmp_path / "k"
    f.write_text("sk-file-2\nignored\n")
    assert LLMSettings(model="openai:gpt-4o", api_key_file=f).key() == "sk-file-2"
    with pytest.raises(InputError, match="cannot read the API key file"):
        LLMSettings(model="openai:gpt-4o", api_key_file=tmp_path / "missing").key()


def test_missing_key_explains_how_to_run_offline(capsys) -> None:
    rc = main(["discuss", str(EXAMPLES / "flask-blog.yaml"), "--llm", "openai:gpt-4o"])
    err = capsys.readouterr().err
    assert rc == 2 and "OPENAI_API_KEY" in err and "offline" in err and "--llm test" in err
    with pytest.raises(InputError, match="ANTHROPIC_API_KEY"):
        build_model(LLMSettings(model="anthropic:claude-sonnet-4-6"))


@pytest.mark.parametrize("model, message", [("foo:bar", "unknown LLM provider"), ("openai:", "give a model name"),
                                            ("openai-compatible:x", "--llm-base-url")])
def test_bad_model_ids(model: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        build_model(LLMSettings(model=model, api_key="k"))


def test_providers_build_without_network() -> None:
    from pydantic_ai.models.anthropic import AnthropicModel
    from pydantic_ai.models.openai import OpenAIChatModel

    assert isinstance(build_model(LLMSettings(model="anthropic:claude-sonnet-4-6", api_key="k")), AnthropicModel)
    m = build_model(LLMSettings(model="ollama:llama3.1"))
    assert isinstance(m, OpenAIChatModel) and "11434" in m.base_url
    m = build_model(LLMSettings(model="openai-compatible:qwen", base_url="http://127.0.0.1:9/v1"))
    assert m.base_url.startswith("http://127.0.0.1:9/v1")


def test_a_missing_extra_names_it(monkeypatch) -> None:
    real = builtins.__import__

    def fake_import(name, *a, **kw):
        if name == "openai" or name.startswith("openai."):
            raise ImportError("no openai")
        return real(name, *a, **kw)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(MissingExtra, match=r"threatroom\[llm\]"):
        build_model(LLMSettings(model="openai:gpt-4o", api_key="k"))


def test_llm_options_need_a_model(capsys) -> None:
    rc = main(["discuss", str(EXAMPLES / "flask-blog.yaml"), "--max-cost", "1"])
    assert rc == 2 and "need a model" in capsys.readouterr().err


def test_prompt_templates_are_versioned_data() -> None:
    p = load_prompts()
    versions = p.versions()
    assert set(versions) >= {"common", "leader", "threat_modeler", "engineer", "architect", "compliance_officer",
                             "business_stakeholder", "extraction"}
    assert all("@v" in v for v in versions.values())
    instructions, task = p.roles[next(iter(p.roles))].render(member="B1", team="B", role="leader", heading="H:", suggested="NEXT: B4")
    assert "{" not in instructions + task


@pytest.mark.parametrize("change, message", [
    (lambda t: t.replace("{member}", "{membr}"), "unknown placeholder"),
    (lambda t: t.replace("version: 1", "version: 0"), "invalid prompt template"),
    (lambda t: t + "\nsurprise: 1\n", "invalid prompt template"),
])
def test_broken_templates_are_rejected(tmp_path: Path, change, message: str) -> None:
    for f in PROMPTS_DIR.glob("*.yaml"):
        text = f.read_text()
        (tmp_path / f.name).write_text(change(text) if f.name == "engineer.yaml" else text)
    with pytest.raises(KnowledgeError, match=message):
        load_prompts(tmp_path)


def test_a_missing_template_is_an_error(tmp_path: Path) -> None:
    for f in PROMPTS_DIR.glob("*.yaml"):
        if f.name != "architect.yaml":
            (tmp_path / f.name).write_text(f.read_text())
    with pytest.raises(KnowledgeError, match="no template for architect"):
        load_prompts(tmp_path)


def test_ctrl_c_is_a_clean_cancel(monkeypatch, capsys, tmp_path: Path) -> None:
    import threatroom.cli_llm as cli_llm

    def interrupted(*a, **kw):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli_llm, "llm_extract", interrupted, raising=False)
    monkeypatch.setattr("threatroom.llm.extract.llm_extract", interrupted)
    out = tmp_path / "x.json"
    rc = main(["analyze", str(EXAMPLES.parent.parent / "shared" / "examples" / "flask-blog.txt"), "--llm", "test", "--llm-extract",
               "-f", "json", "-o", str(out)])
    assert rc == 130 and "cancelled" in capsys.readouterr().err and not out.exists()


def test_a_configured_model_does_not_touch_offline_analysis(monkeypatch, capsys, tmp_path: Path) -> None:
    monkeypatch.setenv("THREATROOM_LLM", "openai:gpt-4o")  # no key anywhere
    out = tmp_path / "r.json"
    assert main(["analyze", str(EXAMPLES / "flask-blog.yaml"), "-f", "json", "-o", str(out), "-q"]) == 0
    rc = main(["discuss", str(EXAMPLES / "flask-blog.yaml"), "-q", "-o", str(tmp_path / "d.md")])
    assert rc == 2 and "OPENAI_API_KEY" in capsys.readouterr().err  # discuss does use the configured model
