"""The one place where model calls are metered: budget, cancellation, cache, retries
with backoff, and the ledger of real token counts and dollar costs.

Costs come from the provider's usage object priced with pydantic-ai's price table
(genai-prices). A response served from the cache costs nothing and says so.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

from pydantic_ai.exceptions import (
    ModelAPIError,
    ModelConnectionError,
    ModelHTTPError,
    ModelQuotaExceededError,
    ModelRateLimitError,
    ModelServerError,
    ModelUnavailableError,
)
from pydantic_ai.models.wrapper import WrapperModel

from ..agents.protocol import LLMCall as Call  # one model request as the provider reported it
from ..errors import BudgetExceeded, Cancelled
from .cache import ResponseCache

if TYPE_CHECKING:
    from pydantic_ai.messages import ModelMessage, ModelResponse
    from pydantic_ai.models import Model, ModelRequestParameters
    from pydantic_ai.settings import ModelSettings

Sleep = Callable[[float], Awaitable[None]]
MAX_WAIT = 60.0


@dataclass
class Meter:
    """Per-run ledger and limits. Not shared between runs."""

    max_cost: float | None = None
    max_tokens: int | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    calls: list[Call] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    agent: str = "llm"

    @property
    def input_tokens(self) -> int:
        return sum(c.input_tokens for c in self.calls)

    @property
    def output_tokens(self) -> int:
        return sum(c.output_tokens for c in self.calls)

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    @property
    def cost_usd(self) -> float:
        return float(sum(Decimal(str(c.cost_usd)) for c in self.calls))

    def check(self, estimated_input: int = 0) -> None:
        """Refuse the next call when the run is cancelled or it would pass the budget."""
        if self.cancel.is_set():
            raise Cancelled("the run was cancelled")
        if self.max_tokens is not None and self.tokens + estimated_input > self.max_tokens:
            raise BudgetExceeded(
                f"token budget reached: {self.tokens} tokens used, the next request needs about {estimated_input} more (limit {self.max_tokens})"
            )
        paid = [c.cost_usd for c in self.calls if not c.cached]
        if self.max_cost is not None and self.cost_usd + (paid[-1] if paid else 0.0) > self.max_cost:
            raise BudgetExceeded(f"cost budget reached: ${self.cost_usd:.4f} spent (limit ${self.max_cost:.4f})")

    def since(self, start: int) -> list[Call]:
        return self.calls[start:]


def _price(response: ModelResponse) -> tuple[float, bool]:
    try:
        return float(response.cost().total_price), True
    except Exception:  # noqa: BLE001 - an unknown model has no price; its tokens still count
        return 0.0, False


def _retryable(exc: ModelAPIError) -> bool:
    if isinstance(exc, ModelQuotaExceededError):
        return False
    if isinstance(exc, ModelRateLimitError | ModelServerError | ModelUnavailableError | ModelConnectionError):
        return True
    return isinstance(exc, ModelHTTPError) and (exc.status_code in (408, 409, 429) or exc.status_code >= 500)


def _wait(exc: ModelAPIError, attempt: int, backoff: float) -> float:
    headers = getattr(exc, "headers", None) or {}
    after = headers.get("retry-after")
    if after:
        try:
            return min(max(float(after), 0.0), MAX_WAIT)
        except ValueError:
            pass
    return min(backoff * 2 ** (attempt - 1), MAX_WAIT)


def _estimate(messages: list[ModelMessage]) -> int:
    from pydantic_ai.messages import ModelMessagesTypeAdapter

    return len(ModelMessagesTypeAdapter.dump_json(messages)) // 4


class MeteredModel(WrapperModel):
    """Wraps a provider model with the meter, the cache and retries."""

    def __init__(
        self,
        wrapped: Model,
        meter: Meter,
        *,
        model_id: str,
        endpoint: str | None = None,
        cache: ResponseCache | None = None,
        max_retries: int = 3,
        backoff: float = 1.0,
        sleep: Sleep | None = None,
    ) -> None:
        super().__init__(wrapped)
        self.meter = meter
        self.threatroom_model_id = model_id
        self.endpoint = endpoint
        self.cache = cache
        self.max_retries = max_retries
        self.backoff = backoff
        self._sleep = sleep or asyncio.sleep

    async def request(
        self,
        messages: list[ModelMessage],
        model_settings: ModelSettings | None,
        model_request_parameters: ModelRequestParameters,
    ) -> ModelResponse:
        meter = self.meter
        meter.check(_estimate(messages))
        key = self.cache.key(self.threatroom_model_id, self.endpoint, messages, model_settings, model_request_parameters) if self.cache else None
        if key is not None and self.cache is not None:
            hit = self.cache.get(key)
            if hit is not None:
                meter.calls.append(Call(agent=meter.agent, model=self.threatroom_model_id, input_tokens=0, output_tokens=0, cost_usd=0.0, cached=True))
                return hit
        attempt = 0
        while True:
            attempt += 1
            try:
                response = await self.wrapped.request(messages, model_settings, model_request_parameters)
                break
            except ModelAPIError as exc:
                if attempt > self.max_retries or not _retryable(exc) or meter.cancel.is_set():
                    meter.events.append(f"{meter.agent}: request failed after {attempt} attempt(s): {_describe(exc)}")
                    meter.calls.append(Call(agent=meter.agent, model=self.threatroom_model_id, input_tokens=0, output_tokens=0, cost_usd=0.0,
                                            attempts=attempt, error=_describe(exc)))
                    raise
                delay = _wait(exc, attempt, self.backoff)
                meter.events.append(f"{meter.agent}: {_describe(exc)}; retry {attempt} of {self.max_retries} in {delay:.1f}s")
                await self._sleep(delay)
        cost, known = _price(response)
        usage = response.usage
        meter.calls.append(Call(agent=meter.agent, model=self.threatroom_model_id, input_tokens=usage.input_tokens,
                                output_tokens=usage.output_tokens, cost_usd=cost, attempts=attempt, price_known=known))
        if key is not None and self.cache is not None:
            self.cache.put(key, response)
        return response


def _describe(exc: ModelAPIError) -> str:
    status = getattr(exc, "status_code", None)
    kind = type(exc).__name__
    return f"{kind} (HTTP {status})" if status else kind


__all__ = ["BudgetExceeded", "Call", "Cancelled", "Meter", "MeteredModel", "Sleep"]
