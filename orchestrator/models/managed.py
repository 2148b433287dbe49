"""The wrapper every model call goes through: retries with backoff, metering, events.

Retries honour Retry-After on 429 and back off exponentially (with jitter) on 5xx,
timeouts and connection errors; other errors fail at once. Every successful call adds its
tokens and cost to the run's meter, so usage is counted for every role and sub-call.
When a subscriber wants message content (a trace the user opted into), each `model_called`
event carries the call's messages, bounded and passed through the role's filters, in a
field no log persists.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable

from pydantic import BaseModel

from ledgers.transcript import CHARS_PER_TOKEN
from orchestrator.events import EventBus, ModelCalled, ModelCallStarted, ModelFailed, ModelRetry
from orchestrator.models import content
from orchestrator.models.spec import Pricing
from specialists.models.protocol import (
    Capabilities,
    ContentFilter,
    ModelClient,
    ModelError,
    ModelRequest,
    ModelResponse,
    RateLimited,
    Usage,
)
from specialists.models.structured import output_mode

Sleep = Callable[[float], Awaitable[None]]

MAX_RETRY_AFTER = 300.0  # a provider asking for longer than this is effectively down


class RoleUsage(BaseModel):
    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    unpriced_calls: int = 0


class Meter(BaseModel):
    """Usage and cost per role. Part of the checkpoint, so totals survive a resume."""

    roles: dict[str, RoleUsage] = {}

    def add(self, role: str, usage: Usage, cost: float | None) -> None:
        entry = self.roles.setdefault(role, RoleUsage())
        entry.calls += 1
        entry.input_tokens += usage.input_tokens
        entry.output_tokens += usage.output_tokens
        if cost is None:
            entry.unpriced_calls += 1
        else:
            entry.cost_usd += cost

    @property
    def tokens(self) -> int:
        return sum(r.input_tokens + r.output_tokens for r in self.roles.values())

    @property
    def cost_usd(self) -> float:
        return sum(r.cost_usd for r in self.roles.values())


class ManagedModel:
    def __init__(
        self,
        inner: ModelClient,
        *,
        role: str,
        bus: EventBus,
        meter: Meter,
        pricing: Pricing | None,
        max_retries: int = 5,
        base_delay: float = 1.0,
        max_delay: float = 60.0,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.inner = inner
        self.role = role
        self._bus = bus
        self._meter = meter
        self._pricing = pricing
        self._max_retries = max_retries
        self._base_delay = base_delay
        self._max_delay = max_delay
        self._sleep = sleep
        # Token counts are estimated from lengths: start conservative, follow what calls report.
        self.chars_per_token = CHARS_PER_TOKEN
        self._filters: list[ContentFilter] = []

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def capabilities(self) -> Capabilities:
        return self.inner.capabilities

    def filter_recorded(self, apply: ContentFilter) -> None:
        """Pass every message a trace records through `apply` (a specialist's redaction)."""
        self._filters.append(apply)

    def _wait_for(self, error: ModelError, attempt: int) -> float:
        if isinstance(error, RateLimited) and error.retry_after is not None:
            return min(error.retry_after, MAX_RETRY_AFTER)
        backoff = min(self._max_delay, self._base_delay * 2.0 ** (attempt - 1))
        return backoff * (0.5 + random.random() / 2)

    async def complete(self, request: ModelRequest) -> ModelResponse:
        attempt = 0
        while True:
            attempt += 1
            self._bus.emit(
                ModelCallStarted(role=self.role, purpose=request.purpose, attempt=attempt)
            )
            started = time.monotonic()
            try:
                response = await self.inner.complete(request)
            except ModelError as error:
                if not error.retryable or attempt > self._max_retries:
                    self._bus.emit(
                        ModelFailed(
                            role=self.role,
                            purpose=request.purpose,
                            error=str(error),
                            model=self.name,
                            error_type=type(error).__name__,
                            seconds=round(time.monotonic() - started, 4),
                        )
                    )
                    raise
                wait = self._wait_for(error, attempt)
                self._bus.emit(
                    ModelRetry(
                        role=self.role,
                        purpose=request.purpose,
                        error=str(error),
                        attempt=attempt,
                        wait_seconds=round(wait, 3),
                    )
                )
                await self._sleep(wait)
                continue
            self._record(request, response, time.monotonic() - started)
            return response

    def _record(self, request: ModelRequest, response: ModelResponse, seconds: float) -> None:
        usage = response.usage
        cost = (
            self._pricing.cost(usage.input_tokens, usage.output_tokens)
            if self._pricing is not None
            else None
        )
        self._meter.add(self.role, usage, cost)
        self._calibrate(request.prompt_chars(), usage.input_tokens)
        self._bus.emit(
            ModelCalled(
                role=self.role,
                purpose=request.purpose,
                model=response.model or self.name,
                input_tokens=usage.input_tokens,
                output_tokens=usage.output_tokens,
                cost_usd=cost,
                seconds=round(seconds, 4),
                prompt_chars=request.prompt_chars(),
                output_mode=output_mode(request),
                finish_reason=response.finish_reason,
                content=(
                    content.capture(request, response, self._filters)
                    if self._bus.wants_content
                    else None
                ),
            )
        )

    def _calibrate(self, chars: int, tokens: int) -> None:
        if chars < 200 or tokens <= 0:  # too small to say anything about the ratio
            return
        ratio = min(8.0, max(1.5, chars / tokens))
        # A slow-moving average, rounded down a little: overcounting is the safe error.
        self.chars_per_token = 0.8 * self.chars_per_token + 0.2 * ratio * 0.95

    async def close(self) -> None:
        await self.inner.close()
