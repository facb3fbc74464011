"""From minute states to typed figures, with the pure ``sli`` and ``sla`` functions only."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from slactl.figures.month import Incident, LatencyVerdict, Minutes, Percentile, TierVerdict, Uptime
from slactl.sla import verdicts
from slactl.sli import states
from slactl.sli.severity import severity


def minutes_of(st: np.ndarray) -> Minutes:
    return minutes_from(states.count_states(st))


def minutes_from(c: Mapping[str, int]) -> Minutes:
    """The typed minute counts of a :func:`~slactl.sli.states.count_states` result."""
    return Minutes(c["total"], c["up"], c["down"], c["no_data"], c["excluded"])


def uptime_of(st: np.ndarray, start: int, merge_gap: int, major: int, critical: int) -> Uptime:
    """Uptime, minutes, incidents with severity and MTTR of one array of minute states."""
    counts = states.count_states(st)
    found = states.incidents(st, start, merge_gap)
    return Uptime(
        uptime_percent=finite(states.uptime_percent(counts)),
        minutes=minutes_of(st),
        incidents=tuple(Incident(a, b, severity(b - a, major, critical)) for a, b in found),
        mttr_minutes=finite(states.mttr_minutes(found)),
    )


def tier_verdicts(uptime: float | None, targets: Mapping[str, float]) -> dict[str, TierVerdict]:
    return {t: TierVerdict(v["target"], v["met"]) for t, v in verdicts.tier_verdicts(uptime, targets).items()}


def latency_verdicts(
    latency: Mapping[str, Percentile], targets: Mapping[str, float]
) -> dict[str, LatencyVerdict]:
    values = {k: p.value for k, p in latency.items()}
    bounds = {k: (p.lower, p.upper) for k, p in latency.items() if p.value is not None}
    out = verdicts.latency_verdicts(values, targets, bounds)
    return {k: LatencyVerdict(v["target"], v["met"], v["certain"]) for k, v in out.items()}


def finite(value: float | None) -> float | None:
    """A plain float, or None for NaN/inf (which cannot be JSON numbers)."""
    if value is None:
        return None
    v = float(value)
    return v if np.isfinite(v) else None
