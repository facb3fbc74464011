"""System Health: the hosts under every service, from node_exporter.

Thresholds are the infrastructure alert pack's (SPEC section 6), so a panel turns
red exactly when the matching alert would fire: CPU > 80 %, memory > 85 %,
filesystem > 90 % used.
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

CPU_WARN = 0.80  # HighCPU
MEMORY_WARN = 0.85  # HighMemory
DISK_CRIT = 0.90  # DiskAlmostFull
INSTANCE = 'instance=~"$instance"'
REAL_FS = 'fstype!~"tmpfs|overlay|squashfs|ramfs|nsfs"'


Names = Callable[[str], str]  # standard node_exporter name -> the configured one


def rate(m: Names, metric: str, matchers: str = "", agg: str = "sum") -> str:
    """Per-second rate of a node_exporter counter per host (``matchers`` end with a comma)."""
    return f"{agg} by (instance) (rate({m(metric)}{{{matchers}{INSTANCE}}}[$__rate_interval]))"


def cpu_busy(m: Names) -> str:
    return "1 - " + rate(m, "node_cpu_seconds_total", 'mode="idle",', "avg")


def memory_used(m: Names) -> str:
    return (
        f"1 - sum by (instance) ({m('node_memory_MemAvailable_bytes')}{{{INSTANCE}}})"
        f" / sum by (instance) ({m('node_memory_MemTotal_bytes')}{{{INSTANCE}}})"
    )


def disk_used(m: Names) -> str:
    avail, size = m("node_filesystem_avail_bytes"), m("node_filesystem_size_bytes")
    return (
        f"1 - max by (instance, mountpoint) ({avail}{{{REAL_FS},{INSTANCE}}})"
        f" / max by (instance, mountpoint) ({size}{{{REAL_FS},{INSTANCE}}})"
    )


def _stats(grid: Grid, m: Names) -> None:
    grid.row("Now", "The worst host right now, against the alert thresholds.")
    grid.add(
        stat(
            "Scrape targets down",
            "Prometheus targets whose last scrape failed (`up == 0`), over every job: a host or "
            "exporter that stopped answering blinds every other panel.",
            [("count(up == 0) or vector(0)", "down")],
            unit="none",
            decimals=0,
            thresholds=steps("green", (1.0, "red")),
        ),
        6,
        4,
    )
    for title, expr, warn, what in (
        (
            "Busiest CPU",
            f"max({cpu_busy(m)})",
            CPU_WARN,
            "Share of CPU time not idle on the busiest host",
        ),
        (
            "Fullest memory",
            f"max({memory_used(m)})",
            MEMORY_WARN,
            "Share of memory not available on the fullest host",
        ),
        (
            "Fullest filesystem",
            f"max({disk_used(m)})",
            DISK_CRIT,
            "Share used of the fullest real filesystem",
        ),
    ):
        grid.add(
            stat(
                title,
                f"{what}; red from {warn:.0%}, the alert threshold.",
                [(expr, title)],
                unit="percentunit",
                decimals=1,
                thresholds=steps("green", (warn - 0.1, "yellow"), (warn, "red")),
            ),
            6,
            4,
        )


def _graphs(grid: Grid, m: Names) -> None:
    grid.row("Resources", "CPU, memory, disks and network per host over time.")
    grid.add(
        timeseries(
            "CPU busy",
            f"Share of CPU time not idle, per host; the line is the HighCPU threshold ({CPU_WARN:.0%}).",
            [(cpu_busy(m), "{{instance}}")],
            unit="percentunit",
            thresholds=steps("green", (CPU_WARN, "red")),
        ),
        12,
        8,
    )
    grid.add(
        timeseries(
            "Memory used",
            f"1 − MemAvailable / MemTotal per host; the line is the HighMemory threshold ({MEMORY_WARN:.0%}).",
            [(memory_used(m), "{{instance}}")],
            unit="percentunit",
            thresholds=steps("green", (MEMORY_WARN, "red")),
        ),
        12,
        8,
    )
    grid.add(
        timeseries(
            "Filesystem used",
            f"Share used of each real filesystem; the line is the DiskAlmostFull threshold ({DISK_CRIT:.0%}).",
            [(disk_used(m), "{{instance}} {{mountpoint}}")],
            unit="percentunit",
            thresholds=steps("green", (DISK_CRIT, "red")),
        ),
        12,
        8,
    )
    grid.add(
        timeseries(
            "Load per core",
            "1-minute load average divided by the number of cores: above 1 work is queueing.",
            [
                (
                    f"sum by (instance) ({m('node_load1')}{{{INSTANCE}}}) / count by (instance) "
                    f'({m("node_cpu_seconds_total")}{{mode="idle",{INSTANCE}}})',
                    "{{instance}}",
                )
            ],
            unit="none",
            thresholds=steps("green", (1.0, "red")),
        ),
        12,
        8,
    )
    grid.add(
        timeseries(
            "Network traffic",
            "Bytes per second received (positive) and sent, per host, loopback excluded.",
            [
                (
                    rate(m, "node_network_receive_bytes_total", 'device!="lo",'),
                    "{{instance}} in",
                ),
                (
                    rate(m, "node_network_transmit_bytes_total", 'device!="lo",'),
                    "{{instance}} out",
                ),
            ],
            unit="Bps",
        ),
        12,
        8,
    )
    grid.add(
        timeseries(
            "Disk busy",
            "Share of time each host's busiest disk was doing I/O: near 100 % the disk is saturated.",
            [
                (
                    rate(m, "node_disk_io_time_seconds_total", agg="max"),
                    "{{instance}}",
                )
            ],
            unit="percentunit",
            thresholds=steps("green", (0.9, "red")),
        ),
        12,
        8,
    )


def build(cfg: Config) -> Dashboard:
    """System Health from node_exporter's standard metric names."""
    m = exporter_metrics(cfg)
    grid = Grid()
    _stats(grid, m)
    _graphs(grid, m)
    return dashboard(
        cfg,
        title="System Health",
        uid=uid_for("system-health"),
        description="CPU, memory, filesystems, load, network and disks of every host (node_exporter), "
        "with the infrastructure alerts' thresholds. Generated by slactl.",
        grid=grid,
        variables=[instance_variable(m("node_uname_info"))],
        dash_links=[overview_link()],
    )
