"""Commands of ``slactl alerts``: generate, test, backtest and push Prometheus rule files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from slactl.cli.app import ConfigOpt, MonthOpt, cli_state, now_utc, out_dir, out_file, sub_app
from slactl.redact import redact, remember_url

alerts_app = sub_app("alerts", "Prometheus alert rules: burn-rate alerts per service and the threshold pack.")


def _warn(warnings: list[str]) -> None:
    for w in warnings:
        typer.echo(redact(f"slactl: warning: {w}"), err=True)


@alerts_app.command("generate")
def generate(
    ctx: typer.Context,
    out: Annotated[Path, out_dir("Folder for *.rules.yml and their *.test.yml unit tests.")],
    config: ConfigOpt = None,
) -> None:
    """Write rule files Prometheus loads as they are, plus promtool unit tests for them."""
    from slactl.app import alerts

    generated = alerts.generate(cli_state(ctx).config(config))
    paths = alerts.write(generated, out)
    _warn(generated.warnings)
    for path in paths:
        typer.echo(str(path))


@alerts_app.command("test")
def test(
    ctx: typer.Context,
    folder: Annotated[
        Path | None,
        typer.Option(
            "--dir", metavar="DIR", help="Test the files in this folder (default: generate into a temporary one)."
        ),
    ] = None,
    config: ConfigOpt = None,
) -> None:
    """Run promtool check rules and promtool test rules on the generated files."""
    from slactl.app import alerts

    if folder is not None:
        outputs = alerts.check_folder(folder)
    else:
        outputs = alerts.check_generated(cli_state(ctx).config(config))
    for text in outputs:
        if text:
            typer.echo(text)


@alerts_app.command("backtest")
def backtest(
    ctx: typer.Context,
    month: MonthOpt,
    json_path: Annotated[
        Path | None, typer.Option("--json", metavar="FILE", help="Also write the result as JSON here.")
    ] = None,
    config: ConfigOpt = None,
) -> None:
    """Replay the month's history through the ErrorBudgetBurn alerts: when they fire, what they catch."""
    from slactl.app import alerts
    from slactl.cli.progress import ingest_progress
    from slactl.config import check_environment
    from slactl.publish.files import write_atomic
    from slactl.rules.backtest import table
    from slactl.store.sql import Store

    cfg = cli_state(ctx).config(config)
    check_environment(cfg)
    store = Store(cfg.store_url)
    try:
        with ingest_progress():
            result = alerts.backtest(cfg, store, month, now_utc())
    finally:
        store.close()
    if json_path is not None:
        write_atomic(json_path, (json.dumps(result, indent=2) + "\n").encode())
    typer.echo(table(result), nl=False)


@alerts_app.command("push")
def push(
    ctx: typer.Context,
    rules_dir: Annotated[
        Path, typer.Option("--rules-dir", metavar="DIR", help="The folder Prometheus' rule_files point into.")
    ],
    prometheus_url: Annotated[
        str | None,
        typer.Option("--prometheus-url", metavar="URL", help="Prometheus to reload (default: the config's first prometheus source)."),
    ] = None,
    config: ConfigOpt = None,
) -> None:
    """Install the rule files (only if promtool accepts them) and reload Prometheus."""
    from slactl.app import alerts

    cfg = cli_state(ctx).config(config)
    url = prometheus_url or alerts.default_prometheus(cfg)
    remember_url(url)
    for path in alerts.push(cfg, rules_dir, url):
        typer.echo(str(path))
    typer.echo(redact(f"reloaded {url}"))


silences_app = sub_app(
    "silences",
    "Alertmanager silences for the maintenance windows that have not ended.",
    alerts_app,
    invoke_without_command=True,
    no_args_is_help=False,
)


@silences_app.callback()
def silences(
    ctx: typer.Context,
    out: Annotated[Path | None, out_file("Write the silences (POST /api/v2/silences bodies) here as a JSON array.")] = None,
    config: ConfigOpt = None,
) -> None:
    """Write one silence per maintenance window and service (`--out FILE`), or push them (`push`)."""
    if ctx.invoked_subcommand is not None:
        return
    from slactl.app import silences as pipeline
    from slactl.errors import UsageError

    if out is None:
        raise UsageError("give --out FILE, or use `slactl alerts silences push --alertmanager URL`")
    bodies = pipeline.write(cli_state(ctx).config(config), out, now_utc())
    typer.echo(f"{out} ({len(bodies)} silences)")


@silences_app.command("push")
def silences_push(
    ctx: typer.Context,
    alertmanager: Annotated[str, typer.Option("--alertmanager", metavar="URL", help="Alertmanager base URL, e.g. http://127.0.0.1:9093.")],
    config: ConfigOpt = None,
    timeout: Annotated[
        float, typer.Option("--timeout", metavar="SECONDS", min=1, help="Seconds the whole push may take (each request at most 30).")
    ] = 120.0,
) -> None:
    """Create each silence in Alertmanager once: re-running creates no duplicate."""
    from slactl.app import silences as pipeline

    remember_url(alertmanager)
    result = pipeline.push(cli_state(ctx).config(config), alertmanager, now_utc(), timeout=timeout)
    typer.echo(redact(f"created {len(result.created)} silences, {result.kept} already present at {alertmanager}"))
