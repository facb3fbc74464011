"""The threshold pack of SPEC section 6, on the standard exporters' metric names.

These are the "is it on fire right now" alerts that complement the budget-based
ones: they need no history and catch what an SLO cannot see (a disk filling up
before it causes errors).  Metric names are those node_exporter, postgres_exporter
(``pg_up``; ``pg_stat_statements_*`` from its ``stat_statements`` collector, off by
default, and right on PostgreSQL 13+ from release 0.14) and the blackbox exporter
(``probe_success``, through probe services' selectors) export; ``alerts.metric_names``
renames any of the exporter ones for a Prometheus that has them under other names.

Per service: ``HighErrorRate`` for ratio services (the 5m error ratio, same
expression and no-traffic guard as the recording rules, written inline so this
file works on its own) and ``ServiceDown`` for probe services (``max`` over the
probes is 0: every probe fails).  The rest are fleet-wide and keep the labels of
the series they fire on (``instance``, ``job``, ...).
"""

from __future__ import annotations

import textwrap
from typing import Any

from slactl.config import Config
from slactl.promql.exprs import error_ratio_expr
from slactl.rules.burnrate import rule_services

# Pseudo file systems never fill up in a way that matters (or always look full).
FS_FILTER = 'fstype!~"tmpfs|ramfs|devtmpfs|squashfs|overlay|nsfs|fuse\\\\..*",mountpoint!=""'

GROUP = "slactl-infrastructure"


def _rule(name: str, expr: str, hold: str, severity: str, notes: dict[str, str], labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "alert": name,
        "expr": expr,
        "for": hold,
        "labels": {**(labels or {}), "severity": severity},
        "annotations": notes,
    }


def _runbook(cfg: Config, alert: str) -> dict[str, str]:
    base = cfg.alerts.runbook_base_url
    return {"runbook_url": f"{base.rstrip('/')}/{alert}"} if base else {}


def service_rules(cfg: Config) -> list[dict[str, Any]]:
    """``HighErrorRate`` per ratio service, ``ServiceDown`` per probe service."""
    names, _ = rule_services(cfg)
    out = []
    for name in names:
        svc = cfg.services[name]
        if svc.availability.kind == "ratio":
            out.append(
                _rule(
                    "HighErrorRate",
                    "(\n" + textwrap.indent(error_ratio_expr(svc, "5m"), "  ") + "\n) > 0.05",
                    "2m",
                    "critical",
                    {
                        "summary": f"{name} answers more than 5% of requests with errors",
                        "description": (
                            f"{{{{ $value | humanizePercentage }}}} of the requests to {name} failed "
                            "over the last 5 minutes (threshold 5%, for 2 minutes)."
                        ),
                        **_runbook(cfg, "HighErrorRate"),
                    },
                    {"service": name},
                )
            )
        else:
            out.append(
                _rule(
                    "ServiceDown",
                    f"max({str(svc.availability.probe).strip()}) == 0",
                    "2m",
                    "critical",
                    {
                        "summary": f"{name} is down: every probe fails",
                        "description": f"Every probe of {name} has been failing for 2 minutes.",
                        **_runbook(cfg, "ServiceDown"),
                    },
                    {"service": name},
                )
            )
    return out


def metric_name(cfg: Config, standard: str) -> str:
    """The name ``standard`` (an exporter's own name) has in the user's Prometheus."""
    return cfg.alerts.metric_names.get(standard, standard)


def fleet_rules(cfg: Config) -> list[dict[str, Any]]:
    """Database, disk, CPU, memory and query-time alerts over every exporter scraped."""

    def m(standard: str) -> str:
        return metric_name(cfg, standard)

    return [
        _rule(
            "DatabaseDown",
            f"{m('pg_up')} == 0",
            "1m",
            "critical",
            {
                "summary": "PostgreSQL on {{ $labels.instance }} is down",
                "description": "postgres_exporter on {{ $labels.instance }} cannot reach its database (pg_up is 0).",
                **_runbook(cfg, "DatabaseDown"),
            },
        ),
        _rule(
            "DiskAlmostFull",
            f"1 - {m('node_filesystem_avail_bytes')}{{{FS_FILTER}}}\n"
            f"  / ({m('node_filesystem_size_bytes')}{{{FS_FILTER}}} > 0)\n> 0.9",
            "5m",
            "critical",
            {
                "summary": "Filesystem {{ $labels.mountpoint }} on {{ $labels.instance }} is over 90% full",
                "description": (
                    "{{ $value | humanizePercentage }} of {{ $labels.mountpoint }} ({{ $labels.device }}) "
                    "on {{ $labels.instance }} is used."
                ),
                **_runbook(cfg, "DiskAlmostFull"),
            },
        ),
        _rule(
            "HighCPU",
            f"1 - avg by (job, instance) (rate({m('node_cpu_seconds_total')}"
            '{mode="idle"}[5m])) > 0.8',
            "10m",
            "warning",
            {
                "summary": "CPU on {{ $labels.instance }} is over 80% busy",
                "description": "The CPUs of {{ $labels.instance }} are {{ $value | humanizePercentage }} busy (mean over 5 minutes).",
                **_runbook(cfg, "HighCPU"),
            },
        ),
        _rule(
            "HighMemory",
            f"1 - {m('node_memory_MemAvailable_bytes')} / ({m('node_memory_MemTotal_bytes')} > 0)"
            " > 0.85",
            "10m",
            "warning",
            {
                "summary": "Memory on {{ $labels.instance }} is over 85% used",
                "description": "{{ $value | humanizePercentage }} of the memory of {{ $labels.instance }} is in use.",
                **_runbook(cfg, "HighMemory"),
            },
        ),
        _rule(
            "SlowQueries",
            f"sum by (job, instance, datname) (rate({m('pg_stat_statements_seconds_total')}[5m]))\n"
            f"  / (sum by (job, instance, datname) (rate({m('pg_stat_statements_calls_total')}[5m]))"
            " > 0)\n> 0.1",
            "5m",
            "warning",
            {
                "summary": "Queries on {{ $labels.instance }} ({{ $labels.datname }}) take over 100ms on average",
                "description": (
                    "The mean query time of database {{ $labels.datname }} on {{ $labels.instance }} "
                    "is {{ $value | humanizeDuration }} over the last 5 minutes (pg_stat_statements)."
                ),
                **_runbook(cfg, "SlowQueries"),
            },
        ),
    ]


def infrastructure_rules(cfg: Config) -> dict[str, Any]:
    """The ``groups:`` document of the threshold pack."""
    return {"groups": [{"name": GROUP, "rules": service_rules(cfg) + fleet_rules(cfg)}]}
