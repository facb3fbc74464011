"""Database Performance: PostgreSQL through postgres_exporter's standard metric names.

Connections against the pool (``max_connections``), query time (pg_stat_statements,
with the SlowQueries alert's 100 ms), the longest open transaction, replication lag
and throughput: the usual suspects when the API slows down.
"""

from __future__ import annotations

from collections.abc import Callable

from grafanalib.core import Dashboard

from slactl.config import Config
from slactl.dashboards.common import (
    Grid,
    dashboard,
    exporter_metrics,
    instance_variable,
    overview_link,
    stat,
    steps,
    timeseries,
    uid_for,
)

SLOW_QUERY_SECONDS = 0.1  # SlowQueries (SPEC section 6)
POOL_WARN = 0.8
POOL_CRIT = 0.9
LAG_WARN_SECONDS = 10.0
LAG_CRIT_SECONDS = 60.0
INSTANCE = 'instance=~"$instance"'


Names = Callable[[str], str]  # standard postgres_exporter name -> the configured one


def rate(m: Names, metric: str, by: str = "datname") -> str:
    """Per-second rate of a postgres_exporter counter, summed by ``by``."""
    return f"sum by ({by}) (rate({m(metric)}{{{INSTANCE}}}[$__rate_interval]))"


def series(m: Names, metric: str) -> str:
    """A postgres_exporter series on the chosen instances."""
    return f"{m(metric)}{{{INSTANCE}}}"


def pool_used(m: Names) -> str:
    return (
        f"sum by (instance) ({series(m, 'pg_stat_activity_count')})"
        f" / sum by (instance) ({series(m, 'pg_settings_max_connections')})"
    )


def mean_query_time(m: Names, by: str = "instance") -> str:
    seconds = rate(m, "pg_stat_statements_seconds_total", by)
    return f"{seconds} / {rate(m, 'pg_stat_statements_calls_total', by)}"


def replication_lag(m: Names) -> str:
    return f"max by (instance) ({series(m, 'pg_replication_lag_seconds')})"


def _stats(grid: Grid, m: Names) -> None:
    grid.row("Now", "Each PostgreSQL instance right now.")
    grid.add(
        stat(
            "PostgreSQL up",
            "Instances postgres_exporter can connect to (`pg_up`); red when one is down (DatabaseDown).",
            [(f"min({series(m, 'pg_up')})", "up")],
            unit="none",
            decimals=0,
            thresholds=steps("red", (1.0, "green")),
        ),
        6,
        4,
    )
    grid.add(
        stat(
            "Connection pool used",
            f"Connections open / max_connections on the fullest instance; yellow from {POOL_WARN:.0%}, "
            f"red from {POOL_CRIT:.0%} (new connections start failing at 100 %).",
            [(f"max({pool_used(m)})", "pool used")],
            unit="percentunit",
            decimals=1,
            thresholds=steps("green", (POOL_WARN, "yellow"), (POOL_CRIT, "red")),
        ),
        6,
        4,
    )
    grid.add(
        stat(
            "Mean query time",
            f"Mean execution time of statements (pg_stat_statements); red above the SlowQueries "
            f"alert's {SLOW_QUERY_SECONDS * 1000:g} ms.",
            [(f"max({mean_query_time(m)})", "mean")],
            unit="s",
            decimals=3,
            thresholds=steps("green", (SLOW_QUERY_SECONDS, "red")),
        ),
        6,
        4,
    )
    grid.add(
        stat(
            "Replication lag",
            f"Largest replica lag; yellow from {LAG_WARN_SECONDS:g} s, red from {LAG_CRIT_SECONDS:g} s.",
            [(f"max({replication_lag(m)})", "lag")],
            unit="s",
            decimals=1,
            thresholds=steps("green", (LAG_WARN_SECONDS, "yellow"), (LAG_CRIT_SECONDS, "red")),
        ),
        6,
        4,
    )


def _graphs(grid: Grid, m: Names) -> None:
    grid.row("Connections and queries", "Over time, per instance.")
    grid.add(
        timeseries(
            "Connections against the pool",
            "Open connections by state, stacked, and the pool size (max_connections).",
            [
                (
                    f"sum by (instance, state) ({series(m, 'pg_stat_activity_count')})",
                    "{{instance}} {{state}}",
                ),
                (
                    f"sum by (instance) ({series(m, 'pg_settings_max_connections')})",
                    "{{instance}} max_connections",
                ),
            ],
            unit="none",
        ),
        12,
        8,
    )
    grid.add(
        timeseries(
            "Pool used",
            "Open connections / max_connections per instance.",
            [(pool_used(m), "{{instance}}")],
            unit="percentunit",
            thresholds=steps("green", (POOL_WARN, "yellow"), (POOL_CRIT, "red")),
        ),
        12,
        8,
    )
    grid.add(
        timeseries(
            "Query time",
            "Mean statement execution time per database (pg_stat_statements); the line is the "
            "SlowQueries threshold.",
            [(mean_query_time(m, "instance, datname"), "{{instance}} {{datname}}")],
            unit="s",
            thresholds=steps("green", (SLOW_QUERY_SECONDS, "red")),
        ),
        12,
        8,
    )
    grid.add(
        timeseries(
            "Longest transaction",
            "Age of the oldest open transaction per instance: long ones hold locks and block vacuum.",
            [
                (
                    f"max by (instance) ({series(m, 'pg_stat_activity_max_tx_duration')})",
                    "{{instance}}",
                )
            ],
            unit="s",
        ),
        12,
        8,
    )
    grid.row("Replication and throughput", "Replicas and the work the databases do.")
    grid.add(
        timeseries(
            "Replication lag",
            "How far each replica is behind its primary.",
            [(replication_lag(m), "{{instance}}")],
            unit="s",
            thresholds=steps("green", (LAG_WARN_SECONDS, "yellow"), (LAG_CRIT_SECONDS, "red")),
        ),
        8,
        8,
    )
    grid.add(
        timeseries(
            "Transactions",
            "Commits and rollbacks per second per database.",
            [
                (
                    rate(m, "pg_stat_database_xact_commit"),
                    "{{datname}} commit",
                ),
                (
                    rate(m, "pg_stat_database_xact_rollback"),
                    "{{datname}} rollback",
                ),
            ],
            unit="ops",
        ),
        8,
        8,
    )
    grid.add(
        timeseries(
            "Cache hit ratio",
            "Blocks found in shared buffers / blocks read: below ~99 % the working set no longer fits.",
            [
                (
                    f"{rate(m, 'pg_stat_database_blks_hit')} / "
                    f"({rate(m, 'pg_stat_database_blks_hit')} + {rate(m, 'pg_stat_database_blks_read')})",
                    "{{datname}}",
                )
            ],
            unit="percentunit",
            thresholds=steps("red", (0.99, "green")),
        ),
        8,
        8,
    )


def build(cfg: Config) -> Dashboard:
    """Database Performance from postgres_exporter."""
    m = exporter_metrics(cfg)
    grid = Grid()
    _stats(grid, m)
    _graphs(grid, m)
    return dashboard(
        cfg,
        title="Database Performance",
        uid=uid_for("database-performance"),
        description="PostgreSQL connections against the pool, query time, replication lag and throughput "
        "(postgres_exporter, pg_stat_statements). Generated by slactl.",
        grid=grid,
        variables=[instance_variable(m("pg_up"))],
        dash_links=[overview_link()],
    )
