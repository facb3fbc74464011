"""PromQL of the SLA dashboard panels, on the minute-state recording rules the alert rules record.

Conventions:

- The SLO panels read ``service:slactl_minute_down:state`` and the
  ``service:slactl_down_minutes:ratio_rate<window>`` shares that ``slactl alerts
  generate`` writes, so a dashboard's uptime, down minutes and burn rates are the
  alerts' own figures (load the rule files into the Prometheus Grafana reads).
  Request and latency panels read the raw selectors.
- "This month" is the dashboard's time range: SLA dashboards open on Grafana's
  *This month so far* and month-to-date figures use ``[$__range]``.
  Maintenance minutes have no state, as in the report.
- The error budget is a 30-day budget of ``100 − objective`` percent, the one the
  burn-rate alerts use, so a burn rate of 1 spends it in 30 days.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal

from slactl.config import Config, Service, percentile_q
from slactl.promql import exprs
from slactl.promql.burn import BUDGET_MINUTES, BURN_ALERTS
from slactl.promql.numbers import budget, clean, dec, exact, one_line

# The windows of the ErrorBudgetBurn alerts: (long, short, factor).
PAGE_WINDOWS = tuple((a.long, a.short, clean(a.factor)) for a in BURN_ALERTS if a.severity == "page")
TICKET_WINDOWS = tuple((a.long, a.short, clean(a.factor)) for a in BURN_ALERTS if a.severity == "ticket")


def string(text: str) -> str:
    """A PromQL string literal (JSON escapes are valid Go, hence PromQL, escapes)."""
    return json.dumps(text)


def percentiles(cfg: Config) -> list[tuple[str, float, float | None]]:
    """``(key, q, target)`` for P50/P95/P99 and every configured target, by rank."""
    keys = {"p50", "p95", "p99", *cfg.latency_targets_seconds}
    rows = [(k, percentile_q(k), cfg.latency_targets_seconds.get(k)) for k in keys]
    return sorted(rows, key=lambda r: r[1])


def tier_targets(cfg: Config) -> str:
    """The tiers' uptime targets as one vector labelled ``tier``."""
    parts = [
        f'label_replace(vector({exact(dec(t.uptime_target))}), "tier", {string(name)}, "", "")'
        for name, t in cfg.tiers.items()
    ]
    return " or ".join(parts)


def _agg(by: tuple[str, ...]) -> str:
    return f"sum by ({', '.join(by)}) " if by else "sum"


@dataclass(frozen=True)
class ServiceQueries:
    """Every SLA expression of one service whose selectors are PromQL."""

    name: str
    service: Service
    objective: float  # percent

    @classmethod
    def of(cls, cfg: Config, name: str) -> ServiceQueries:
        return cls(name, cfg.services[name], cfg.objective_for(name))

    @property
    def kind(self) -> str:
        return self.service.availability.kind

    @property
    def budget_fraction(self) -> Decimal:
        return budget(self.objective)

    @property
    def budget(self) -> float:
        return clean(self.budget_fraction)

    @property
    def budget_minutes(self) -> float:
        """The 30-day budget in minutes, exact (``4.32``, not ``4.3200000000000003``)."""
        return clean(self.budget_fraction * BUDGET_MINUTES)

    def _sel(self, form: str) -> str:
        value = getattr(self.service.availability, form)
        assert isinstance(value, str), f"{self.name}: {form} is not a PromQL selector"
        return value

    @property
    def histogram(self) -> str | None:
        lat = self.service.latency
        return lat.histogram if lat is not None else None

    @property
    def group_by(self) -> tuple[str, ...]:
        return tuple(self.service.group_by)

    # ----------------------------------------------------------------- requests

    def total(self, fn: str, window: str, by: tuple[str, ...] = ()) -> str:
        return f"{_agg(by)}({fn}({self._sel('total')}[{window}]))"

    def errors(self, fn: str, window: str, by: tuple[str, ...] = ()) -> str:
        """Errors, zero (not absent) where a total exists without any error series."""
        return f"({_agg(by)}({fn}({self._sel('errors')}[{window}])) or 0 * {self.total(fn, window, by)})"

    def error_ratio(self, window: str, fn: str = "rate", by: tuple[str, ...] = ()) -> str:
        """The room's error ratio: no sample (not NaN) without traffic."""
        return one_line(exprs.error_ratio(self.service, window, fn, by))

    def good_ratio(self, window: str, by: tuple[str, ...] = ()) -> str:
        """The SLI: share of good requests (ratio) or mean probe success (probe)."""
        if self.kind == "probe":
            agg = f"avg by ({', '.join(by)}) " if by else "avg"
            return f"{agg}(avg_over_time({self._sel('probe')}[{window}]))"
        return f"1 - ({self.error_ratio(window, by=by)})"

    # ----------------------------------------------------------------- minutes

    def down_minute(self) -> str:
        """The recorded minute state: 1 down, 0 up, nothing without data."""
        return f"{exprs.STATE_RECORD}{exprs.service_selector(self.name)}"

    def uptime_percent(self, window: str = "$__range") -> str:
        """Share of up minutes among the minutes with a state."""
        return f"100 * (1 - avg_over_time({self.down_minute()}[{window}]))"

    def down_minutes(self, window: str = "$__range") -> str:
        return f"sum_over_time({self.down_minute()}[{window}])"

    def budget_left(self) -> str:
        """Share of the 30-day error budget not yet spent by the range's down minutes."""
        return f"1 - {self.down_minutes()} / {exact(self.budget_fraction * BUDGET_MINUTES)}"

    def in_range(self) -> str:
        """The minute states as a 1m subquery sees them, from the range's first minute on.

        A subquery step at ``t`` reads the last state recorded at or before ``t``; from
        ``$__from + 60 s`` on that state's minute ends inside the range, so earlier
        steps are dropped.
        """
        return f"({self.down_minute()} and on() (vector(time()) >= $__from / 1000 + 60))"

    def budget_burndown(self) -> str:
        """Budget left at each moment, counting down minutes from the range's start."""
        return (
            f"1 - sum_over_time({self.in_range()}[$__range:1m]) / "
            f"{exact(self.budget_fraction * BUDGET_MINUTES)}"
        )

    def burn_rate(self, window: str) -> str:
        """How fast the 30-day budget burns over a burn window: 1 spends it exactly in 30 days."""
        share = f"{exprs.down_share_record(window)}{exprs.service_selector(self.name)}"
        return f"{share} / {exact(self.budget_fraction)}"

    def incidents(self) -> str:
        """Runs of down minutes in the range, as the report counts them (clipped to the range).

        A run counts at its first down minute: a down minute with no down minute among
        the ``incident_merge_gap_minutes + 1`` before it.  Only minutes inside the range
        are looked at, so a run already under way when the range starts counts at the
        range's first minute (a plain up→down count misses it).
        """
        gap = self.service.incident_merge_gap_minutes
        before = f"max_over_time({self.in_range()}[{exprs.short_range(f'{gap + 1}m')}:1m] offset 1m)"
        start = f"({self.in_range()} == 1) unless on() ({before} == 1)"
        return f"sum(count_over_time(({start})[$__range:1m])) or vector(0)"

    # ----------------------------------------------------------------- latency

    def quantile(self, q: float, window: str = "$__rate_interval", fn: str = "rate") -> str:
        assert self.histogram is not None
        return exprs.quantile(self.histogram, q, window, fn)

    def quantile_month(self, q: float) -> str:
        return self.quantile(q, "$__range", "increase")

    def heatmap(self) -> str:
        assert self.histogram is not None
        return f"sum by (le) (rate({self.histogram}[$__rate_interval]))"
