"""The notebook API: ``slactl.open("slactl.yaml")`` and a month's figures as objects or DataFrames.

It runs the same pipeline as ``report`` and ``credits`` (pulling what the store
lacks) and keeps each month's typed figures, so ``.minutes()``, ``.incidents()``
and ``.credits()`` of one month are views of one computation, never a second one.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from slactl import runtime
from slactl.app.clock import pinned_now, wall_clock
from slactl.config import Config, find_config, load
from slactl.figures.customer import CreditsMonth
from slactl.figures.month import MonthReport

if TYPE_CHECKING:
    import pandas as pd

    from slactl.app.measure import ServiceMinutes
    from slactl.store.sql import Store


class Slactl:
    """One config and its store; figures are computed once per month and kept."""

    def __init__(self, config: Config, now: datetime | date | str | None = None) -> None:
        self.config = config
        # A pinned now: never ahead of the clock, else minutes not yet happened are stored as no data.
        self.now = None if now is None else pinned_now(now, "slactl.open(now=…)", config.zone)
        self._store: Store | None = None
        self._months: dict[str, tuple[MonthReport, dict[str, ServiceMinutes], dict[str, int]]] = {}
        self._credits: dict[str, CreditsMonth] = {}

    def _clock(self) -> datetime:
        return self.now or wall_clock()

    @property
    def store(self) -> Store:
        from slactl.store.sql import Store

        if self._store is None:
            self._store = Store(self.config.store_url)
        return self._store

    def _month(self, month: str) -> tuple[MonthReport, dict[str, ServiceMinutes], dict[str, int]]:
        from slactl.app.report import pull_and_measure

        if month not in self._months:
            self._months[month] = pull_and_measure(self.config, self.store, month, self._clock())
        return self._months[month]

    def figures(self, month: str) -> MonthReport:
        """The month's typed report figures (services, platform, history)."""
        return self._month(month)[0]

    def credit_figures(self, month: str) -> CreditsMonth:
        """The month's typed credits (every customer's minutes, working and statement data)."""
        from slactl.app.credits import compute_credits

        if month not in self._credits:
            result = compute_credits(self.config, self.store, month, self._clock(), computed=self._month(month))
            self._credits[month] = result.figures
        return self._credits[month]

    def minutes(self, month: str) -> pd.DataFrame:
        """One row per minute and series group (columns as ``slactl export minutes``)."""
        from slactl.app.export import minutes_frame

        figures, minutes, _ = self._month(month)
        return minutes_frame(self.config, figures, minutes)

    def incidents(self, month: str) -> pd.DataFrame:
        """One row per incident of every service and of the platform."""
        from slactl.app.export import incidents_frame

        return incidents_frame(self.figures(month))

    def credits(self, month: str) -> pd.DataFrame:
        """One row per customer: uptime, credit and statement number."""
        from slactl.app.export import credits_frame

        return credits_frame(self.credit_figures(month))

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    def __enter__(self) -> Slactl:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def open_config(path: str | Path | None = None, now: datetime | date | str | None = None) -> Slactl:
    """Load and validate a config (as the CLI finds it when ``path`` is None).

    ``now`` pins the clock: an aware datetime, a naive one or a date (midnight)
    in the config's ``timezone``, or ISO 8601 text of these.  It may not be
    ahead of the system clock (:class:`slactl.errors.UsageError`).

    The process gets the CLI's start-up settings (:func:`slactl.runtime.setup`),
    so pulls cost the same here; the collector is not frozen (a notebook's
    objects are not a command's, they come and go).
    """
    config = load(find_config(Path(path) if path is not None else None))
    runtime.setup(freeze=False)
    return Slactl(config, now)
