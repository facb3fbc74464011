"""The SLA overview: every service's month so far on one screen.

Per service: uptime against each tier, error budget left, burn rate, incidents and
P50/P95/P99 against the latency targets.  It is the page an SRE opens first, so
every figure links to the service's SLO detail dashboard.
"""

from __future__ import annotations

from grafanalib.core import Dashboard, Stat

from slactl.config import Config
from slactl.dashboards.common import (
    BUDGET_STEPS,
    BURN_STEPS,
    Grid,
    dashboard,
    detail_url,
    latency_steps,
    links,
    overview_uid,
    prometheus_services,
    ref_id,
    refid_override,
    stat,
    steps,
    text,
    uptime_steps,
)
from slactl.promql.numbers import exact
from slactl.promql.queries import ServiceQueries, percentiles, tier_targets

STAT_HEIGHT = 5


def tiers_text(cfg: Config) -> str:
    return ", ".join(f"{name} {t.uptime_target}%" for name, t in cfg.tiers.items())


def uptime_stat(cfg: Config, sq: ServiceQueries) -> Stat:
    return stat(
        "Uptime this month",
        f"Share of up minutes of {sq.name} in the time range (open it on 'This month so far'): "
        f"a minute is down when its good ratio is below {sq.service.slice_threshold}. "
        f"Red below every tier, yellow while some are met, green when all are ({tiers_text(cfg)}). "
        "From the minute-state recording rule, which leaves maintenance minutes out as the report does.",
        [(sq.uptime_percent(), sq.name)],
        unit="percent",
        decimals=3,
        thresholds=uptime_steps(cfg.tiers),
        panel_links=links([(f"SLO detail: {sq.name}", detail_url(sq.name))]),
    )


def tiers_stat(cfg: Config, sq: ServiceQueries) -> Stat:
    return stat(
        "Margin to each tier",
        "Uptime this month minus each tier's uptime target, in percentage points: "
        "green when the tier is met, red when it is missed.",
        [(f"({sq.uptime_percent()}) - on() group_right() ({tier_targets(cfg)})", "{{tier}}")],
        unit="percent",
        decimals=3,
        thresholds=steps("red", (0.0, "green")),
        text_mode="value_and_name",
    )


def budget_stat(sq: ServiceQueries) -> Stat:
    return stat(
        "Error budget left",
        f"Share of the 30-day error budget ({exact(sq.budget_fraction * 100)}% of minutes for the "
        f"{sq.objective}% objective) not yet spent by down minutes in the time range. "
        "Below zero the objective is missed.",
        [(sq.budget_left(), "budget left")],
        unit="percentunit",
        decimals=1,
        thresholds=BUDGET_STEPS,
    )


def burn_stat(sq: ServiceQueries) -> Stat:
    return stat(
        "Burn rate",
        "How fast the error budget burns now, over the last hour and six hours: 1 spends the "
        "30-day budget in 30 days; the page alerts fire above 14.4 (1h) and 6 (6h).",
        [(sq.burn_rate("1h"), "1h"), (sq.burn_rate("6h"), "6h")],
        unit="suffix:×",
        decimals=2,
        thresholds=BURN_STEPS,
        text_mode="value_and_name",
    )


def incidents_stat(sq: ServiceQueries) -> Stat:
    gap = sq.service.incident_merge_gap_minutes
    merged = f"; runs at most {gap} minutes apart are one incident" if gap else ""
    return stat(
        "Incidents",
        f"Runs of down minutes in the time range, one already under way when the range starts included{merged}.",
        [(sq.incidents(), "incidents")],
        unit="none",
        decimals=0,
        thresholds=steps("green", (1.0, "orange"), (3.0, "red")),
    )


def latency_stat(cfg: Config, sq: ServiceQueries) -> Stat:
    rows = percentiles(cfg)
    targets_text = (
        ", ".join(f"{k} ≤ {t * 1000:g} ms" for k, _, t in rows if t is not None)
        or "none configured"
    )
    return stat(
        "Latency this month",
        "Percentiles of the month's requests from the latency histogram, each red above its "
        f"target ({targets_text}).",
        [(sq.quantile_month(q), key.upper()) for key, q, _ in rows],
        unit="s",
        decimals=3,
        thresholds=steps("green"),
        overrides=[
            refid_override(ref_id(i), thresholds={"mode": "absolute", "steps": latency_steps(t)})
            for i, (_, _, t) in enumerate(rows)
        ],
        text_mode="value_and_name",
    )


def service_row(cfg: Config, grid: Grid, name: str) -> None:
    sq = ServiceQueries.of(cfg, name)
    desc = sq.service.description or ""
    grid.row(f"{name}{' · ' + desc if desc else ''}", f"SLA figures of {name} ({sq.kind} form).")
    grid.add(uptime_stat(cfg, sq), 4, STAT_HEIGHT)
    if cfg.tiers:
        grid.add(tiers_stat(cfg, sq), 5, STAT_HEIGHT)
    grid.add(budget_stat(sq), 3, STAT_HEIGHT)
    grid.add(burn_stat(sq), 3, STAT_HEIGHT)
    grid.add(incidents_stat(sq), 3, STAT_HEIGHT)
    if sq.histogram is not None:
        grid.add(latency_stat(cfg, sq), 6, STAT_HEIGHT)


def build(cfg: Config) -> Dashboard:
    """The SLA overview dashboard of every Prometheus service in the config."""
    grid = Grid()
    names = prometheus_services(cfg)
    skipped = [n for n in cfg.services if n not in names]
    if names:
        grid.add(
            stat(
                "Uptime by service",
                "Uptime this month of every service; click a value for its SLO detail dashboard.",
                [(ServiceQueries.of(cfg, n).uptime_percent(), n) for n in names],
                unit="percent",
                decimals=3,
                thresholds=uptime_steps(cfg.tiers),
                text_mode="value_and_name",
                overrides=[
                    refid_override(
                        ref_id(i), links=[{"title": f"SLO detail: {n}", "url": detail_url(n)}]
                    )
                    for i, n in enumerate(names)
                ],
            ),
            24,
            4,
        )
    if skipped or not names:
        grid.add(
            text(
                "Services not shown",
                "Services whose source is not a Prometheus-API server.",
                "These services are not read through Prometheus and are left out: "
                + (", ".join(skipped) or "(no Prometheus services configured)")
                + ". Their figures are in `slactl report monthly`.",
            ),
            24,
            3,
        )
    for name in names:
        service_row(cfg, grid, name)
    return dashboard(
        cfg,
        title="SLA overview",
        uid=overview_uid(),
        description="Uptime, error budget, burn rate, incidents and latency of every service this month, "
        "generated by slactl from its config.",
        grid=grid,
        time=("now/M", "now"),
        refresh="5m",
    )
