"""All dashboards of a config as JSON files, byte for byte the same for the same config.

File names follow the uids (``slactl-<name>`` → ``<name>.json``), which are stable
and derived from names, and the JSON comes from grafanalib's own encoder, tidied to
Grafana's current dashboard schema, with sorted keys, so a checked-in copy shows
when it is stale.
"""

from __future__ import annotations

import json

from grafanalib._gen import DashboardEncoder
from grafanalib.core import Dashboard

from slactl.config import Config
from slactl.dashboards import (
    api_performance,
    business,
    database,
    overview,
    slo_detail,
    system_health,
)
from slactl.dashboards.common import prometheus_services
from slactl.dashboards.tidy import tidy

UID_PREFIX = "slactl-"


def dashboards(cfg: Config) -> list[Dashboard]:
    """Every dashboard, in a fixed order: overview, SLO details, then the platform four."""
    return [
        overview.build(cfg),
        *(slo_detail.build(cfg, name) for name in prometheus_services(cfg)),
        system_health.build(cfg),
        api_performance.build(cfg),
        database.build(cfg),
        business.build(
            cfg,
            business.BusinessMetrics(**cfg.dashboards.business.model_dump()),
        ),
    ]


def file_name(dash: Dashboard) -> str:
    uid = str(dash.uid)
    return (uid[len(UID_PREFIX) :] if uid.startswith(UID_PREFIX) else uid) + ".json"


def to_json(dash: Dashboard) -> bytes:
    """Grafana dashboard JSON (what the UI's import and the HTTP API take).

    grafanalib's encoder turns the objects into plain JSON, then :func:`tidy`
    removes what Grafana's dashboard schema no longer allows.
    """
    plain = json.loads(json.dumps(dash.to_json_data(), cls=DashboardEncoder))
    text = json.dumps(tidy(plain), sort_keys=True, indent=2, ensure_ascii=False)
    return (text + "\n").encode("utf-8")


def build_all(cfg: Config) -> dict[str, bytes]:
    """File name → JSON bytes of every dashboard of the config."""
    files: dict[str, bytes] = {}
    for dash in dashboards(cfg):
        name = file_name(dash)
        if name in files:  # uids are unique per service name, so this is a bug
            raise AssertionError(f"two dashboards would be written to {name}")
        files[name] = to_json(dash)
    return files
