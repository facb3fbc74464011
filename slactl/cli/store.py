"""``slactl store forget``: drop stored minutes so the next run pulls them again from the source.

For repairs: a corrupt stored chunk, or minutes stored while a source was
misconfigured.  The schema itself needs no command: slactl migrates a store
whenever it opens one.
"""

from __future__ import annotations

from typing import Annotated

import typer

from slactl.cli.app import ConfigOpt, app, cli_state

store_app = typer.Typer(help="Repair the per-minute store.", no_args_is_help=True)
app.add_typer(store_app, name="store")


@store_app.command("forget")
def forget(
    ctx: typer.Context,
    service: Annotated[str, typer.Option("--service", help="The service whose minutes to drop.")],
    month: Annotated[str, typer.Option("--month", help="Calendar month YYYY-MM in the config's time zone.")],
    config: ConfigOpt = None,
) -> None:
    """Drop a service's stored minutes of a month (whole UTC days); the next report pulls them again."""
    from slactl.errors import UsageError
    from slactl.model import minute_to_iso
    from slactl.sli.period import month_period
    from slactl.store.sql import Store

    cfg = cli_state(ctx).config(config)
    if service not in cfg.services:
        raise UsageError(f"unknown service {service!r} (defined: {', '.join(cfg.services)})")
    period = month_period(month, cfg.timezone)
    store = Store(cfg.store_url)
    try:
        lo, hi = store.forget(service, period.start, period.end)
    finally:
        store.close()
    typer.echo(f"forgot service '{service}' from {minute_to_iso(lo)} to {minute_to_iso(hi)}; "
               "the next report or ingest pulls these minutes again")  # fmt: skip
