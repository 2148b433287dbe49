"""An MCP server of our own for the fault cases, run as `python mcp_faulty.py [MODE]`.

Modes: `serve` (default) offers tools that misbehave when called — `crash` exits the
process, `hang` never answers, `huge` returns a megabyte, `echo` answers properly;
`garbage` answers every request with lines that are not JSON-RPC; `silent` never answers
the handshake; `http PORT` serves the tools over streamable HTTP on 127.0.0.1:PORT.
"""

from __future__ import annotations

import os
import sys
import time

from mcp.server.mcpserver import MCPServer

HUGE_CHARS = 1_000_000


def serve(http_port: int | None = None) -> None:
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

    if http_port is None:
        server.run("stdio")
    else:
        server.run("streamable-http", host="127.0.0.1", port=http_port)


def garbage() -> None:
    for _line in sys.stdin:
        sys.stdout.write("this is not json-rpc {{{\n")
        sys.stdout.flush()


def silent() -> None:
    time.sleep(3600)


if __name__ == "__main__":
    mode = sys.argv[1] if len(sys.argv) > 1 else "serve"
    if mode == "http":
        serve(int(sys.argv[2]))
    else:
        {"serve": serve, "garbage": garbage, "silent": silent}[mode]()
