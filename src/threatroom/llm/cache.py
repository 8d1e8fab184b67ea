"""An on-disk record of model responses, keyed by model and request, so a rerun of the
same analysis is free and gives the same conversation.

The key covers the model id, the endpoint, the settings and the request's content
(instructions, prompts, previous answers, output schema); times and call ids are left
out so they do not spoil it. Entries are whole files written atomically.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pydantic_ai.messages import ModelMessage, ModelResponse
    from pydantic_ai.models import ModelRequestParameters
    from pydantic_ai.settings import ModelSettings

CACHE_VERSION = "1"
_VOLATILE = frozenset({"timestamp", "tool_call_id", "run_id", "conversation_id", "provider_response_id", "id", "metadata"})


def default_cache_dir() -> Path:
    base = os.environ.get("THREATROOM_CACHE_DIR") or os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    sub = Path(base) if os.environ.get("THREATROOM_CACHE_DIR") else Path(base) / "threatroom"
    return sub / "llm"


def _stable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _stable(v) for k, v in sorted(value.items()) if k not in _VOLATILE}
    if isinstance(value, list):
        return [_stable(v) for v in value]
    return value


class ResponseCache:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def key(
        self,
        model_id: str,
        endpoint: str | None,
        messages: list[ModelMessage],
        settings: ModelSettings | None,
        params: ModelRequestParameters,
    ) -> str:
        from pydantic_ai.messages import ModelMessagesTypeAdapter
        from pydantic_core import to_jsonable_python

        payload = {
            "v": CACHE_VERSION,
            "model": model_id,
            "endpoint": endpoint,
            "messages": _stable(json.loads(ModelMessagesTypeAdapter.dump_json(messages))),
            "settings": _stable(to_jsonable_python(dict(settings or {}), fallback=str)),
            "params": _stable(to_jsonable_python(params, fallback=str)),
        }
        return hashlib.sha256(json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()).hexdigest()

    def _path(self, key: str) -> Path:
        return self.directory / key[:2] / f"{key}.json"

    def get(self, key: str) -> ModelResponse | None:
        from pydantic_ai.messages import ModelMessagesTypeAdapter, ModelResponse

        try:
            raw = self._path(key).read_bytes()
            loaded = ModelMessagesTypeAdapter.validate_json(raw)
        except (OSError, ValueError):
            return None
        return loaded[0] if len(loaded) == 1 and isinstance(loaded[0], ModelResponse) else None

    def put(self, key: str, response: ModelResponse) -> None:
        from pydantic_ai.messages import ModelMessagesTypeAdapter

        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
            with os.fdopen(fd, "wb") as fh:
                fh.write(ModelMessagesTypeAdapter.dump_json([response]))
            os.replace(tmp, path)
        except OSError:
            return  # a cache that cannot be written only costs a rerun


__all__ = ["ResponseCache", "default_cache_dir"]
