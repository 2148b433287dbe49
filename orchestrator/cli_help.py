"""Help that follows click's conventions: `-h`, `--version`, plain metavars.

Typer's rich help labels every parameter with its Python type (`<bool>` on a flag,
`<list[Path]>`, `<int range>`). People expect click's labels instead: nothing after a flag,
`INTEGER`, `PATH`, an argument's own name. `conventional_help` sets them on the whole
command tree once, so every command (ours, eval's, index's) reads the same.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Any

import typer

HELP_NAMES = ["-h", "--help"]


def package_version() -> str:
    try:
        return version("orchestrator")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"orchestrator {package_version()}")
        raise typer.Exit()


def version_option() -> Any:
    return typer.Option(
        "--version",
        "-V",
        help="Show the version and exit.",
        callback=_print_version,
        is_eager=True,
    )


def conventional_help(command: Any) -> Any:
    """`command` (typer's click-like command) and its subcommands with `-h` and plain
    metavars. Typer's parameter classes are duck-typed here: they are not click's."""
    command.context_settings.setdefault("help_option_names", HELP_NAMES)
    # The help option is made on demand, per context; make (and cache) it now to label it.
    context = command.context_class(command, help_option_names=HELP_NAMES)
    help_option = command.get_help_option(context)
    for param in [*command.params, *([help_option] if help_option else [])]:
        if param.metavar is None:
            param.metavar = _metavar(param)
        if param.param_type_name == "argument":
            param.display_type_rich = _no_type  # its name says what it is
    for sub in getattr(command, "commands", {}).values():
        conventional_help(sub)
    return command


def _no_type(ctx: Any) -> None:
    return None


def _metavar(param: Any) -> str:
    if param.param_type_name == "argument":
        return str(param.name or "value").upper()
    if getattr(param, "is_flag", False) or param.param_type_name != "option":
        return ""
    kind = getattr(param, "type_descriptor", None)
    annotation = getattr(kind, "annotation", None)
    if kind is None:
        return "TEXT"
    if kind.is_choice:
        return "[" + "|".join(map(str, kind.choices or ())) + "]"
    if kind.is_path:
        return "PATH"
    if annotation is int:
        return "INTEGER"
    if annotation is float:
        return "NUMBER"
    return "TEXT"
