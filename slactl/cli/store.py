"""``slactl store forget``: drop stored minutes so the next run pulls them again from the source.

For repairs: a corrupt stored chunk, or minutes stored while a source was
misconfigured.  A month that has not begun is refused: nothing of it can be
stored, and a typo in ``--month`` should not look like a repair that worked.  The schema itself needs no command: slactl migrates a store
whenever it opens one.
"""

from __future__ import annotations

from typing import Annotated

import typer

from slactl.cli.app import ConfigOpt, MonthOpt, cli_state, now_utc, sub_app

store_app = sub_app("store", "Repair the per-minute store.")


@store_app.command("forget")
def forget(
    ctx: typer.Context,
    service: Annotated[str, typer.Option("--service", metavar="NAME", help="The service whose minutes to drop.")],
    month: MonthOpt,
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
    if period.start * 60 >= now_utc().timestamp():
        raise UsageError(
            f"--month {period.month} has not begun in {cfg.timezone} (it starts {minute_to_iso(period.start)}): "
            "nothing of it is stored, so there is nothing to forget"
        )
    store = Store(cfg.store_url)
    try:
        lo, hi = store.forget(service, period.start, period.end)
    finally:
        store.close()
    typer.echo(f"forgot service '{service}' from {minute_to_iso(lo)} to {minute_to_iso(hi)}; "
               "the next report or ingest pulls these minutes again")  # fmt: skip
