"""The typer application, its global options and what every command shares.

Commands live in sibling modules (one per area) that register on :data:`app`;
:mod:`slactl.cli.main` imports them all and is the one error boundary.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from slactl import __version__
from slactl.config import Config, find_config, load

app = typer.Typer(
    name="slactl",
    help="SLA reporting: uptime, incidents, MTTR, error ratio and latency percentiles from your metrics.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
report_app = typer.Typer(help="Monthly SLA reports.", no_args_is_help=True)
app.add_typer(report_app, name="report")

ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="Config file (default: $SLACTL_CONFIG, else ./slactl.yaml).", show_default=False),
]


@dataclass
class State:
    config_path: Path | None = None
    debug: bool = False

    def config(self, override: Path | None = None) -> Config:
        return load(find_config(override or self.config_path))


def cli_state(ctx: typer.Context) -> State:
    root = ctx.find_root()
    if not isinstance(root.obj, State):
        root.obj = State()
    return root.obj


def now_utc() -> datetime:
    """The wall clock; ``SLACTL_NOW`` (ISO 8601) pins it for reproducible runs."""
    pinned = os.environ.get("SLACTL_NOW")
    if pinned:
        dt = datetime.fromisoformat(pinned.replace("Z", "+00:00"))
        return dt if dt.tzinfo else dt.replace(tzinfo=UTC)
    return datetime.now(UTC)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"slactl {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    config: ConfigOpt = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks of errors.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    state = cli_state(ctx)
    state.config_path = config
    state.debug = debug
