"""Commands of the core: ``validate``, ``report monthly`` and ``demo``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from slactl.cli.app import ConfigOpt, app, cli_state, now_utc, report_app

TimeoutOpt = Annotated[
    float,
    typer.Option("--timeout", min=1, help="Seconds the whole pull from the sources may take before giving up."),
]


def _monthly(
    ctx: typer.Context, config: Path | None, run: Callable[..., Any], month: str, out: Path, timeout: float
) -> None:
    """Run a month's pipeline step over the store; print warnings on stderr and files on stdout."""
    from slactl.sources.base import Injected
    from slactl.store.sql import Store

    cfg = cli_state(ctx).config(config)
    store = Store(cfg.store_url)
    try:
        result = run(cfg, store, month, out, now_utc(), Injected(timeout_seconds=timeout))
    finally:
        store.close()
    for warning in result.warnings:
        typer.echo(f"slactl: warning: {warning}", err=True)
    for path in result.files:
        typer.echo(str(path))


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
    out: Annotated[Path, typer.Option("--out", help="Folder for report-YYYY-MM.json, .html and .md.")] = Path("."),
    config: ConfigOpt = None,
    timeout: TimeoutOpt = 300.0,
) -> None:
    """Compute a month's figures (pulling what the store lacks) and write the report."""
    from slactl.pipeline.monthly import report_monthly as run

    _monthly(ctx, config, run, month, out, timeout)


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
    out: Annotated[Path, typer.Option("--out", help="Folder for credits-YYYY-MM.json/.csv and statements/.")] = Path(
        "."
    ),
    config: ConfigOpt = None,
    timeout: TimeoutOpt = 300.0,
) -> None:
    """Customer SLA credits for a month: JSON, a CSV ledger and one statement per customer."""
    from slactl.pipeline.credits import run_credits

    _monthly(ctx, config, run_credits, month, out, timeout)
