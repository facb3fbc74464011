"""API Performance: request rate, error rate and P50/P95/P99 of every request-counting service.

Built from the config's ratio-form selectors and latency histograms, so the
services drawn here are exactly the ones the SLA is measured on; the latency
lines are the configured targets and the error-rate line is the HighErrorRate
alert's 5 %.
"""

from __future__ import annotations

from grafanalib.core import Dashboard

from slactl.config import Config
from slactl.dashboards.common import (
    Grid,
    dashboard,
    detail_url,
    links,
    overview_link,
    prometheus_services,
    steps,
    text,
    timeseries,
    uid_for,
)
from slactl.promql.queries import ServiceQueries, percentiles

HIGH_ERROR_RATIO = 0.05  # HighErrorRate (SPEC section 6)


def _services(cfg: Config) -> list[ServiceQueries]:
    return [ServiceQueries.of(cfg, n) for n in prometheus_services(cfg)]


def _traffic(grid: Grid, ratio: list[ServiceQueries]) -> None:
    grid.row("Traffic and errors", "Requests counted by each service's total and errors selectors.")
    service_links = links((f"SLO detail: {sq.name}", detail_url(sq.name)) for sq in ratio)
    grid.add(
        timeseries(
            "Request rate",
            "Requests per second of each service (its `total` selector).",
            [(sq.total("rate", "$__rate_interval"), sq.name) for sq in ratio],
            unit="reqps",
            panel_links=service_links,
        ),
        12,
        8,
    )
    grid.add(
        timeseries(
            "Error rate",
            "Failed requests / all requests of each service (its `errors` and `total` selectors); the "
            f"line is the HighErrorRate alert's {HIGH_ERROR_RATIO:.0%}.",
            [(sq.error_ratio("$__rate_interval"), sq.name) for sq in ratio],
            unit="percentunit",
            thresholds=steps("green", (HIGH_ERROR_RATIO, "red")),
            panel_links=service_links,
        ),
        12,
        8,
    )
    for sq in ratio:
        if sq.group_by:
            labels = ", ".join(sq.group_by)
            grid.add(
                timeseries(
                    f"{sq.name}: requests by {labels}",
                    f"Requests per second of {sq.name} split by its group_by labels ({labels}).",
                    [
                        (
                            sq.total("rate", "$__rate_interval", sq.group_by),
                            "{{" + "}} {{".join(sq.group_by) + "}}",
                        )
                    ],
                    unit="reqps",
                    stacked=True,
                ),
                12,
                8,
            )


def _latency(cfg: Config, grid: Grid, timed: list[ServiceQueries]) -> None:
    grid.row(
        "Latency",
        "Percentiles from each service's latency histogram against latency_targets_seconds.",
    )
    for key, q, target in percentiles(cfg):
        goal = f"; the line is the {target * 1000:g} ms target" if target is not None else ""
        grid.add(
            timeseries(
                f"Latency {key.upper()}",
                f"The {key} of request latency per service over the rate interval{goal}.",
                [(sq.quantile(q), sq.name) for sq in timed],
                unit="s",
                thresholds=steps("green", (target, "red")) if target is not None else None,
            ),
            8,
            8,
        )


def build(cfg: Config) -> Dashboard:
    """API Performance of every Prometheus service with request counters or a histogram."""
    grid = Grid()
    services = _services(cfg)
    ratio = [sq for sq in services if sq.kind == "ratio"]
    timed = [sq for sq in services if sq.histogram is not None]
    if ratio:
        _traffic(grid, ratio)
    if timed:
        _latency(cfg, grid, timed)
    if not ratio and not timed:
        grid.add(
            text(
                "No request metrics",
                "Why this dashboard is empty.",
                "No Prometheus service in the config counts requests (ratio form) or has a latency "
                "histogram: add `availability.errors`/`total` or `latency.histogram` to a service.",
            ),
            24,
            4,
        )
    return dashboard(
        cfg,
        title="API Performance",
        uid=uid_for("api-performance"),
        description="Request rate, error rate and latency percentiles of every service, from the selectors "
        "in slactl's config.",
        grid=grid,
        dash_links=[overview_link()],
    )
