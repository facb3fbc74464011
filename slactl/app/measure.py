"""The monthly report's figures (SPEC sections 2 and 4): store → typed ``figures``.

Figures are computed by the pure ``sli``/``sla`` layers through
``figures.compute``; this module only gathers each service's stored minutes,
its maintenance windows and its targets.  History months are read from the
store alone: a month the store lacks is ``None``, never pulled from a source.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import numpy as np

from slactl.config import Config, percentile_q
from slactl.figures import compute
from slactl.figures.month import (
    Company,
    Day,
    GroupMonth,
    HistoryMonth,
    MonthReport,
    Percentile,
    ServiceMonth,
    Summary,
    Throughput,
    Uptime,
)
from slactl.model import GroupKey, Kind, MinuteSeries, Period, combine
from slactl.runtime import map_halves
from slactl.sli import latency, states
from slactl.sli.period import local_days, maintenance_mask, month_period
from slactl.sli.platform import composite_states, platform_merge_gap
from slactl.store.sql import Store

STANDARD_PERCENTILES = ("p50", "p95", "p99")


class ServiceMinutes:
    """One service's minute states, kept for later stages; its float minutes only while needed.

    A 2,000-series month holds tens of megabytes of per-group float arrays per
    service.  Keeping them all until the report is written pushed the peak
    past a gigabyte, so a report computes each service's figures while its
    minutes are loaded, then :meth:`release` keeps only the int8 states and the
    maintenance mask.  Later readers of :attr:`groups` (credits, the status page)
    get the same minutes read back from the store, one service at a time.
    """

    def __init__(
        self, name: str, kind: Kind, period: Period, excluded: np.ndarray, states: np.ndarray,
        load: Callable[[], dict[GroupKey, MinuteSeries]], groups: dict[GroupKey, MinuteSeries] | None = None,
        combined: MinuteSeries | None = None,
    ) -> None:  # fmt: skip
        self.name = name
        self.kind = kind
        self.start, self.end = period.start, period.end
        self.excluded = excluded
        self.states = states
        self._load = load
        self._groups = groups
        self._combined = combined if groups is not None else None

    @property
    def groups(self) -> dict[GroupKey, MinuteSeries]:
        """Every group's minutes: held while the service is being computed, else read again."""
        return self._groups if self._groups is not None else self._load()

    @property
    def combined(self) -> MinuteSeries:
        """The service-level sum of its groups (built on each use; see :meth:`release`)."""
        if self._combined is not None:
            return self._combined
        combined = combine(list(self.groups.values()), self.kind, self.start, self.end)
        if self._groups is not None:
            self._combined = combined
        return combined

    def release(self) -> None:
        """Drop the float minutes; :attr:`groups` reads them from the store if asked again."""
        self._groups = None
        self._combined = None


def company_of(cfg: Config) -> Company:
    """The issuer as the figures carry it (statements print it, reports name it)."""
    c = cfg.company
    return Company(c.name, c.contact, tuple(c.address), c.claim_days, c.locale)


def maintenance_windows(cfg: Config, service: str) -> list[tuple[datetime, datetime]]:
    return [(m.start, m.end) for m in cfg.maintenance if m.services is None or service in m.services]


def service_minutes(cfg: Config, store: Store, name: str, period: Period) -> ServiceMinutes:
    """A service's states, with its groups' minutes held until :meth:`ServiceMinutes.release`."""
    svc = cfg.services[name]
    groups = store.load(name, period.start, period.end)
    kind = svc.availability.kind
    combined = combine(list(groups.values()), kind, period.start, period.end)
    excluded = maintenance_mask(period, maintenance_windows(cfg, name))
    st = states.minute_states(combined.good_ratio(), excluded, svc.slice_threshold, svc.no_data)
    return ServiceMinutes(name, kind, period, excluded, st, _reloader(store, name, period), groups, combined)


def _reloader(store: Store, name: str, period: Period) -> Callable[[], dict[GroupKey, MinuteSeries]]:
    return lambda: store.load(name, period.start, period.end)


def percentile_keys(cfg: Config) -> list[str]:
    keys = list(STANDARD_PERCENTILES)
    keys += [k for k in cfg.latency_targets_seconds if k not in keys]
    return sorted(keys, key=percentile_q)


def _uptime(cfg: Config, st: np.ndarray, start: int, merge_gap: int) -> Uptime:
    sev = cfg.incidents.severity
    return compute.uptime_of(st, start, merge_gap, sev.major_minutes, sev.critical_minutes)


def daily(sm: ServiceMinutes, period: Period) -> tuple[Day, ...]:
    """Per local calendar day: minute counts and uptime, for charts and status bars."""
    days = local_days(period)
    st = sm.states[: days[-1][2] - period.start] if days else sm.states[:0]
    counts = states.count_states_by_part(st, [a - period.start for _, a, _ in days])
    return tuple(
        Day(date, compute.finite(states.uptime_percent(c)), compute.minutes_from(c))
        for (date, _, _), c in zip(days, counts, strict=True)
    )


def objective_source(cfg: Config, name: str) -> str:
    """Where a service's objective comes from, in words for the report."""
    obj = cfg.objective_of(name)
    if obj.source == "service":
        return "set for this service in the configuration"
    if obj.source == "default":
        return f"the default {obj.target}%: no customer uses this service"
    who = sorted(cfg.customer_name(k) for k in obj.customers)
    return f"the {obj.tier} tier ({obj.target}%) of {', '.join(who)}, the highest tier among this service's customers"


def group_figures(cfg: Config, sm: ServiceMinutes) -> tuple[GroupMonth, ...]:
    """Each ``group_by`` group's own uptime, so one tenant's outage is not lost in the sum."""
    svc = cfg.services[sm.name]
    if not svc.group_by:
        return ()
    out = []
    start, end = sm.start, sm.end
    for key, ms in sorted(sm.groups.items()):
        w = ms.window(start, end)
        st = states.minute_states(w.good_ratio(), sm.excluded, svc.slice_threshold, svc.no_data)
        out.append(GroupMonth(key, _uptime(cfg, st, start, svc.incident_merge_gap_minutes)))
    return tuple(out)


def throughput(ms: MinuteSeries, excluded: np.ndarray) -> Throughput | None:
    """Mean and peak requests per second over the measured minutes (ratio services only).

    A minute right after a scrape gap holds every request of the gap (SPEC 2.2),
    so each minute's count is spread over the minutes since the last one with
    data, as Prometheus' ``rate`` would; otherwise a gap would show as a peak.
    """
    if ms.kind != "ratio" or ms.total is None:
        return None
    idx = np.flatnonzero(ms.has_data)
    keep = ms.has_data & ~excluded
    if not keep.any():
        return Throughput(None, None, None)
    elapsed = np.diff(np.concatenate(([idx[0] - 1], idx)))
    rate = np.full(len(ms), -1.0)
    rate[idx] = ms.total[idx] / (elapsed * 60.0)
    rate[~keep] = -1.0
    peak = int(np.argmax(rate))
    mean = float(ms.total[keep].sum()) / (int(keep.sum()) * 60)
    return Throughput(mean, float(rate[peak]), ms.start + peak)


def service_month(cfg: Config, sm: ServiceMinutes, period: Period) -> ServiceMonth:
    """One service's month (SPEC section 4)."""
    svc = cfg.services[sm.name]
    ms = sm.combined
    up = _uptime(cfg, sm.states, ms.start, svc.incident_merge_gap_minutes)
    error_ratio = None
    if ms.kind == "ratio":
        assert ms.errors is not None and ms.total is not None
        error_ratio = compute.finite(states.error_ratio(ms.errors, ms.total, sm.excluded))
    lat: dict[str, Percentile] | None = None
    lat_verdicts = None
    if svc.latency is not None:
        month = latency.month_buckets(ms.buckets, sm.excluded)
        lat = {}
        for key in percentile_keys(cfg):
            q = latency.histogram_quantile(percentile_q(key), month)
            value = compute.finite(q.value)
            lat[key] = Percentile(value, None if value is None else compute.finite(q.lower),
                                  None if value is None else compute.finite(q.upper))  # fmt: skip
        lat_verdicts = compute.latency_verdicts(lat, cfg.latency_targets_seconds)
    return ServiceMonth(
        key=sm.name,
        name=cfg.display_name(sm.name),
        description=svc.description,
        group=svc.group,
        kind=ms.kind,
        uptime=up,
        coverage_percent=compute.finite(states.coverage_percent(ms.has_data, sm.excluded)),
        error_ratio=error_ratio,
        latency=lat,
        tiers=compute.tier_verdicts(up.uptime_percent, {n: t.uptime_target for n, t in cfg.tiers.items()}),
        latency_targets=lat_verdicts,
        objective=cfg.objective_for(sm.name),
        objective_source=objective_source(cfg, sm.name),
        slice_threshold=svc.slice_threshold,
        no_data_policy=svc.no_data,
        daily=daily(sm, period),
        groups=group_figures(cfg, sm),
        throughput=throughput(ms, sm.excluded),
    )


def platform_uptime(cfg: Config, minutes: dict[str, ServiceMinutes], start: int) -> Uptime | None:
    """The platform's month (SPEC 2.10): every service's minute by the customer rule."""
    if not minutes:
        return None
    st = composite_states([sm.states for sm in minutes.values()])
    gap = platform_merge_gap([cfg.services[n].incident_merge_gap_minutes for n in minutes])
    return _uptime(cfg, st, start, gap)


def history_month(cfg: Config, store: Store, month: str) -> HistoryMonth:
    """One month of the history from the store only; services without a stored minute are None."""
    period = month_period(month, cfg.timezone)
    present = {}
    services: dict[str, Summary | None] = {}
    covered = store.covered(period.start, period.end)
    for name in cfg.services:
        if not covered.get(name):
            services[name] = None
            continue
        sm = service_minutes(cfg, store, name, period)
        sm.release()
        present[name] = sm
        services[name] = Summary.of(_uptime(cfg, sm.states, period.start, cfg.services[name].incident_merge_gap_minutes))
    plat = platform_uptime(cfg, present, period.start)
    return HistoryMonth(month, None if plat is None else Summary.of(plat), services)


def months_before(month: str, n: int) -> list[str]:
    """The ``n`` calendar months before ``month``, oldest first."""
    year, mon = int(month[:4]), int(month[5:7])
    out = []
    for _ in range(n):
        year, mon = (year - 1, 12) if mon == 1 else (year, mon - 1)
        out.append(f"{year:04d}-{mon:02d}")
    return out[::-1]


def measure_month(
    cfg: Config, store: Store, period: Period, *, complete: bool = True
) -> tuple[MonthReport, dict[str, ServiceMinutes]]:
    """The typed report for ``period`` from what the store holds, plus the minutes behind it.

    ``period`` may be cut short (a month still running); the report then spans
    the full calendar month and says until when it was measured.
    """
    full = month_period(period.month, cfg.timezone)

    def figures_of(name: str) -> tuple[np.ndarray, np.ndarray, ServiceMonth]:
        # One service's float minutes at a time: figures first, then keep only its states.
        sm = service_minutes(cfg, store, name, period)
        return sm.excluded, sm.states, service_month(cfg, sm, period)

    names = list(cfg.services)
    minutes: dict[str, ServiceMinutes] = {}
    services: dict[str, ServiceMonth] = {}
    for name, (excluded, st, month) in zip(names, map_halves(figures_of, names, in_child=store.after_fork), strict=True):
        kind = cfg.services[name].availability.kind
        minutes[name] = ServiceMinutes(name, kind, period, excluded, st, _reloader(store, name, period))
        services[name] = month
    platform = platform_uptime(cfg, minutes, period.start)
    gap = platform_merge_gap([s.incident_merge_gap_minutes for s in cfg.services.values()])
    current = HistoryMonth(
        period.month,
        None if platform is None else Summary.of(platform),
        {n: Summary.of(s.uptime) for n, s in services.items()},
    )
    history = [history_month(cfg, store, m) for m in months_before(period.month, cfg.report.history_months)]
    report = MonthReport(
        month=period.month,
        timezone=period.timezone,
        start=full.start,
        end=full.end,
        complete=complete,
        as_of=None if complete else period.end,
        company=company_of(cfg),
        services=services,
        platform=platform,
        platform_merge_gap=gap,
        severity_minutes=(cfg.incidents.severity.major_minutes, cfg.incidents.severity.critical_minutes),
        history=(*history, current),
    )
    return report, minutes
