"""The ``slactl`` command line: thin commands over the pipeline, one error boundary.

:func:`main` is the only place where errors become exit codes and one-line
messages (0 done, 1 could not finish, 2 bad usage or configuration); a
traceback reaches the user only with ``--debug``.
"""

from __future__ import annotations

import os
import sys
import traceback
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from typer.exceptions import Abort, Exit, TyperException

from slactl import __version__
from slactl.config import Config, find_config, load
from slactl.errors import SlactlError

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


def _state(ctx: typer.Context) -> State:
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
    state = _state(ctx)
    state.config_path = config
    state.debug = debug


@app.command()
def validate(ctx: typer.Context, config: ConfigOpt = None) -> None:
    """Check the config: keys, references and every selector's PromQL syntax."""
    cfg = _state(ctx).config(config)
    typer.echo(
        f"{cfg.source_file}: ok ({len(cfg.services)} services, {len(cfg.sources)} sources, "
        f"{len(cfg.customers)} customers)"
    )


@report_app.command("monthly")
def report_monthly(
    ctx: typer.Context,
    month: Annotated[str, typer.Option("--month", help="Calendar month YYYY-MM in the config's time zone.")],
    out: Annotated[Path, typer.Option("--out", help="Folder for report-YYYY-MM.json, .html and .md.")] = Path("."),
    config: ConfigOpt = None,
) -> None:
    """Compute a month's figures (pulling what the store lacks) and write the report."""
    from slactl.pipeline.monthly import report_monthly as run
    from slactl.store.sql import Store

    cfg = _state(ctx).config(config)
    store = Store(cfg.store_url)
    try:
        result = run(cfg, store, month, out, now_utc())
    finally:
        store.close()
    for warning in result.warnings:
        typer.echo(f"slactl: warning: {warning}", err=True)
    for path in result.files:
        typer.echo(str(path))


@app.command()
def demo(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("--out", help="Folder for the demo's config, store and artefacts.")] = Path(
        "demo-out"
    ),
    month: Annotated[str, typer.Option("--month", help="Month to generate (YYYY-MM).")] = "2026-01",
    seed: Annotated[int, typer.Option("--seed", help="Seed of the generated data.")] = 42,
) -> None:
    """A complete example on built-in sample data: no server needed."""
    from slactl.pipeline.demo import run_demo

    for line in run_demo(out, month=month, seed=seed, now=now_utc()):
        typer.echo(line)


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the command, turning errors into exit codes and one-line messages."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args or os.environ.get("SLACTL_DEBUG") == "1"
    command = typer.main.get_command(app)
    try:
        command.main(args=args, prog_name="slactl", standalone_mode=False)
        return 0
    except Exit as exc:
        return exc.exit_code
    except Abort:
        print("slactl: aborted", file=sys.stderr)
        return 130
    except TyperException as exc:
        print(f"slactl: {exc.format_message()}", file=sys.stderr)
        return 2
    except SlactlError as exc:
        if debug:
            traceback.print_exc()
        print(f"slactl: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("slactl: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: still one line unless --debug
        if debug:
            traceback.print_exc()
        print(f"slactl: internal error: {type(exc).__name__}: {exc} (run with --debug for details)", file=sys.stderr)
        return 1
