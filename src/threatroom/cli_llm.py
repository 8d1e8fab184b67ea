"""The command line's LLM options and the steps they add: settings from flags,
environment and config; LLM-assisted extraction; the LLM discussion."""

from __future__ import annotations

from contextlib import ExitStack
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from .errors import InputError
from .ingest import STRUCTURED_SUFFIXES, load_input
from .knowledge import KnowledgeBase
from .model import SystemModel, ThreatModel
from .model.threats import Finding

if TYPE_CHECKING:
    from .llm.runtime import LLMRuntime

# The resources one CLI invocation opened (an LLM run's event loop and HTTP client);
# main() closes them when the command ends, however it ends.
CLEANUP: ContextVar[ExitStack | None] = ContextVar("threatroom_cli_cleanup", default=None)

LlmOpt = Annotated[str | None, typer.Option("--llm", help="Use an LLM: test, openai:<model>, anthropic:<model>, ollama:<model> or openai-compatible:<model> (env THREATROOM_LLM).", rich_help_panel="LLM")]
BaseUrlOpt = Annotated[str | None, typer.Option("--llm-base-url", help="OpenAI-compatible endpoint, e.g. http://127.0.0.1:8080/v1 (vLLM, llama.cpp, LM Studio, Azure).", rich_help_panel="LLM")]
KeyFileOpt = Annotated[Path | None, typer.Option("--llm-key-file", help="File holding the API key (else the provider's usual environment variable).", rich_help_panel="LLM")]
MaxCostOpt = Annotated[float | None, typer.Option("--max-cost", min=0.000001, help="Stop, with a partial result, once this many US dollars are spent.", rich_help_panel="LLM")]
MaxTokensOpt = Annotated[int | None, typer.Option("--max-tokens", min=1, help="Stop, with a partial result, once this many tokens are used.", rich_help_panel="LLM")]
ExtractOpt = Annotated[bool, typer.Option("--llm-extract", help="Let the LLM propose components and flows the reader missed (each must quote the text).", rich_help_panel="LLM")]
NoCacheOpt = Annotated[bool, typer.Option("--no-llm-cache", help="Do not reuse or record LLM responses.", rich_help_panel="LLM")]


@dataclass(frozen=True)
class LlmFlags:
    llm: str | None = None
    base_url: str | None = None
    key_file: Path | None = None
    max_cost: float | None = None
    max_tokens: int | None = None
    extract: bool = False
    no_cache: bool = False

    def runtime(self, *, extraction_only: bool = False) -> LLMRuntime | None:
        """The LLM run these flags ask for (with environment and config), or None: offline.

        ``extraction_only``: the command's only LLM step is extraction (analyze, extract), so
        a model set in the environment or config file does not matter unless extraction is on."""
        from .llm.settings import resolve_settings

        flags = {"model": self.llm, "base_url": self.base_url, "api_key_file": self.key_file,
                 "max_cost": self.max_cost, "max_tokens": self.max_tokens,
                 "extract": True if self.extract else None, "cache": False if self.no_cache else None}
        settings = resolve_settings(flags)
        if settings is not None and extraction_only and not settings.extract:
            return None
        if settings is None:
            if self.extract or self.max_cost or self.max_tokens:
                raise InputError("--llm-extract, --max-cost and --max-tokens need a model: add --llm (or set THREATROOM_LLM)", "--llm")
            return None
        from .llm.providers import MissingExtra

        try:
            from .llm.runtime import open_runtime
        except ImportError:
            raise MissingExtra("LLM mode needs the optional dependencies: pip install 'threatroom[llm]'", "--llm") from None
        runtime = open_runtime(settings)
        stack = CLEANUP.get()
        if stack is not None:
            stack.callback(runtime.close)
        return runtime


def extracted(input: Path, knowledge: KnowledgeBase, runtime: LLMRuntime | None) -> tuple[SystemModel, list[Finding]]:
    """Read the input; for plain words with extraction on, merge what the LLM found in the
    text, with findings for what it added and dropped."""
    model = load_input(input, knowledge)
    if runtime is None or not runtime.settings.extract or input.suffix.lower() in STRUCTURED_SUFFIXES:
        return model, []
    from .llm.extract import llm_extract

    model, report = llm_extract(input.read_text(encoding="utf-8", errors="replace"), model, knowledge, runtime)
    return model, report.findings()


def analysed(input: Path, knowledge: KnowledgeBase, runtime: LLMRuntime | None) -> ThreatModel:
    """Read (with LLM extraction when asked) and analyse."""
    from .engine import analyze

    model, findings = extracted(input, knowledge, runtime)
    result = analyze(model, knowledge)
    return result.model_copy(update={"warnings": [*result.warnings, *findings]}) if findings else result


def usage_line(runtime: LLMRuntime) -> str:
    m = runtime.meter
    unknown = any(not c.price_known for c in m.calls if not c.cached)
    price = f"${m.cost_usd:.4f}" + (" (no price known for this model)" if unknown else "")
    cached = sum(c.cached for c in m.calls)
    return (f"LLM {runtime.settings.model}: {len(m.calls)} calls ({cached} from cache), {m.input_tokens} input + "
            f"{m.output_tokens} output tokens, {price}, {runtime.fallbacks} turn(s) taken by the offline agent")


__all__ = ["BaseUrlOpt", "ExtractOpt", "KeyFileOpt", "LlmFlags", "LlmOpt", "MaxCostOpt", "MaxTokensOpt", "NoCacheOpt", "analysed",
           "extracted", "usage_line"]
