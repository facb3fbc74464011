"""The monthly report (SPEC section 4): store → figures → one JSON-ready dict.

Figures are computed by the pure ``sli``/``sla`` layers; this module only
gathers each service's stored minutes, its maintenance windows and its targets,
and lays the results out in the SPEC's shape.  The dict holds only plain
Python values in a fixed order, so the same data and config always serialise to
the same bytes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from slactl.config import Config, percentile_q
from slactl.model import GroupKey, MinuteSeries, Period, combine, minute_to_iso
from slactl.sla.verdicts import latency_verdicts, tier_verdicts
from slactl.sli import latency, states
from slactl.sli.period import local_days, maintenance_mask
from slactl.store.sql import Store

STANDARD_PERCENTILES = ("p50", "p95", "p99")


@dataclass
class ServiceMinutes:
    """What the figures of one service are computed from, kept for later stages."""

    name: str
    groups: dict[GroupKey, MinuteSeries]
    combined: MinuteSeries
    excluded: np.ndarray
    states: np.ndarray


def maintenance_windows(cfg: Config, service: str) -> list[tuple[datetime, datetime]]:
    return [(m.start, m.end) for m in cfg.maintenance if m.services is None or service in m.services]


def service_minutes(cfg: Config, store: Store, name: str, period: Period) -> ServiceMinutes:
    svc = cfg.services[name]
    groups = store.load(name, period.start, period.end)
    combined = combine(list(groups.values()), svc.availability.kind, period.start, period.end)
    excluded = maintenance_mask(period, maintenance_windows(cfg, name))
    st = states.minute_states(combined.good_ratio(), excluded, svc.slice_threshold, svc.no_data)
    return ServiceMinutes(name, groups, combined, excluded, st)


def percentile_keys(cfg: Config) -> list[str]:
    keys = list(STANDARD_PERCENTILES)
    keys += [k for k in cfg.latency_targets_seconds if k not in keys]
    return sorted(keys, key=percentile_q)


def daily(sm: ServiceMinutes, period: Period) -> list[dict]:
    """Per local calendar day: minute counts and uptime, for charts and status bars."""
    out = []
    for date, a, b in local_days(period):
        counts = states.count_states(sm.states[a - period.start : b - period.start])
        out.append(
            {
                "date": date,
                "uptime_percent": _num(states.uptime_percent(counts)),
                "minutes": {k: int(v) for k, v in counts.items()},
            }
        )
    return out


def service_figures(cfg: Config, sm: ServiceMinutes, period: Period) -> dict:
    """One service's entry of ``report.services`` (SPEC section 4)."""
    svc = cfg.services[sm.name]
    counts = states.count_states(sm.states)
    uptime = states.uptime_percent(counts)
    incidents = states.incidents(sm.states, sm.combined.start, svc.incident_merge_gap_minutes)
    ms = sm.combined
    error_ratio = None
    if ms.kind == "ratio":
        assert ms.errors is not None and ms.total is not None
        error_ratio = states.error_ratio(ms.errors, ms.total, sm.excluded)
    has_histogram = svc.latency is not None
    lat_values: dict | None = None
    lat_bounds: dict | None = None
    lat_verdicts: dict | None = None
    if has_histogram:
        month = latency.month_buckets(ms.buckets, sm.excluded)
        lat_values, lat_bounds = {}, {}
        for key in percentile_keys(cfg):
            q = latency.histogram_quantile(percentile_q(key), month)
            lat_values[key] = _num(q.value)
            lat_bounds[key] = None if q.value is None else [_num(q.lower), _num(q.upper)]
        lat_verdicts = latency_verdicts(lat_values, cfg.latency_targets_seconds)
    return {
        "uptime_percent": _num(uptime),
        "minutes": {k: int(v) for k, v in counts.items()},
        "coverage_percent": _num(states.coverage_percent(ms.has_data, sm.excluded)),
        "incidents": [
            {"start": minute_to_iso(a), "end": minute_to_iso(b), "duration_minutes": int(b - a)} for a, b in incidents
        ],
        "incident_count": len(incidents),
        "mttr_minutes": _num(states.mttr_minutes(incidents)),
        "error_ratio": _num(error_ratio),
        "latency_seconds": lat_values,
        "latency_bounds_seconds": lat_bounds,
        "tiers": tier_verdicts(uptime, {n: t.uptime_target for n, t in cfg.tiers.items()}),
        "latency_targets": lat_verdicts,
        # Extensions beyond the SPEC's fields:
        "kind": ms.kind,
        "objective": cfg.objective_for(sm.name),
        "slice_threshold": svc.slice_threshold,
        "no_data_policy": svc.no_data,
        "daily": daily(sm, period),
    }


def monthly_report(cfg: Config, store: Store, period: Period) -> tuple[dict, dict[str, ServiceMinutes]]:
    """The report dict for ``period`` from what the store holds, plus the minutes behind it."""
    minutes = {name: service_minutes(cfg, store, name, period) for name in cfg.services}
    report = {
        "month": period.month,
        "timezone": period.timezone,
        "period": {"start": minute_to_iso(period.start), "end": minute_to_iso(period.end)},
        "services": {name: service_figures(cfg, sm, period) for name, sm in minutes.items()},
    }
    return report, minutes


def _num(value: float | None) -> float | None:
    """Plain float for JSON; NaN/inf cannot be JSON numbers, so they become null."""
    if value is None:
        return None
    v = float(value)
    return v if math.isfinite(v) else None
