"""Commands of the core: ``validate``, ``report monthly`` and ``demo``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from slactl.cli.app import ConfigOpt, app, cli_state, now_utc, report_app
from slactl.redact import redact

PublishOpt = Annotated[
    bool,
    typer.Option("--publish", help="Write to publish.reports (a folder, or S3 under PREFIX/YYYY-MM/) as the monthly close does."),
]


def _monthly(
    ctx: typer.Context, config: Path | None, run: Callable[..., Any], month: str, out: Path | None, publish: bool
) -> None:
    """Run a month's pipeline step over the store; print warnings on stderr and files on stdout."""
    from slactl.errors import UsageError
    from slactl.pipeline.close import publish_reports
    from slactl.store.sql import Store

    if publish and out is not None:
        raise UsageError("give --out DIR or --publish, not both")
    cfg = cli_state(ctx).config(config)
    store = Store(cfg.store_url)
    try:
        now = now_utc()
        if publish:

            def produce(folder: Path) -> tuple[list[Path], list[str]]:
                result = run(cfg, store, month, folder, now)
                return result.files, result.warnings

            done = publish_reports(cfg, month, produce, whole_month=False)
            files, warnings = done.files, done.warnings
        else:
            result = run(cfg, store, month, out or Path("."), now)
            files, warnings = [str(p) for p in result.files], result.warnings
    finally:
        store.close()
    for warning in warnings:
        typer.echo(redact(f"slactl: warning: {warning}"), err=True)
    for path in files:
        typer.echo(path)


@app.command()
def validate(ctx: typer.Context, config: ConfigOpt = None) -> None:
    """Check the config: keys, references and every selector's PromQL syntax."""
    cfg = cli_state(ctx).config(config)
    typer.echo(
        f"{cfg.source_file}: ok ({len(cfg.services)} services, {len(cfg.sources)} sources, "
        f"{len(cfg.customers)} customers)"
    )


@report_app.command("monthly")
def report_monthly(
    ctx: typer.Context,
    month: Annotated[str, typer.Option("--month", help="Calendar month YYYY-MM in the config's time zone.")],
    out: Annotated[
        Path | None, typer.Option("--out", help="Folder for report-YYYY-MM.json, .html and .md (default: .).")
    ] = None,
    publish: PublishOpt = False,
    config: ConfigOpt = None,
) -> None:
    """Compute a month's figures (pulling what the store lacks) and write the report."""
    from slactl.pipeline.monthly import report_monthly as run

    _monthly(ctx, config, run, month, out, publish)


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


@app.command()
def credits(
    ctx: typer.Context,
    month: Annotated[str, typer.Option("--month", help="Calendar month YYYY-MM in the config's time zone.")],
    out: Annotated[
        Path | None, typer.Option("--out", help="Folder for credits-YYYY-MM.json/.csv and statements/ (default: .).")
    ] = None,
    publish: PublishOpt = False,
    date: Annotated[
        str | None,
        typer.Option("--date", help="Statement date YYYY-MM-DD (default: the first day after the month)."),
    ] = None,
    config: ConfigOpt = None,
) -> None:
    """Customer SLA credits for a month: JSON, a CSV ledger and one statement per customer."""
    from functools import partial

    from slactl.pipeline.credits import parse_statement_date, run_credits

    _monthly(ctx, config, partial(run_credits, statement_date=parse_statement_date(date)), month, out, publish)
