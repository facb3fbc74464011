"""PromQL for the SLA panels, built from a service's selectors like the rest of slactl.

Conventions (written down in the README):

- No recording rules: every expression reads the raw selectors, so the dashboards
  work on day one and on a backfilled TSDB, at the price of heavier queries.
- "This month" is the dashboard's time range: SLA dashboards open on Grafana's
  *This month so far* (``now/M`` to ``now``, cut in the config's time zone) and the
  month-to-date figures use ``[$__range]``.
- Minutes follow SPEC section 2 as closely as PromQL allows: a 1-minute subquery
  evaluates whether each minute is down (ratio form: ``errors > (1 - slice_threshold)
  × total`` over a 2-minute rate window, which works with scrape intervals up to 60 s
  on Prometheus 2 and 3; probe form: the minute's mean probe value below
  ``slice_threshold``), and the service's ``no_data`` policy fills empty minutes.
  Maintenance windows are not excluded: ``slactl report`` stays the authoritative figure.
- The error budget is a 30-day budget of ``100 − objective`` percent, the one the
  burn-rate alerts use (SPEC section 6), so a burn rate of 1 spends it in 30 days.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from slactl.config import Config, Service, percentile_q
from slactl.dashboards.common import num

SLICE_RATE_WINDOW = "2m"
PROBE_SLICE_WINDOW = "1m"
BUDGET_MINUTES = 30 * 1440

# The windows of the ErrorBudgetBurn alerts (SPEC section 6): (long, short, factor).
PAGE_WINDOWS = (("1h", "5m", 14.4), ("6h", "30m", 6.0))
TICKET_WINDOWS = (("1d", "2h", 3.0), ("3d", "6h", 1.0))


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
        f'label_replace(vector({num(t.uptime_target)}), "tier", {string(name)}, "", "")'
        for name, t in cfg.tiers.items()
    ]
    return " or ".join(parts)


def _agg(by: tuple[str, ...]) -> str:
    return f"sum by ({', '.join(by)}) " if by else "sum"


@dataclass(frozen=True)
class ServiceQueries:
    """Every SLA expression of one Prometheus service."""

    name: str
    service: Service
    objective: float  # percent

    @classmethod
    def of(cls, cfg: Config, name: str) -> ServiceQueries:
        return cls(name, cfg.services[name], cfg.objective_for(name))

    # ----------------------------------------------------------------- selectors

    @property
    def kind(self) -> str:
        return self.service.availability.kind

    @property
    def budget(self) -> float:
        return 1 - self.objective / 100

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

    # ----------------------------------------------------------------- ratios

    def total(self, fn: str, window: str, by: tuple[str, ...] = ()) -> str:
        return f"{_agg(by)}({fn}({self._sel('total')}[{window}]))"

    def errors(self, fn: str, window: str, by: tuple[str, ...] = ()) -> str:
        """Errors, zero (not absent) where a total exists without any error series."""
        return f"({_agg(by)}({fn}({self._sel('errors')}[{window}])) or 0 * {self.total(fn, window, by)})"

    def error_ratio(self, window: str, fn: str = "rate", by: tuple[str, ...] = ()) -> str:
        return f"{self.errors(fn, window, by)} / {self.total(fn, window, by)}"

    def good_ratio(self, window: str, by: tuple[str, ...] = ()) -> str:
        """The SLI: share of good requests (ratio) or mean probe success (probe)."""
        if self.kind == "probe":
            agg = f"avg by ({', '.join(by)}) " if by else "avg"
            return f"{agg}(avg_over_time({self._sel('probe')}[{window}]))"
        return f"1 - ({self.error_ratio(window, by=by)})"

    def bad_ratio(self, window: str) -> str:
        if self.kind == "probe":
            return f"1 - {self.good_ratio(window)}"
        return self.error_ratio(window)

    def burn_rate(self, window: str) -> str:
        """How fast the 30-day budget burns: 1 spends it exactly in 30 days."""
        return f"({self.bad_ratio(window)}) / {num(self.budget)}"

    # ----------------------------------------------------------------- minutes

    def down_minute(self) -> str:
        """1 when the minute ending now is down, 0 when up, nothing when without data."""
        threshold = self.service.slice_threshold
        if self.kind == "probe":
            expr = f"avg(avg_over_time({self._sel('probe')}[{PROBE_SLICE_WINDOW}])) < bool {num(threshold)}"
        else:
            w = SLICE_RATE_WINDOW
            expr = (
                f"{self.errors('rate', w)} > bool ({num(1 - threshold)} * {self.total('rate', w)})"
            )
        policy = self.service.no_data
        if policy == "up":
            return f"({expr}) or vector(0)"
        if policy == "down":
            return f"({expr}) or vector(1)"
        return expr

    def uptime_percent(self, window: str = "$__range") -> str:
        """Share of up minutes, as SPEC section 2 (without maintenance exclusion)."""
        return f"100 * (1 - avg_over_time(({self.down_minute()})[{window}:1m]))"

    def down_minutes(self, window: str = "$__range") -> str:
        return f"sum_over_time(({self.down_minute()})[{window}:1m])"

    def budget_left(self) -> str:
        """Share of the 30-day error budget not yet spent by this month's down minutes."""
        return f"1 - {self.down_minutes()} / {num(self.budget * BUDGET_MINUTES)}"

    def budget_burndown(self) -> str:
        """Budget left at each moment, counting down minutes from the range's start.

        ``$__from`` anchors the count, so on *This month so far* it starts at the
        month's first minute whatever step Grafana picks.
        """
        since = f"(({self.down_minute()}) and on() (vector(time()) >= $__from / 1000))"
        return f"1 - sum_over_time({since}[$__range:1m]) / {num(self.budget * BUDGET_MINUTES)}"

    def incidents(self) -> str:
        """Incidents starting in the range: up-to-down changes of the minute state.

        ``incident_merge_gap_minutes`` is honoured by holding a down state for that
        many minutes before counting.
        """
        down = self.down_minute()
        gap = self.service.incident_merge_gap_minutes
        if gap:
            down = f"max_over_time(({down})[{gap * 60 + 30}s:1m])"
        return f"resets((1 - ({down}))[$__range:1m])"

    # ----------------------------------------------------------------- latency

    def quantile(self, q: float, window: str = "$__rate_interval", fn: str = "rate") -> str:
        assert self.histogram is not None
        return f"histogram_quantile({num(q)}, sum by (le) ({fn}({self.histogram}[{window}])))"

    def quantile_month(self, q: float) -> str:
        return self.quantile(q, "$__range", "increase")

    def heatmap(self) -> str:
        assert self.histogram is not None
        return f"sum by (le) (rate({self.histogram}[$__rate_interval]))"
