"""``slactl export``: minutes, incidents or credits of a month (or a range) as CSV, Parquet or XLSX."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from slactl.cli.app import ConfigOpt, app, cli_state, now_utc, out_dir
from slactl.redact import redact


class What(StrEnum):
    minutes = "minutes"
    incidents = "incidents"
    credits = "credits"


class Format(StrEnum):
    csv = "csv"
    parquet = "parquet"
    xlsx = "xlsx"


@app.command("export")
def export(
    ctx: typer.Context,
    what: Annotated[What, typer.Argument(help="minutes (per minute and series group), incidents, or credits.")],
    fmt: Annotated[Format, typer.Option("--format", help="csv, parquet or xlsx.")],
    out: Annotated[Path, out_dir("Folder for WHAT-YYYY-MM[--YYYY-MM].FORMAT.")],
    month: Annotated[
        str | None,
        typer.Option("--month", metavar="YYYY-MM", help="First (or only) calendar month YYYY-MM in the config's time zone."),
    ] = None,
    first: Annotated[
        str | None, typer.Option("--from", metavar="YYYY-MM", help="Another name for --month; give one of the two.")
    ] = None,
    to: Annotated[str | None, typer.Option("--to", metavar="YYYY-MM", help="Last month YYYY-MM of a range (inclusive).")] = None,
    config: ConfigOpt = None,
) -> None:
    """Write figures for pandas, spreadsheets and BI tools (needs the pandas extra)."""
    from slactl.app.export import month_range, pandas, run_export
    from slactl.errors import UsageError
    from slactl.store.sql import Store

    if month is not None and first is not None:
        raise UsageError(f"--month {month} and --from {first} both name the first month: give one of them")
    month = month if month is not None else first
    if month is None:
        raise UsageError("give the first (or only) month: --month YYYY-MM")
    month_range(month, to)  # bad months fail before the config or the store is touched
    pandas()
    cfg = cli_state(ctx).config(config)
    store = Store(cfg.store_url)
    try:
        result = run_export(cfg, store, what.value, month, to, fmt.value, out, now_utc())
    finally:
        store.close()
    for warning in result.warnings:
        typer.echo(redact(f"slactl: warning: {warning}"), err=True)
    typer.echo(str(result.path))
