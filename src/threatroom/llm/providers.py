"""From settings to a pydantic-ai model: the provider gives an authenticated client, the
model adapter speaks its API family.

Provider SDK retries are switched off (``max_retries=0``): retries, backoff and their
log happen in one place, :mod:`threatroom.llm.metered`.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from ..errors import InputError
from .settings import LLMSettings

if TYPE_CHECKING:
    from pydantic_ai.models import Model

PROVIDERS = ("test", "openai", "anthropic", "ollama", "openai-compatible")
ANTHROPIC_API_VERSION = "2023-06-01"
OLLAMA_URL = "http://localhost:11434/v1"
EXTRA = "pip install 'threatroom[llm]'"
OFFLINE_HINT = (
    "or run offline: leave out --llm (the offline agents need no key and cost nothing), "
    "or try the LLM path with the built-in fake model: --llm test"
)


class MissingExtra(InputError):
    """An optional dependency needed for this provider is not installed."""


def _require(module: str, what: str) -> None:
    try:
        __import__(module)
    except ImportError:
        raise MissingExtra(f"{what} needs the optional dependency '{module}': {EXTRA}", "--llm") from None


def _key(settings: LLMSettings, env_var: str | None) -> str | None:
    return settings.key() or (os.environ.get(env_var) if env_var else None) or None


def build_model(settings: LLMSettings) -> Model:
    """The pydantic-ai model these settings name; a clear InputError when it cannot be built."""
    _require("pydantic_ai", "LLM mode")
    provider, name = settings.provider, settings.model_name
    if provider == "test":
        from .fake import fake_model

        return fake_model()
    if provider not in PROVIDERS:
        raise InputError(f"unknown LLM provider '{provider}': use one of {', '.join(PROVIDERS)} (e.g. openai:gpt-4o)", "--llm")
    if not name or name == settings.model:
        raise InputError(f"give a model name after the provider, e.g. {provider}:<model>", "--llm")
    if provider == "anthropic":
        _require("anthropic", "the anthropic provider")
        key = _key(settings, "ANTHROPIC_API_KEY")
        if not key:
            raise InputError(f"no API key for anthropic: set ANTHROPIC_API_KEY (or THREATROOM_LLM_API_KEY, or api_key_file), {OFFLINE_HINT}", "--llm")
        from anthropic import AsyncAnthropic
        from pydantic_ai.models.anthropic import AnthropicModel
        from pydantic_ai.providers.anthropic import AnthropicProvider

        # Newer SDKs default to an API version that refuses sampling settings (temperature),
        # which would silently drop our temperature 0; this version keeps it honoured.
        client = AsyncAnthropic(api_key=key, base_url=settings.base_url, max_retries=0, timeout=settings.timeout,
                                default_headers={"anthropic-version": ANTHROPIC_API_VERSION})
        return AnthropicModel(name, provider=AnthropicProvider(anthropic_client=client))
    _require("openai", f"the {provider} provider")
    from openai import AsyncOpenAI
    from pydantic_ai.models.openai import OpenAIChatModel
    from pydantic_ai.providers.openai import OpenAIProvider

    if provider == "openai":
        key = _key(settings, "OPENAI_API_KEY")
        if not key:
            raise InputError(f"no API key for openai: set OPENAI_API_KEY (or THREATROOM_LLM_API_KEY, or api_key_file), {OFFLINE_HINT}", "--llm")
        base_url = settings.base_url
    elif provider == "ollama":
        key = _key(settings, None) or "ollama"
        base_url = settings.base_url or os.environ.get("OLLAMA_BASE_URL") or OLLAMA_URL
    else:  # openai-compatible: vLLM, llama.cpp server, LM Studio, Azure OpenAI's v1 endpoint...
        if not settings.base_url:
            raise InputError("openai-compatible needs the server's address: --llm-base-url http://host:port/v1", "--llm-base-url")
        key = _key(settings, None) or "not-needed"
        base_url = settings.base_url
    client = AsyncOpenAI(api_key=key, base_url=base_url, max_retries=0, timeout=settings.timeout)
    return OpenAIChatModel(name, provider=OpenAIProvider(openai_client=client))


__all__ = ["OLLAMA_URL", "PROVIDERS", "MissingExtra", "build_model"]
