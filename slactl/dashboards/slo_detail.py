"""One SLO detail dashboard per service: why the overview shows what it shows.

Each service's selectors differ (ratio or probe form, its own metric names), so a
single dashboard switching services by variable could not query them; instead each
service gets its own dashboard carrying a constant ``service`` variable (used in
titles and links) and a drop-down to the other services' details.
"""

from __future__ import annotations

from grafanalib.core import Dashboard, Template, TimeSeries

from slactl.config import Config
from slactl.dashboards.common import (
    SLO_TAG,
    Grid,
    dashboard,
    detail_uid,
    heatmap,
    latency_steps,
    overview_link,
    ref_id,
    refid_override,
    stat,
    steps,
    timeseries,
)
from slactl.dashboards.overview import (
    budget_stat,
    burn_stat,
    incidents_stat,
    latency_stat,
    tiers_stat,
    uptime_stat,
)
from slactl.promql.burn import BUDGET_MINUTES
from slactl.promql.numbers import clean, exact
from slactl.promql.queries import (
    PAGE_WINDOWS,
    TICKET_WINDOWS,
    ServiceQueries,
    percentiles,
)


def _month_row(cfg: Config, grid: Grid, sq: ServiceQueries) -> None:
    grid.row("This month", "The overview's figures for $service, in the time range.")
    grid.add(uptime_stat(cfg, sq), 4, 5)
    if cfg.tiers:
        grid.add(tiers_stat(cfg, sq), 5, 5)
    grid.add(budget_stat(sq), 3, 5)
    grid.add(burn_stat(sq), 3, 5)
    grid.add(incidents_stat(sq), 3, 5)
    grid.add(
        stat(
            "Down minutes",
            "Minutes counted down in the time range; orange from half the 30-day budget, red once it is spent.",
            [(sq.down_minutes(), "down minutes")],
            unit="none",
            decimals=0,
            thresholds=steps(
                "green",
                (clean(sq.budget_fraction * BUDGET_MINUTES / 2), "orange"),
                (sq.budget_minutes, "red"),
            ),
        ),
        3,
        5,
    )
    if sq.kind == "ratio":
        grid.add(
            stat(
                "Error ratio",
                "Failed requests / all requests in the time range (a high ratio in a few minutes can "
                "cost more uptime than a low ratio spread over the month).",
                [(sq.error_ratio("$__range", fn="increase"), "error ratio")],
                unit="percentunit",
                decimals=4,
                thresholds=steps("green", (0.05, "red")),
            ),
            3,
            5,
        )
    else:
        grid.add(
            stat(
                "Probe success",
                "Mean of the probe's samples in the time range.",
                [(f"avg(avg_over_time({sq.service.availability.probe}[$__range]))", "success")],
                unit="percentunit",
                decimals=4,
                thresholds=steps("red", (sq.service.slice_threshold, "green")),
            ),
            3,
            5,
        )


def _sli_row(grid: Grid, sq: ServiceQueries) -> None:
    thr = sq.service.slice_threshold
    what = "share of good requests" if sq.kind == "ratio" else "mean probe success"
    grid.row("SLI", f"The service level indicator of $service: {what}.")
    grid.add(
        timeseries(
            "SLI over time",
            f"The SLI ({what}) over Grafana's rate interval; the red line is the slice threshold "
            f"{thr}: a minute below it is down.",
            [(sq.good_ratio("$__rate_interval"), "$service")],
            unit="percentunit",
            thresholds=steps("red", (thr, "green")),
        ),
        12,
        8,
    )
    grid.add(
        timeseries(
            "Down minutes",
            "Down minutes in each interval of the graph (the minutes behind the uptime figure), "
            "from the minute-state recording rule.",
            [(f"sum_over_time({sq.down_minute()}[$__interval])", "down minutes")],
            unit="none",
            bars=True,
            interval="1m",
        ),
        12,
        8,
    )
    if sq.kind == "ratio":
        grid.add(
            timeseries(
                "Requests and errors",
                "Requests and failed requests per second, from the total and errors selectors.",
                [
                    (sq.total("rate", "$__rate_interval"), "requests"),
                    (sq.errors("rate", "$__rate_interval"), "errors"),
                ],
                unit="reqps",
            ),
            12,
            8,
        )
    if sq.group_by:
        labels = ", ".join(sq.group_by)
        grid.add(
            timeseries(
                f"SLI by {labels}",
                f"The SLI per {labels} (the series customers' `match` picks).",
                [
                    (
                        sq.good_ratio("$__rate_interval", by=sq.group_by),
                        "{{" + "}} {{".join(sq.group_by) + "}}",
                    )
                ],
                unit="percentunit",
                thresholds=steps("red", (thr, "green")),
            ),
            12,
            8,
        )


def _budget_row(grid: Grid, sq: ServiceQueries) -> None:
    grid.row("Error budget", "How the 30-day error budget of $service is spent across the month.")
    grid.add(
        timeseries(
            "Error budget burn-down",
            f"Share of the 30-day error budget ({exact(sq.budget_fraction * 100)}% of minutes) left, counting down "
            "minutes from the start of the time range: open it on 'This month so far' for the month's "
            "burn-down. Below the red line the objective is missed.",
            [(sq.budget_burndown(), "budget left")],
            unit="percentunit",
            thresholds=steps("red", (0.0, "green")),
        ),
        24,
        8,
    )


def _burn_panel(
    sq: ServiceQueries, title: str, windows: tuple[tuple[str, str, float], ...], kind: str
) -> TimeSeries:
    rules = "; ".join(f"{long} and {short} both above {f:g}×" for long, short, f in windows)
    queries = [
        (sq.burn_rate(w), f"{w} window") for long, short, _ in windows for w in (long, short)
    ]
    return timeseries(
        title,
        f"Burn rate (share of down minutes / error budget) over the windows of the {kind} "
        f"ErrorBudgetBurn alerts ({rules}), from the recorded shares; the lines mark the factors.",
        queries,
        unit="suffix:×",
        thresholds=steps("green", *((f, "red") for _, _, f in sorted(windows, key=lambda w: w[2]))),
    )


def _burn_row(grid: Grid, sq: ServiceQueries) -> None:
    grid.row(
        "Burn rate", "The burn-rate windows of the alerts that protect the objective of $service."
    )
    grid.add(_burn_panel(sq, "Burn rate: page windows", PAGE_WINDOWS, "page"), 12, 8)
    grid.add(_burn_panel(sq, "Burn rate: ticket windows", TICKET_WINDOWS, "ticket"), 12, 8)


def _latency_row(cfg: Config, grid: Grid, sq: ServiceQueries) -> None:
    rows = percentiles(cfg)
    grid.row("Latency", "Request latency of $service from its histogram.")
    grid.add(latency_stat(cfg, sq), 6, 9)
    grid.add(
        heatmap(
            "Latency heatmap",
            "Requests per second in each histogram bucket over time: where the latency mass is.",
            sq.heatmap(),
        ),
        9,
        9,
    )
    grid.add(
        timeseries(
            "Latency percentiles",
            "P50/P95/P99 (and every configured percentile) over the rate interval; each line's "
            "threshold is its target from latency_targets_seconds.",
            [(sq.quantile(q), key.upper()) for key, q, _ in rows],
            unit="s",
            overrides=[
                refid_override(
                    ref_id(i),
                    thresholds={"mode": "absolute", "steps": latency_steps(t)},
                    custom__thresholdsStyle={"mode": "line" if t is not None else "off"},
                )
                for i, (_, _, t) in enumerate(rows)
            ],
        ),
        9,
        9,
    )


def build(cfg: Config, name: str) -> Dashboard:
    """The SLO detail dashboard of one Prometheus service."""
    sq = ServiceQueries.of(cfg, name)
    grid = Grid()
    _month_row(cfg, grid, sq)
    _sli_row(grid, sq)
    _budget_row(grid, sq)
    _burn_row(grid, sq)
    if sq.histogram is not None:
        _latency_row(cfg, grid, sq)
    desc = sq.service.description
    return dashboard(
        cfg,
        title=f"SLO detail: {name}",
        uid=detail_uid(name),
        description=f"SLI, error budget, burn rate and latency of {name}"
        f"{' (' + desc + ')' if desc else ''} for its {sq.objective}% objective, generated by slactl.",
        grid=grid,
        variables=[
            Template(
                name="service", label="Service", query=name, default=name, type="constant", hide=2
            )
        ],
        tags=[SLO_TAG],
        time=("now/M", "now"),
        refresh="5m",
        dash_links=[overview_link()],
    )
