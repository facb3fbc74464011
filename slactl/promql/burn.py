"""The burn-rate table: windows, factors and exact thresholds of ``ErrorBudgetBurn``.

The table is the Google SRE Workbook's for a 30-day budget: a burn-rate factor
``f`` over a long window means ``f × window / 30 d`` of the budget is gone; the
short window (1/12 of the long one) makes the alert stop soon after the burn
stops.  Threshold = ``f × (100 − objective) / 100`` as an exact decimal.

=========  ===========  =============  ======  =========
severity   long window  short window   factor  ``for:``
=========  ===========  =============  ======  =========
page       1h           5m             14.4    2m
page       6h           30m            6       15m
ticket     1d           2h             3       1h
ticket     3d           6h             1       3h
=========  ===========  =============  ======  =========

``for:`` is about half the short window: a single evaluation in which both
windows cross (one scrape glitch) does not page, and a burst still fires while
the short window holds it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

from slactl.durations import seconds  # noqa: F401  (re-exported: the one duration parser)
from slactl.promql.numbers import budget

PERIOD_DAYS = 30  # the budget period of the SRE Workbook's table
BUDGET_MINUTES = PERIOD_DAYS * 1440
WINDOWS = ("5m", "30m", "1h", "2h", "6h", "1d", "3d")

@dataclass(frozen=True)
class BurnAlert:
    """One row of the multi-window table."""

    severity: str
    long: str
    short: str
    factor: Decimal
    hold: str  # the ``for:`` duration

    @property
    def key(self) -> str:
        return f"{self.long}/{self.short}"


BURN_ALERTS: tuple[BurnAlert, ...] = (
    BurnAlert("page", "1h", "5m", Decimal("14.4"), "2m"),
    BurnAlert("page", "6h", "30m", Decimal("6"), "15m"),
    BurnAlert("ticket", "1d", "2h", Decimal("3"), "1h"),
    BurnAlert("ticket", "3d", "6h", Decimal("1"), "3h"),
)


def table(hold: dict[str, str] | None = None) -> tuple[BurnAlert, ...]:
    """The table, with ``for:`` replaced per ``long/short`` key (tests shorten it)."""
    if not hold:
        return BURN_ALERTS
    return tuple(replace(a, hold=hold.get(a.key, a.hold)) for a in BURN_ALERTS)


def severity_windows(severity: str) -> tuple[BurnAlert, ...]:
    return tuple(a for a in BURN_ALERTS if a.severity == severity)


def threshold(objective: float, alert: BurnAlert) -> Decimal:
    """The share (of minutes or requests) above which ``alert``'s windows burn too fast."""
    return alert.factor * budget(objective)
