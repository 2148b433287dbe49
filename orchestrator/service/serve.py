"""`orchestrator serve`: the HTTP API on uvicorn, on 127.0.0.1 unless told otherwise."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from orchestrator.config import load_settings
from orchestrator.errors import OrchestratorError
from orchestrator.run_backends import RunBackend

TOKEN_ENV = "ORCHESTRATOR_TOKEN"
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def check_binding(host: str, token: str | None) -> None:
    if host not in LOCAL_HOSTS and not token:
        raise OrchestratorError(
            f"refusing to listen on {host} without a token: runs execute code and drive a "
            f"browser, so anyone who can reach the port could use them. Pass --token SECRET "
            f"or set {TOKEN_ENV}, or listen on 127.0.0.1 (the default)"
        )


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8321,
    token: Annotated[
        str | None,
        typer.Option(
            envvar=TOKEN_ENV,
            help=f"Bearer token required on /api (required off 127.0.0.1; env {TOKEN_ENV}).",
        ),
    ] = None,
    config: Annotated[Path | None, typer.Option("--config", "-c", help="Config file.")] = None,
    runs_dir: Annotated[Path | None, typer.Option(help="Where run directories go.")] = None,
    max_concurrent: Annotated[int, typer.Option(min=1, help="Runs executing at once.")] = 4,
    on_restart: Annotated[
        str,
        typer.Option(
            help="What to do at start with runs a previous server left unfinished: "
            "'resume' them, or 'interrupt' (mark them interrupted for a person to resume)."
        ),
    ] = "resume",
    max_body_mb: Annotated[float, typer.Option(help="Largest request body accepted.")] = 32.0,
    park_after: Annotated[
        float,
        typer.Option(
            min=0,
            help="Seconds a run may wait for an answer while holding its slot; then it is "
            "parked (stopped, checkpoint kept, state 'waiting') and resumed once answered. "
            "0: never park.",
        ),
    ] = 300.0,
    backend: Annotated[
        str,
        typer.Option(
            help="Where runs execute: 'local' (in this process) or 'ray' (Ray tasks on a "
            "cluster; the runs dir must be on a filesystem every node shares)."
        ),
    ] = "local",
    ray_address: Annotated[
        str | None,
        typer.Option(
            help="With --backend ray: the cluster, 'auto' or HOST:PORT or ray://HEAD:10001 "
            "(default: $RAY_ADDRESS, else start a local one)."
        ),
    ] = None,
) -> None:
    """Serve the HTTP API (OpenAPI at /openapi.json): submit runs, stream their events, answer
    the team's questions and approvals, cancel and resume."""
    import uvicorn

    from orchestrator.service.app import create_app
    from orchestrator.service.manager import RunManager

    errors = typer.echo
    try:
        check_binding(host, token)
        if on_restart not in ("resume", "interrupt"):
            raise OrchestratorError(f"--on-restart {on_restart!r}: choose 'resume' or 'interrupt'")
        if backend not in ("local", "ray"):
            raise OrchestratorError(f"--backend {backend!r}: choose 'local' or 'ray'")
        settings, _ = load_settings(config, os.environ)
        root = runs_dir or settings.runs_dir
        runs: RunBackend | None = None
        if backend == "ray":
            from orchestrator.ray_runs import RayRuns

            ray = RayRuns(address=ray_address, cpus=max_concurrent)
            ray.connect()  # before listening: a dead cluster is reported in seconds
            typer.echo(f"orchestrator: runs execute on {ray.where}")
            runs = ray
        manager = RunManager(
            settings,
            runs_dir=root,
            max_concurrent=max_concurrent,
            recover="resume" if on_restart == "resume" else "interrupt",
            backend=runs,
            park_after=park_after or None,
        )
    except OrchestratorError as exc:
        errors(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    app = create_app(manager, token=token, max_body=int(max_body_mb * 1024 * 1024))
    typer.echo(f"orchestrator: serving {root} on http://{host}:{port} (OpenAPI: /openapi.json)")
    uvicorn.run(app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=5)
