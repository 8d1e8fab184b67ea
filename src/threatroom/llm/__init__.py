"""LLM mode: the same grounded analysis, with LLM team members, LLM-proposed threats
and optional LLM-assisted extraction. Needs the ``llm`` extra (pydantic-ai); the
offline path never imports it.

    from threatroom.llm import LLMSettings, open_runtime, llm_discuss
    runtime = open_runtime(LLMSettings(model="openai:gpt-4o", max_cost=0.50))
    result, record = llm_discuss(result, kb, runtime)
"""

from __future__ import annotations

from typing import Any

from .settings import LLMSettings, resolve_settings

_LAZY = {
    "open_runtime": ".runtime",
    "LLMRuntime": ".runtime",
    "llm_discuss": ".session",
    "llm_extract": ".extract",
    "LLMAgent": ".agents",
    "FakeServer": ".fakeserver",
    "Fault": ".fakeserver",
    "fake_model": ".fake",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(_LAZY[name], __name__), name)
    raise AttributeError(name)


__all__ = ["LLMSettings", "resolve_settings", *_LAZY]
