"""Figures for a local model: load time, prompt and generation speed, and the structured-
output rung its server takes. Used by `doctor` and `bench/local_model.py`."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

from pydantic import BaseModel

from orchestrator.models.local import LocalModel
from specialists.models import structured
from specialists.models.protocol import (
    Capabilities,
    Message,
    ModelRequest,
    ModelResponse,
    Usage,
)

_FILLER = (
    "The orchestrator keeps a ledger of facts and a plan, and after every round it judges "
    "whether the task is done, whether the team is looping, and who should act next. "
)


@dataclass(frozen=True)
class Figures:
    load_seconds: float
    prompt_tps: float  # prompt tokens read per second
    generate_tps: float  # tokens generated per second
    rung: str  # the structured-output rung that worked


class _Ok(BaseModel):
    answer: str


class RungRecorder:
    """A ModelClient passing calls through, keeping the rung of the last that worked and
    the tokens of all."""

    def __init__(self, inner: LocalModel) -> None:
        self.inner = inner
        self.rung: str = "text"
        self.usage = Usage()
        self.calls = 0

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def capabilities(self) -> Capabilities:
        return self.inner.capabilities

    async def complete(self, request: ModelRequest) -> ModelResponse:
        response = await self.inner.complete(request)
        self.rung = structured.output_mode(request) or "text"
        self.usage += response.usage
        self.calls += 1
        return response

    async def close(self) -> None:
        await self.inner.close()


async def _timed(client: LocalModel, request: ModelRequest) -> tuple[ModelResponse, float]:
    started = time.monotonic()
    response = await client.complete(request)
    return response, time.monotonic() - started


async def measure(client: LocalModel) -> Figures:
    await client.start()
    # A fresh prefix each time, so llama.cpp's prompt cache cannot answer for us.
    long_prompt = f"[{uuid.uuid4()}] " + _FILLER * 12 + "\nReply with one word."
    read, read_seconds = await _timed(
        client,
        ModelRequest("bench.read", (Message.user(long_prompt),), max_output_tokens=1),
    )
    prompt_tps = read.usage.input_tokens / read_seconds if read_seconds > 0 else 0.0

    # Generation: the same prompt shape with 1 and with 64 tokens out; the difference is
    # the time those extra tokens took (prompt reading and overheads cancel).
    def count(limit: int) -> ModelRequest:
        text = f"[{uuid.uuid4()}] Count from 1 to 100, numbers separated by spaces."
        return ModelRequest(
            "bench.write", (Message.user(text),), max_output_tokens=limit, temperature=0.0
        )

    _, short_seconds = await _timed(client, count(1))
    wrote, long_seconds = await _timed(client, count(64))
    extra_tokens = max(wrote.usage.output_tokens - 1, 0)
    generate_tps = extra_tokens / max(long_seconds - short_seconds, 1e-3)
    recorder = RungRecorder(client)
    await structured.generate(
        recorder,
        purpose="bench.structured",
        messages=[Message.user("What is the capital of France? Reply in JSON.")],
        schema=_Ok,
    )
    return Figures(
        load_seconds=client.load_seconds or 0.0,
        prompt_tps=prompt_tps,
        generate_tps=generate_tps,
        rung=recorder.rung,
    )
