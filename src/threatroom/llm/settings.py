"""LLM settings: which model, where, with which key, and how much it may spend.

Resolution order for each setting: the command-line flag, then the environment
(``THREATROOM_LLM``, ``THREATROOM_LLM_BASE_URL``, ...), then the ``[llm]`` table of a
config file (``./threatroom.toml`` or ``$XDG_CONFIG_HOME/threatroom/config.toml``).
Keys are secrets held by reference: the provider's usual variable
(``OPENAI_API_KEY``, ``ANTHROPIC_API_KEY``), ``THREATROOM_LLM_API_KEY`` or a file named
by ``api_key_file``. A key is never printed, logged, cached or written to a result.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from ..errors import InputError

OutputMode = Literal["auto", "tool", "native", "prompted", "json_object", "text"]

ENV = {
    "model": "THREATROOM_LLM",
    "base_url": "THREATROOM_LLM_BASE_URL",
    "api_key_file": "THREATROOM_LLM_API_KEY_FILE",
    "max_cost": "THREATROOM_LLM_MAX_COST",
    "max_tokens": "THREATROOM_LLM_MAX_TOKENS",
    "max_prompt_chars": "THREATROOM_LLM_MAX_PROMPT_CHARS",
    "timeout": "THREATROOM_LLM_TIMEOUT",
    "cache_dir": "THREATROOM_LLM_CACHE_DIR",
    "output_mode": "THREATROOM_LLM_OUTPUT_MODE",
}
KEY_ENV = "THREATROOM_LLM_API_KEY"


class LLMSettings(BaseModel):
    """Everything that decides how the LLM is called. Safe to print: the key is a secret."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str = Field(description="'test', 'openai:gpt-4o', 'anthropic:<model>', 'ollama:<model>' or 'openai-compatible:<model>'.")
    base_url: str | None = Field(default=None, description="Endpoint of an OpenAI-compatible server (vLLM, llama.cpp, LM Studio, Azure).")
    api_key: SecretStr | None = Field(default=None, description="Resolved from the environment or a file; never shown.")
    api_key_file: Path | None = Field(default=None, description="File whose first line is the API key.")
    temperature: float = Field(default=0.0, ge=0, le=2, description="0 makes answers as repeatable as the provider allows.")
    timeout: float = Field(default=60.0, gt=0, le=3600, description="Seconds one request may take.")
    max_retries: int = Field(default=3, ge=0, le=10, description="Retries of a request after 429, 5xx, timeouts or dropped connections.")
    backoff: float = Field(default=1.0, ge=0, le=60, description="First wait before a retry, in seconds; doubles each time.")
    output_retries: int = Field(default=2, ge=0, le=5, description="Re-asks when an answer fails validation, before the offline agent takes the turn.")
    max_output_tokens: int = Field(default=1200, ge=64, le=32_000, description="Most tokens one answer may have.")
    max_prompt_chars: int | None = Field(
        default=None, ge=2_000, le=1_000_000,
        description="Shrink the grounded data to about this many characters (for small local models; ~4 characters a token).",
    )
    max_cost: float | None = Field(default=None, gt=0, description="Stop (with a partial result) once this many US dollars are spent.")
    max_tokens: int | None = Field(default=None, gt=0, description="Stop (with a partial result) once this many tokens are used.")
    cache: bool = Field(default=True, description="Reuse recorded responses for identical requests.")
    cache_dir: Path | None = Field(default=None, description="Where responses are recorded (default: the user cache).")
    output_mode: OutputMode = Field(
        default="auto",
        description="How structured answers are asked for: tool calls, a JSON-schema response format (native), a prompt, "
        "json_object with the schema attached (llama-cpp-python's server, which constrains the answer to it), "
        "or text: the schema in the prompt and no response format at all (fast on servers whose grammar sampling is slow).",
    )
    extract: bool = Field(default=False, description="Let the LLM propose components and flows from a plain-words description.")

    @field_validator("model")
    @classmethod
    def _model(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("the model is empty")
        return value

    @property
    def provider(self) -> str:
        return "test" if self.model == "test" else self.model.split(":", 1)[0].lower()

    @property
    def model_name(self) -> str:
        return self.model.split(":", 1)[1] if ":" in self.model else self.model

    def key(self) -> str | None:
        """The API key, read only when a client is built."""
        if self.api_key is not None:
            return self.api_key.get_secret_value()
        if self.api_key_file is not None:
            try:
                line = self.api_key_file.read_text(encoding="utf-8").strip().splitlines()
            except OSError as exc:
                raise InputError(f"cannot read the API key file: {exc.strerror or exc}", str(self.api_key_file)) from None
            return line[0].strip() if line else None
        return None


def _config_file(env: Mapping[str, str]) -> Path | None:
    explicit = env.get("THREATROOM_CONFIG")
    if explicit:
        return Path(explicit)
    local = Path("threatroom.toml")
    if local.is_file():
        return local
    base = Path(env.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    user = base / "threatroom" / "config.toml"
    return user if user.is_file() else None


def _from_file(path: Path | None) -> dict[str, object]:
    if path is None:
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"cannot read the config file: {exc.strerror or exc}", str(path)) from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"the config file is not valid TOML: {exc}", str(path)) from None
    table = data.get("llm", {})
    if not isinstance(table, dict):
        raise InputError("[llm] must be a table", str(path))
    if "api_key" in table:
        raise InputError("do not write API keys into the config file; use api_key_file or an environment variable", str(path))
    return dict(table)


def resolve_settings(
    flags: Mapping[str, object] | None = None,
    env: Mapping[str, str] | None = None,
    config: Path | None = None,
) -> LLMSettings | None:
    """Settings from flags, environment and config file; None when no model is chosen (offline)."""
    env = os.environ if env is None else env
    merged: dict[str, object] = _from_file(config if config is not None else _config_file(env))
    for field, var in ENV.items():
        if env.get(var):
            merged[field] = env[var]
    merged.update({k: v for k, v in (flags or {}).items() if v is not None})
    if not merged.get("model"):
        return None
    if env.get(KEY_ENV) and "api_key" not in merged:
        merged["api_key"] = env[KEY_ENV]
    try:
        return LLMSettings.model_validate(merged)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'llm'}: {e['msg']}" for e in exc.errors())
        raise InputError(f"invalid LLM settings: {problems}", "llm") from None


__all__ = ["LLMSettings", "OutputMode", "resolve_settings"]
