"""The typer application, its global options and the conventions every command shares.

Commands live in sibling modules (one per area) that register on :data:`app`;
:mod:`slactl.cli.main` imports them all and is the one error boundary.  Options
that several commands take are defined here once, so they read and behave the
same everywhere:

- ``--config PATH``, accepted before or after the subcommand;
- ``--month YYYY-MM``, a calendar month in the config's time zone;
- ``--out DIR`` for commands that write several files: a folder, created when
  missing, required (nothing lands in the current folder by surprise), and a
  clear usage error when it names an existing file;
- ``--out FILE`` for commands that write one file: refused when it is a folder.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from slactl import __version__
from slactl.errors import UsageError

if TYPE_CHECKING:  # the config models load pydantic: not needed for --help or --version
    from slactl.config import Config


def sub_app(name: str, help: str, parent: typer.Typer | None = None, **kwargs: Any) -> typer.Typer:
    """A command group with the house style: plain help text, help when called bare."""
    kwargs.setdefault("no_args_is_help", True)
    group = typer.Typer(help=help, rich_markup_mode=None, **kwargs)
    (parent or app).add_typer(group, name=name)
    return group


class _DefaultMonthly(typer.core.TyperGroup):
    """``slactl report --month …`` means ``slactl report monthly --month …``.

    Monthly is the only report today, so options given straight to ``report``
    go to it; ``report`` alone names the subcommand instead of a bare usage line.
    """

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if not args:
            raise UsageError("report: name the report: slactl report monthly --month YYYY-MM --out DIR")
        if args[0] not in self.commands and args[0] not in ctx.help_option_names:
            args = ["monthly", *args]
        return super().parse_args(ctx, args)


# Plain (not rich) help: flags show no "<bool>" placeholder and help stays readable in a pipe.
app = typer.Typer(
    name="slactl",
    help="SLA reporting: uptime, incidents, MTTR, error ratio and latency percentiles from your metrics.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
report_app = typer.Typer(
    help="Monthly SLA reports (`slactl report --month …` is short for `report monthly`).",
    cls=_DefaultMonthly,
    rich_markup_mode=None,
)
app.add_typer(report_app, name="report")

ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        metavar="PATH",
        help="Config file (default: $SLACTL_CONFIG, else ./slactl.yaml).",
        show_default=False,
    ),
]

MonthOpt = Annotated[
    str,
    typer.Option("--month", metavar="YYYY-MM", help="Calendar month in the config's time zone."),
]

TimeoutOpt = Annotated[
    float,
    typer.Option(
        "--timeout",
        metavar="SECONDS",
        min=1,
        help="Seconds the whole pull from the sources may take before giving up.",
    ),
]


def _out_dir(value: Path | None) -> Path | None:
    if value is not None and value.exists() and not value.is_dir():
        raise typer.BadParameter(f"{value} is a file; give a folder (it is created when missing)")
    return value


def _out_file(value: Path | None) -> Path | None:
    if value is not None and value.is_dir():
        raise typer.BadParameter(f"{value} is a folder; give a file name")
    return value


def out_dir(help: str) -> Any:
    """``--out DIR`` of a command that writes several files (required)."""
    return typer.Option("--out", metavar="DIR", help=help, callback=_out_dir, show_default=False)


def out_file(help: str) -> Any:
    """``--out FILE`` of a command that writes one file."""
    return typer.Option("--out", metavar="FILE", help=help, callback=_out_file, show_default=False)


@dataclass
class State:
    config_path: Path | None = None
    debug: bool = False
    loaded_from: str | None = None  # the file of the last loaded config, for error messages
    on_config: Callable[[], None] | None = None  # the entry point's: runs once a config is loaded

    def config(self, override: Path | None = None) -> Config:
        from slactl.config import find_config, load

        path = find_config(override or self.config_path)
        self.loaded_from = str(path)
        cfg = load(path)
        if self.on_config is not None:
            self.on_config()
        return cfg


def cli_state(ctx: typer.Context) -> State:
    root = ctx.find_root()
    if not isinstance(root.obj, State):
        root.obj = State()
    return root.obj


def now_utc() -> datetime:
    """The wall clock; ``SLACTL_NOW`` (ISO 8601, UTC without an offset) pins it for reproducible runs.

    A pinned time ahead of the system clock, or one that is not a time, is a
    usage error (exit 2): see :mod:`slactl.app.clock`.
    """
    from slactl.app.clock import pinned_now, wall_clock

    pinned = os.environ.get("SLACTL_NOW")
    if pinned:
        return pinned_now(pinned, "SLACTL_NOW", fix="give a time that has passed, or unset SLACTL_NOW to use the system clock")
    return wall_clock()


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
