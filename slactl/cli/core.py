"""Commands of the core: ``validate``, ``report monthly``, ``credits`` and ``demo``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from slactl.app.summary import count
from slactl.cli.app import (
    ConfigOpt,
    MonthOpt,
    TimeoutOpt,
    app,
    cli_state,
    now_utc,
    out_dir,
    report_app,
)
from slactl.cli.progress import ingest_progress
from slactl.redact import redact

if TYPE_CHECKING:
    from datetime import date

    from slactl.config import Config

PublishOpt = Annotated[
    bool,
    typer.Option("--publish", help="Write to publish.reports (a folder, or S3 under PREFIX/YYYY-MM/) as the monthly close does."),
]


def _monthly(
    ctx: typer.Context,
    config: Path | None,
    run: Callable[..., Any],
    month: str,
    out: Path | None,
    publish: bool = False,
    timeout: float | None = None,
    check: Callable[[Config], None] | None = None,
) -> Any:
    """Run a month's pipeline step over the store; warnings on stderr, files on stdout.

    With ``--publish`` the files go to ``publish.reports`` as the monthly close sends them.
    ``timeout`` bounds the whole pull from the sources (``--timeout``); ``check``
    refuses arguments that need the config, before the store is opened.
    """
    from slactl.app.close import publish_reports
    from slactl.config import check_environment
    from slactl.errors import UsageError
    from slactl.sources.base import Injected
    from slactl.store.sql import Store

    if publish and out is not None:
        raise UsageError("give --out DIR or --publish, not both")
    if not publish and out is None:
        raise typer.BadParameter("required unless --publish is given", ctx=ctx, param_hint="'--out'")
    cfg = cli_state(ctx).config(config)
    if check is not None:
        check(cfg)
    check_environment(cfg)  # before the store exists: a missing secret leaves no empty store behind
    now = now_utc()  # a SLACTL_NOW ahead of the clock is refused before the store exists, too
    store = Store(cfg.store_url)
    results: list[Any] = []
    try:
        injected = Injected() if timeout is None else Injected(timeout_seconds=timeout)
        with ingest_progress():
            if publish:

                def produce(folder: Path) -> tuple[list[Path], list[str]]:
                    results.append(run(cfg, store, month, folder, now, injected))
                    return results[-1].files, results[-1].warnings

                done = publish_reports(cfg, month, produce, whole_month=False)
                files, warnings = [str(f) for f in done.files], done.warnings
            else:
                results.append(run(cfg, store, month, out, now, injected))
                files, warnings = [str(p) for p in results[-1].files], results[-1].warnings
    finally:
        store.close()
    for warning in warnings:
        typer.echo(redact(f"slactl: warning: {warning}"), err=True)
    for path in files:
        typer.echo(path)
    return results[-1]


@app.command()
def validate(ctx: typer.Context, config: ConfigOpt = None) -> None:
    """Check the config: keys, values, references and every selector's PromQL syntax."""
    from slactl.config import environment_problems

    cfg = cli_state(ctx).config(config)
    for problem in environment_problems(cfg):
        typer.echo(f"slactl: warning: {problem}", err=True)
    typer.echo(
        f"{cfg.source_file}: ok ({count(len(cfg.services), 'service')}, "
        f"{count(len(cfg.sources), 'source')}, {count(len(cfg.customers), 'customer')})"
    )


@report_app.command("monthly")
def report_monthly(
    ctx: typer.Context,
    month: MonthOpt,
    out: Annotated[Path | None, out_dir("Folder for report-YYYY-MM.json, .html, .md and .pdf; required unless --publish.")] = None,
    publish: PublishOpt = False,
    config: ConfigOpt = None,
    timeout: TimeoutOpt = 300.0,
) -> None:
    """Compute a month's figures (pulling what the store lacks) and write the report."""
    from slactl.app.report import report_monthly as run
    from slactl.app.summary import report_summary

    result = _monthly(ctx, config, run, month, out, publish, timeout)
    typer.echo(report_summary(result.report, result.pulled))


def _check_statement_date(cfg: Config, month: str, day: date) -> None:
    """``credits --date``: not before the month has ended, and disputable within the calendar.

    A statement dated inside its month would state a credit for minutes not yet
    measured; ``claim_days`` after the date must still be a date (year 9999 at most).
    """
    import datetime as dt

    from slactl.app.credits import first_day_after
    from slactl.errors import UsageError
    from slactl.sli.period import month_period

    period = month_period(month, cfg.timezone)
    first = first_day_after(period)
    if day < first:
        raise UsageError(
            f"--date {day.isoformat()}: {period.month} ends on {first.isoformat()} (00:00 in "
            f"{cfg.timezone}); date its statements on or after that day (the default)"
        )
    claim = cfg.company.claim_days
    last = dt.date.max.toordinal() - claim
    if day.toordinal() > last:
        raise UsageError(
            f"--date {day.isoformat()}: its statements could be disputed until {claim} days later "
            f"(company.claim_days), past {dt.date.max.isoformat()}; give a date up to {dt.date.fromordinal(last).isoformat()}"
        )


@app.command()
def credits(
    ctx: typer.Context,
    month: MonthOpt,
    out: Annotated[Path | None, out_dir("Folder for credits-YYYY-MM.json/.csv and statements/; required unless --publish.")] = None,
    publish: PublishOpt = False,
    date: Annotated[
        str | None,
        typer.Option("--date", metavar="YYYY-MM-DD", help="Statement date (default: the first day after the month)."),
    ] = None,
    config: ConfigOpt = None,
    timeout: TimeoutOpt = 300.0,
) -> None:
    """Customer SLA credits for a month: JSON, a CSV ledger and one statement per customer."""
    from functools import partial

    from slactl.app.credits import parse_statement_date, run_credits
    from slactl.app.summary import credits_summary

    statement_date = parse_statement_date(date)
    run = partial(run_credits, statement_date=statement_date)
    check = None if statement_date is None else partial(_check_statement_date, month=month, day=statement_date)
    result = _monthly(ctx, config, run, month, out, publish, timeout, check)
    typer.echo(credits_summary(result.doc, result.pulled))


@app.command()
def demo(
    ctx: typer.Context,
    out: Annotated[Path, out_dir("Folder for the demo's config, store and artefacts.")],
    month: Annotated[str, typer.Option("--month", metavar="YYYY-MM", help="Month to generate.")] = "2026-01",
    seed: Annotated[int, typer.Option("--seed", metavar="N", help="Seed of the generated data.")] = 42,
) -> None:
    """A complete example on built-in sample data: no server needed."""
    from slactl.app.demo import run_demo

    for line in run_demo(out, month=month, seed=seed, now=now_utc()):
        typer.echo(line)
