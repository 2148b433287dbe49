"""An MCP server of our own for the fault cases, run as `python mcp_faulty.py [MODE]`.

Modes: `serve` (default) offers tools that misbehave when called — `crash` exits the
process, `hang` never answers, `huge` returns a megabyte, `echo` answers properly;
`garbage` answers every request with lines that are not JSON-RPC; `silent` never answers
the handshake.
"""

from __future__ import annotations

import os
import sys
import time

from mcp.server.mcpserver import MCPServer

HUGE_CHARS = 1_000_000


def serve() -> None:
    server = MCPServer("faulty")

    @server.tool(description="Echo the text back.")
    def echo(text: str) -> str:
        return f"echo: {text}"

    @server.tool(description="Exit the server process mid-call.")
    def crash() -> str:
        os.write(2, b"faulty server: crashing on purpose\n")
        os._exit(3)

    @server.tool(description="Never answer.")
    def hang() -> str:
        time.sleep(3600)
        return "late"

    @server.tool(description="Return a megabyte of text.")
    def huge() -> str:
        return "x" * HUGE_CHARS + " END-OF-HUGE"

    server.run("stdio")


def garbage() -> None:
    for _line in sys.stdin:
        sys.stdout.write("this is not json-rpc {{{\n")
        sys.stdout.flush()


def silent() -> None:
    time.sleep(3600)


if __name__ == "__main__":
    {"serve": serve, "garbage": garbage, "silent": silent}[
        sys.argv[1] if len(sys.argv) > 1 else "serve"
    ]()
