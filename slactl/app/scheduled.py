"""What the scheduler's periodic jobs do, apart from when: ingest recent minutes, refresh the status page.

Kept out of :mod:`slactl.scheduler.service` so that module is only the timing (APScheduler)
and the leader lock; every function here takes ``now`` from the caller's clock.

A job's pull from the sources is bounded like a command's (``report --timeout``), by
``schedule.pull_timeout`` (:func:`bounded_pulls`): a server that trickles its answers
fails that run with one line instead of holding the one job thread, and with it
every later run, for good.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from slactl.app.ingest import ingest, last_settled_minute
from slactl.app.statuspage import build_site, publish_site
from slactl.config import Config
from slactl.model import minute_of
from slactl.sli.period import month_period
from slactl.sources.base import Injected
from slactl.store.sql import Store

LOOKBACK_MINUTES = 31 * 1440  # ingest always covers at least the last 31 days


@dataclass
class PageRefresh:
    where: str
    files: int
    warnings: list[str]


def bounded_pulls(cfg: Config, injected: Injected | None) -> Injected:
    """``injected`` with every pull bounded by ``schedule.pull_timeout``, unless it sets a bound itself."""
    base = injected or Injected()
    if base.timeout_seconds is not None:
        return base
    return replace(base, timeout_seconds=float(cfg.schedule.pull_seconds))


def ingest_window(cfg: Config, now: datetime) -> tuple[int, int]:
    """From this month's start in ``timezone`` or 31 days back, whichever is earlier, to the settled minute."""
    local = now.astimezone(cfg.zone)
    month_start = month_period(f"{local.year:04d}-{local.month:02d}", cfg.timezone).start
    return min(month_start, minute_of(now) - LOOKBACK_MINUTES), last_settled_minute(now)


def ingest_recent(cfg: Config, store: Store, now: datetime, injected: Injected | None = None) -> dict[str, int]:
    """Pull what the store lacks of the ingest window; minutes pulled per service."""
    start, end = ingest_window(cfg, now)
    return ingest(cfg, store, start, end, now, injected=injected)


def refresh_status_page(
    cfg: Config, store: Store, now: datetime, injected: Injected | None = None, *, s3_client: Any = None
) -> PageRefresh:
    """Build the page as of ``now`` and publish it to ``publish.status_page``."""
    files, warnings = build_site(cfg, store, now, now, injected)
    where = publish_site(cfg, files, s3_client=s3_client)
    return PageRefresh(where, len(files), warnings)
