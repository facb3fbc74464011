"""The status page's rules and figures (SPEC sections 3 and 7), pure and typed.

The page and the monthly report read the same minutes; what the page *says*
about them (a service's state now, the overall indicator, a day's colour,
which down runs make one incident) is decided here, with no store, clock or
file behind it, so each rule can be tested alone.  :mod:`slactl.app.statuspage`
fills these figures, :mod:`slactl.render.statuspage` formats them.

Current state of a service, first match wins (``RECENT`` = the last 5 settled
minutes, after the service's ``no_data`` policy):

- ``under_maintenance``: a maintenance window of the service covers ``at``;
- ``major_outage``: at least half of the recent measured minutes are down;
- ``partial_outage``: some recent minute is down, or one group of its series
  (``group_by``: some customers) is down in at least half of them;
- ``degraded_performance``: the recent good ratio (request-weighted) is below
  ``1 - DEGRADED_SHARE × (1 - slice_threshold)``, i.e. 0.99 for the 0.95 default;
- ``operational`` otherwise, also when no recent minute has data (the page then
  says "no recent data": Statuspage's shape has no "unknown").

Overall indicator: ``critical`` when every service not in maintenance is in
``major_outage`` or an open incident is critical; ``major`` for any outage or an
open major incident; ``minor`` for degraded performance or an open minor
incident; ``none`` otherwise.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import numpy as np

from slactl.model import DOWN, UP, MinuteSeries
from slactl.sli import states

RECENT = 5  # minutes: the current state's window; a run that ended this recently is still monitored
DEGRADED_SHARE = 0.2

ComponentStatus = Literal["operational", "degraded_performance", "partial_outage", "major_outage", "under_maintenance"]
Indicator = Literal["none", "minor", "major", "critical"]
DayLevel = Literal["ok", "minor", "major", "critical", "maintenance", "none"]

IMPACT_RANK: dict[str, int] = {"none": 0, "minor": 1, "major": 2, "critical": 3}
DESCRIPTIONS: dict[Indicator, str] = {
    "none": "All Systems Operational",
    "minor": "Minor Service Outage",
    "major": "Partial System Outage",
    "critical": "Major System Outage",
}
STATUS_RANK = {"operational": 0, "degraded_performance": 1, "partial_outage": 2, "major_outage": 3}
SEVERITY_STATUS: dict[str, ComponentStatus] = {
    "minor": "degraded_performance",
    "major": "partial_outage",
    "critical": "major_outage",
}


@dataclass(frozen=True)
class ServiceState:
    status: ComponentStatus
    note: str  # a short remark beside the state ("no recent data"), else ""


@dataclass(frozen=True)
class DayStatus:
    """One local day of a service: its minute counts, uptime and the colour of its bar."""

    date: str  # ISO date, local
    uptime_percent: float | None
    level: DayLevel
    total: int
    up: int
    down: int
    no_data: int
    excluded: int


@dataclass(frozen=True)
class ServiceStatus:
    key: str
    name: str
    group: str | None
    id: str
    description: str | None
    position: int
    status: ComponentStatus
    note: str
    uptime_percent: float | None  # over the whole window
    down_minutes: int
    recent_days: int  # the days a narrow screen shows
    recent_uptime_percent: float | None
    days: tuple[DayStatus, ...]


@dataclass(frozen=True)
class Overall:
    indicator: Indicator
    description: str


@dataclass(frozen=True)
class StatusUpdate:
    id: str
    status: str
    at: datetime
    body: str
    markdown: bool = False  # written by a person in Markdown (a post), else plain text


@dataclass(frozen=True)
class DownRun:
    service: str
    start: datetime
    end: datetime
    minutes: int


@dataclass(frozen=True)
class PageIncident:
    """An incident (detected, posted, or both) or a scheduled maintenance, as the page lists it."""

    id: str
    name: str
    status: str
    impact: str  # minor, major, critical, or maintenance
    services: tuple[str, ...]
    service_names: tuple[str, ...]
    started_at: datetime
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None
    updates: tuple[StatusUpdate, ...]  # newest first
    monitoring_at: datetime | None = None
    file: str | None = None  # the post it comes from
    detected: bool = False  # measured down runs are part of it
    post_services: tuple[str, ...] | None = None  # what an open post may set the state of
    down: tuple[DownRun, ...] = ()
    body: str = ""  # the post's Markdown body as written
    scheduled_for: datetime | None = None  # maintenance only
    scheduled_until: datetime | None = None


@dataclass(frozen=True)
class StatusPage:
    title: str
    id: str
    url: str
    timezone: str
    at: datetime
    as_of: datetime
    window_start: datetime
    days: int
    mobile_days: int
    status: Overall
    services: tuple[ServiceStatus, ...]
    incidents: tuple[PageIncident, ...]
    maintenances: tuple[PageIncident, ...]


# --------------------------------------------------------------------------- services


def day_status(date: str, day_states: np.ndarray) -> DayStatus:
    """A day's bar: no downtime ``ok``; under 1% down ``minor``, under 5% ``major``, else ``critical``."""
    counts = states.count_states(day_states)
    uptime = states.uptime_percent(counts)
    level: DayLevel
    if uptime is None:
        level = "maintenance" if counts["excluded"] else "none"
    elif counts["down"] == 0:
        level = "maintenance" if counts["excluded"] else "ok"
    else:
        level = "minor" if uptime >= 99.0 else ("major" if uptime >= 95.0 else "critical")
    return DayStatus(date, uptime, level, counts["total"], counts["up"], counts["down"], counts["no_data"],
                     counts["excluded"])  # fmt: skip


def good_share(window: MinuteSeries, excluded: np.ndarray) -> float:
    """The good share of the measured minutes of ``window``: request-weighted for ratio services."""
    measured = window.has_data & ~excluded
    if window.kind == "ratio":
        assert window.errors is not None and window.total is not None
        total = float(window.total[measured].sum())
        return 1.0 - float(window.errors[measured].sum()) / total if total > 0 else 1.0
    ratios = window.good_ratio()[measured]
    return float(np.nanmean(ratios)) if ratios.size else 1.0


def current_status(
    recent: np.ndarray, groups: Iterable[np.ndarray], good: Callable[[], float], slice_threshold: float,
    in_maintenance: bool,
) -> ServiceState:  # fmt: skip
    """A service's state now from its recent minute states (see the module docstring).

    ``groups`` are the recent states of each of its groups, ``good`` its recent
    good share (:func:`good_share`); both are read only when the rule needs them.
    """
    if in_maintenance:
        return ServiceState("under_maintenance", "")
    up, down = int(np.count_nonzero(recent == UP)), int(np.count_nonzero(recent == DOWN))
    if up + down == 0:
        return ServiceState("operational", "no recent data")
    if 2 * down >= up + down:
        return ServiceState("major_outage", "")
    for g in groups:
        g_up, g_down = int(np.count_nonzero(g == UP)), int(np.count_nonzero(g == DOWN))
        if g_down and 2 * g_down >= g_up + g_down:
            return ServiceState("partial_outage", "some customers affected")
    if down:
        return ServiceState("partial_outage", "")
    share = good()
    if share < 1.0 - DEGRADED_SHARE * (1.0 - slice_threshold):
        return ServiceState("degraded_performance", f"{100 * (1 - share):.1f}% errors")
    return ServiceState("operational", "")


def with_open_post(status: ComponentStatus, impact: str) -> ComponentStatus:
    """An open post says how bad it is for its services, as on Statuspage (maintenance stays)."""
    if status == "under_maintenance":
        return status
    return max(status, SEVERITY_STATUS[impact], key=STATUS_RANK.__getitem__)


def overall(services: Sequence[ComponentStatus], open_impacts: Iterable[str]) -> Overall:
    """Statuspage's ``status``: the worst of the services' states and open incidents' impact."""
    level = max([IMPACT_RANK[i] for i in open_impacts] or [0])
    live = [s for s in services if s != "under_maintenance"]
    if live and all(s == "major_outage" for s in live):
        level = 3
    elif any(s in ("major_outage", "partial_outage") for s in live):
        level = max(level, 2)
    elif "degraded_performance" in live:
        level = max(level, 1)
    indicator = next(k for k in DESCRIPTIONS if IMPACT_RANK[k] == level)
    desc = DESCRIPTIONS[indicator]
    if indicator == "none" and "under_maintenance" in services:
        desc = "Service Under Maintenance"
    return Overall(indicator, desc)


# --------------------------------------------------------------------------- detected incidents


@dataclass(frozen=True)
class Cluster:
    """Overlapping down runs of one or more services: one detected incident."""

    start: int  # epoch minutes, end exclusive
    end: int
    runs: tuple[tuple[str, int, int], ...]  # (service, start, end)
    services: tuple[str, ...]  # in configuration order
    ongoing: bool  # still down at the end of the window


def clusters(runs: Iterable[tuple[int, int, str]], order: Sequence[str], end: int) -> list[Cluster]:
    """Runs ``(start, end, service)`` of every service, overlapping runs of several services made one."""
    groups: list[tuple[int, int, list[tuple[str, int, int]]]] = []
    for a, b, name in sorted(runs):
        if groups and a <= groups[-1][1]:
            s, e, members = groups[-1]
            members.append((name, a, b))
            groups[-1] = (s, max(e, b), members)
        else:
            groups.append((a, b, [(name, a, b)]))
    return [_cluster(members, order, end) for _, _, members in groups]


def _cluster(members: Sequence[tuple[str, int, int]], order: Sequence[str], end: int) -> Cluster:
    a, b = min(r[1] for r in members), max(r[2] for r in members)
    svcs = tuple(sorted({r[0] for r in members}, key=list(order).index))
    return Cluster(a, b, tuple(members), svcs, b >= end)


def split_cluster(c: Cluster, named: set[str], order: Sequence[str], end: int) -> tuple[Cluster, Cluster]:
    """A cluster cut into the runs of the ``named`` services and the rest (both must be non-empty)."""
    mine = [r for r in c.runs if r[0] in named]
    rest = [r for r in c.runs if r[0] not in named]
    return _cluster(mine, order, end), _cluster(rest, order, end)
