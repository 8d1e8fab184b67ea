from __future__ import annotations

from pathlib import Path

import pytest

from threatroom.knowledge import KnowledgeBase, load_knowledge

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
SHARED = ROOT.parent / "shared"
SAMPLE_KB = Path(__file__).parent / "kb_sample"


@pytest.fixture(scope="session")
def kb() -> KnowledgeBase:
    """The built-in knowledge base."""
    return load_knowledge()


@pytest.fixture(scope="session")
def sample_kb() -> KnowledgeBase:
    """A tiny, controlled knowledge base for engine tests."""
    return load_knowledge([SAMPLE_KB], include_builtin=False)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    for var in ("THREATROOM_KB", "THREATROOM_NO_CACHE", "NO_COLOR", "FORCE_COLOR", "THREATROOM_CONFIG",
                "OPENAI_API_KEY", "OPENAI_BASE_URL", "ANTHROPIC_API_KEY", "OLLAMA_BASE_URL", "THREATROOM_LLM_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    for var in ("THREATROOM_LLM", "THREATROOM_LLM_BASE_URL", "THREATROOM_LLM_API_KEY_FILE", "THREATROOM_LLM_MAX_COST",
                "THREATROOM_LLM_MAX_TOKENS", "THREATROOM_LLM_TIMEOUT", "THREATROOM_LLM_CACHE_DIR", "THREATROOM_LLM_OUTPUT_MODE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.getbasetemp() / "no-user-config"))
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("THREATROOM_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "kb-cache"))


@pytest.fixture(scope="module")
def browser():  # type: ignore[no-untyped-def]
    """One headless Chromium per test module (the browser tests; see browser_helpers)."""
    from .browser_helpers import chromium

    with chromium() as b:
        yield b
