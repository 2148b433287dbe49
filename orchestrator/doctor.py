"""`orchestrator doctor`: is this machine ready to run tasks? Each check says what to fix."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from orchestrator.checks import FAIL, MARK, OK, WARN, Check
from orchestrator.config import Settings, load_settings
from orchestrator.doctor_coder import check_coder
from orchestrator.errors import OrchestratorError
from orchestrator.models.factory import NO_MODEL_ADVICE, create_client
from orchestrator.models.spec import ModelSpec
from orchestrator.session import ORCHESTRATOR_ROLE
from specialists.models.protocol import Message, ModelError, ModelRequest


async def check_model(role: str, spec: ModelSpec, environ: Mapping[str, str]) -> Check:
    name = f"model ({role})"
    try:
        client = create_client(spec, environ)
    except ModelError as exc:
        return Check(name, FAIL, str(exc))
    request = ModelRequest(
        purpose="doctor",
        messages=(Message.user("Reply with the single word OK."),),
        max_output_tokens=16,
    )
    started = time.monotonic()
    try:
        async with asyncio.timeout(spec.timeout):
            response = await client.complete(request)
    except (ModelError, TimeoutError) as exc:
        return Check(name, FAIL, f"{spec.model}: {exc or 'timed out'}")
    finally:
        await client.close()
    took = time.monotonic() - started
    caps = client.capabilities
    flags = ", ".join(
        k
        for k in ("vision", "tools", "structured_output", "json_mode", "json_mode_schema")
        if getattr(caps, k)
    )
    return Check(
        name,
        OK,
        f"{spec.model} answered in {took:.2f}s ({response.usage.total_tokens} tokens); can: {flags}",
    )


async def check_local_model(role: str, spec: ModelSpec, environ: Mapping[str, str]) -> Check:
    """A `local:` model: start its server, time prompt reading and generation, and find
    the structured-output rung it takes."""
    from orchestrator.models.local import LocalModel
    from orchestrator.models.local_bench import measure

    name = f"model ({role})"
    try:
        client = create_client(spec, environ)
    except ModelError as exc:
        return Check(name, FAIL, str(exc))
    assert isinstance(client, LocalModel)
    try:
        async with asyncio.timeout(spec.timeout * 4):
            figures = await measure(client)
    except (ModelError, TimeoutError) as exc:
        return Check(name, FAIL, f"{spec.model}: {exc or 'timed out'}")
    finally:
        await client.close()
    return Check(
        name,
        OK,
        f"{spec.model} ({client.gguf.name}): loaded in {figures.load_seconds:.1f}s; "
        f"reads {figures.prompt_tps:.0f} and writes {figures.generate_tps:.0f} tokens/s; "
        f"context {client.n_ctx:,} tokens; structured output by {figures.rung}",
    )


def check_context(role: str, spec: ModelSpec, settings: Settings) -> Check:
    """Will the prompts fit? A server with a smaller context than the prompts we send cuts
    them silently (Ollama's default num_ctx is the usual trap)."""
    from orchestrator.models.local import DEFAULT_CONTEXT
    from orchestrator.models.profiles import capabilities_for
    from orchestrator.prompt_sizes import smallest_context

    context = capabilities_for(spec).context_tokens
    if spec.provider == "local":
        context = spec.capabilities.context_tokens or DEFAULT_CONTEXT
    purpose, needed = smallest_context(settings.team, settings.context)
    what = (
        f"{spec.model}: prompts are budgeted to {context:,} tokens "
        f"(capabilities.context_tokens); the first {purpose} prompt alone needs ~{needed:,}"
    )
    if context < needed:
        return Check(
            f"context ({role})",
            WARN,
            f"{what}: prompts will be cut. Start the server with a larger context (Ollama: "
            "num_ctx; local: capabilities.context_tokens) and set capabilities.context_tokens "
            "to match.",
        )
    return Check(
        f"context ({role})",
        OK,
        f"{what}. If the server's real context is smaller (Ollama's num_ctx), set "
        "capabilities.context_tokens to it, or prompts will be cut silently.",
    )


async def check_browser(settings: Settings) -> Check:
    """Find the web surfer's Chromium (configured, Playwright's, the system's) and start it."""
    from specialists.base import SpecialistConfigError
    from specialists.web_surfer import BrowserUnavailable, probe_browser

    try:
        probe = await probe_browser(settings.specialists.get("web_surfer", {}))
    except (BrowserUnavailable, SpecialistConfigError) as exc:
        return Check("browser", FAIL, str(exc))
    return Check(
        "browser",
        OK,
        f"Chromium {probe.version} at {probe.path} ({probe.source}), started in {probe.seconds}s",
    )


async def check_search(settings: Settings, environ: Mapping[str, str]) -> Check:
    from specialists.web_surfer.search import SearchError, SearchSettings
    from specialists.web_surfer.search.probe import check_search as probe_search

    raw = settings.specialists.get("web_surfer", {}).get("search", {})
    try:
        line = await probe_search(SearchSettings.model_validate(raw), environ)
    except (SearchError, ValueError) as exc:
        return Check("search", FAIL, str(exc))
    return Check("search", OK, line)


async def check_mcp_servers(settings: Settings) -> list[Check]:
    """Each configured MCP server (`specialists.mcp.servers`): started, and its tools listed."""
    raw = settings.specialists.get("mcp")
    if not raw:
        return []
    try:
        from specialists.mcp_tools import (
            McpConfigError,
            ServerFailed,
            connections_for,
            load_settings,
        )
    except ImportError:
        return [Check("mcp", FAIL, "specialists.mcp is set: pip install 'orchestrator[mcp]'")]
    try:
        connections = connections_for("mcp", load_settings(raw))
    except McpConfigError as exc:
        return [Check("mcp", FAIL, str(exc))]
    checks = []
    for connection in connections:
        name = f"mcp server {connection.name}"
        try:
            tools = await connection.tools()
        except ServerFailed as exc:
            checks.append(Check(name, FAIL, str(exc)))
            continue
        finally:
            await connection.close()
        listed = ", ".join(t.name + ("" if t.read_only else "*") for t in tools) or "no tools"
        checks.append(Check(name, OK, f"{len(tools)} tools (* may change things): {listed}"))
    return checks


async def run_checks(config: Path | None, environ: Mapping[str, str], console: Console) -> bool:
    checks: list[Check] = []
    try:
        settings, path = load_settings(config, environ)
        checks.append(
            Check(
                "config",
                OK,
                str(path) if path else "no config file; using defaults and environment",
            )
        )
    except OrchestratorError as exc:
        checks.append(Check("config", FAIL, str(exc)))
        settings = None
    if settings is not None:
        specs = {role: settings.model_for(role) for role in (ORCHESTRATOR_ROLE, *settings.team)}
        if specs[ORCHESTRATOR_ROLE] is None:
            checks.append(Check("model", FAIL, NO_MODEL_ADVICE))
        else:
            seen: set[str] = set()
            for role, spec in specs.items():
                if spec is not None and spec.model_dump_json() not in seen:
                    seen.add(spec.model_dump_json())
                    checker = check_local_model if spec.provider == "local" else check_model
                    checks.append(await checker(role, spec, environ))
                    checks.append(check_context(role, spec, settings))
        checks.append(await check_browser(settings))
        checks.append(await check_search(settings, environ))
        checks += await check_mcp_servers(settings)
    checks += await check_coder(settings or Settings())
    table = Table("", "check", "result", title="orchestrator doctor", show_lines=False)
    for check in checks:
        detail = "failed: see below" if check.outcome == FAIL else check.detail
        table.add_row(MARK[check.outcome], check.name, escape(detail))
    console.print(table)
    # Failures in full, unwrapped: an error naming file:line must stay one copyable line.
    for check in checks:
        if check.outcome == FAIL:
            console.print(f"{MARK[FAIL]} {check.name}: {escape(check.detail)}", soft_wrap=True)
    return all(c.outcome != FAIL for c in checks)
