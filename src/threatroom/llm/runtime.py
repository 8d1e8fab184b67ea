"""One LLM run's state: the metered model, the prompts, the ledger and what the
threat modeler proposed. Built per analysis; never shared between analyses."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from .cache import ResponseCache, default_cache_dir
from .metered import Meter, MeteredModel, Sleep
from .outputs import ProposedThreat
from .prompts import PromptSet, load_prompts
from .providers import build_model
from .settings import LLMSettings

if TYPE_CHECKING:
    from pydantic_ai.models import Model

NATIVE_BY_DEFAULT = frozenset({"ollama", "openai-compatible"})
DOWN_AFTER = 2  # consecutive turns lost to provider errors before the rest go offline


_GRAMMAR_DROP = frozenset({"maxLength", "minLength", "maxItems", "minItems", "description", "title", "default"})


def grammar_schema(output_type: type[BaseModel]) -> dict[str, Any]:
    """The output schema without length bounds or prose: llama.cpp compiles the schema into a
    grammar, and a bound like maxLength 8000 makes it large enough to crash the sampler
    (llama-cpp-python 0.3.36). The answer is still validated against the full model."""

    def strip(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: strip(v) for k, v in node.items() if k not in _GRAMMAR_DROP or isinstance(v, dict)}
        if isinstance(node, list):
            return [strip(v) for v in node]
        return node

    return strip(output_type.model_json_schema())  # type: ignore[no-any-return]


@dataclass
class LLMRuntime:
    settings: LLMSettings
    model: MeteredModel
    meter: Meter
    prompts: PromptSet
    proposals: list[ProposedThreat] = field(default_factory=list)
    fallbacks: int = 0
    provider_failures: int = 0
    down: str | None = None
    loop: asyncio.AbstractEventLoop | None = None

    def run(self, agent: Any, prompt: str, **kwargs: Any) -> Any:
        """Run a pydantic-ai agent on this run's own event loop (one loop for all its calls,
        so the provider's connection pool is reused; closed by :meth:`close`)."""
        if self.loop is None or self.loop.is_closed():
            self.loop = asyncio.new_event_loop()
        return self.loop.run_until_complete(agent.run(prompt, **kwargs))

    def close(self) -> None:
        """Close the provider's HTTP client and the event loop. Safe to call twice."""
        if self.loop is None or self.loop.is_closed():
            return
        client = getattr(self.model.wrapped, "client", None)
        closer = getattr(client, "close", None)
        try:
            if closer is not None:
                result = closer()
                if asyncio.iscoroutine(result):
                    self.loop.run_until_complete(result)
            self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        finally:
            self.loop.close()

    def __del__(self) -> None:  # a run nobody closed: at least do not leak the loop
        loop = self.loop
        if loop is not None and not loop.is_closed() and not loop.is_running():
            loop.close()

    def __enter__(self) -> LLMRuntime:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def output_mode(self) -> str:
        mode = self.settings.output_mode
        if mode != "auto":
            return mode
        return "native" if self.settings.provider in NATIVE_BY_DEFAULT else "tool"

    def model_settings(self, output_type: type[BaseModel] | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {"temperature": self.settings.temperature, "max_tokens": self.settings.max_output_tokens, "timeout": self.settings.timeout}
        if self.output_mode == "json_object" and output_type is not None:
            # llama-cpp-python's server turns a schema attached to json_object into a grammar
            out["extra_body"] = {"response_format": {"type": "json_object", "schema": grammar_schema(output_type)}}
        elif self.output_mode == "text":
            out["extra_body"] = {"response_format": {"type": "text"}}
        return out

    def output_spec(self, output_type: type) -> Any:
        from pydantic_ai import NativeOutput, PromptedOutput, ToolOutput

        wrap = {"tool": ToolOutput, "native": NativeOutput, "prompted": PromptedOutput, "json_object": PromptedOutput,
                "text": PromptedOutput}[self.output_mode]
        return wrap(output_type)


def open_runtime(
    settings: LLMSettings,
    *,
    model: Model | None = None,
    sleep: Sleep | None = None,
    cancel: threading.Event | None = None,
) -> LLMRuntime:
    """Build the model for ``settings`` (or wrap ``model``, for tests) with meter and cache."""
    meter = Meter(max_cost=settings.max_cost, max_tokens=settings.max_tokens, cancel=cancel or threading.Event())
    cache = ResponseCache(settings.cache_dir or default_cache_dir()) if settings.cache else None
    metered = MeteredModel(
        model or build_model(settings),
        meter,
        model_id=settings.model,
        endpoint=settings.base_url,
        cache=cache,
        max_retries=settings.max_retries,
        backoff=settings.backoff,
        sleep=sleep,
    )
    return LLMRuntime(settings=settings, model=metered, meter=meter, prompts=load_prompts())


__all__ = ["LLMRuntime", "open_runtime"]
