"""The `mcp` specialist: tools of Model Context Protocol servers, chosen by its model.

`create(env)` is registered as the `mcp` entry point of `orchestrator.specialists`. A team
member named `mcp` uses every server in `specialists.mcp.servers`; `mcp:<server>` uses that
server alone, so several servers can be several named specialists.
"""

from __future__ import annotations

from specialists.base import Specialist, TeamEnv
from specialists.mcp_tools.connection import Connection, ServerFailed, ToolInfo
from specialists.mcp_tools.settings import McpConfigError, McpSettings, load_settings
from specialists.mcp_tools.specialist import McpSpecialist
from specialists.models.protocol import ModelConfigError

__all__ = [
    "Connection",
    "McpConfigError",
    "McpSettings",
    "McpSpecialist",
    "ServerFailed",
    "ToolInfo",
    "connections_for",
    "create",
    "load_settings",
]


def connections_for(name: str, settings: McpSettings) -> list[Connection]:
    """The servers a member named `name` uses: all of them, or `mcp:<server>`'s one."""
    _, _, server = name.partition(":")
    if not server:
        return [Connection(n, s) for n, s in settings.servers.items()]
    if server not in settings.servers:
        known = ", ".join(sorted(settings.servers))
        raise McpConfigError(f"specialists.mcp.servers has no server {server!r} (it has: {known})")
    return [Connection(server, settings.servers[server])]


def create(env: TeamEnv) -> Specialist:
    if env.model is None:
        raise ModelConfigError(
            f"the {env.name} specialist needs a model: set models.{env.name} or models.default "
            "in the config (or give the scenario a scripted model)"
        )
    try:
        import mcp  # noqa: F401
    except ImportError:
        raise McpConfigError(
            "the mcp specialist needs the MCP SDK: pip install 'orchestrator[mcp]'"
        ) from None
    settings = load_settings(env.settings)
    return McpSpecialist(env.name, env.model, settings, connections_for(env.name, settings))
