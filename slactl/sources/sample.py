"""The built-in ``sample`` source: a realistic month of data with no server at all.

It is what ``slactl demo`` runs on, so it has to look like production: diurnal
and weekly traffic, a low background error rate, one or two outages a month
(mostly blips of 3–12 down minutes, now and then one of 15–39), one partial degradation that stays above the 0.95 threshold, one
or two process restarts (counters drop to zero) and, for one service a month, a
few minutes where scrapes failed.  With ``group_by``, each configured customer's
``match`` values get a series, plus ``internal``; outages hit all or just one.

Everything is a pure function of ``(seed, service, group, minute)``: each UTC
day of each group is generated whole from a Philox stream keyed by
``(seed, service, group, day)`` and then sliced, and the month's events come
from a stream keyed by ``(seed, service, month)``, so fetching ``[a, c)`` in one
go or as ``[a, b)`` and ``[b, c)`` gives identical arrays.

Counters are modelled as a process counting requests, scraped every 15 s (four
samples a minute).  The per-minute increases returned are exactly what
Prometheus semantics give for those samples (SPEC 2.2); :func:`counter_samples`
rebuilds the raw samples so tests can check that with
:func:`slactl.sli.counters.increases`.
"""

from __future__ import annotations

import hashlib
import math
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from slactl.config import Config, SampleSource, Service
from slactl.model import GroupKey, MinuteSeries, minute_of
from slactl.sources.base import FetchRequest, FetchResult, Injected, register

BOUNDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, math.inf)
DAY = 1440
SCRAPES = 4  # samples per minute (15 s scrape interval)
# Rows of a day's counter matrix: total, errors, then the finite histogram buckets
# (the +Inf bucket is the total).
TOTAL, ERRORS, FIRST_BUCKET = 0, 1, 2
ROWS = FIRST_BUCKET + len(BOUNDS) - 1
INTERNAL = "internal"


def _rng(*parts: object) -> np.random.Generator:
    """A counter-based stream keyed by ``parts``: no state carries between calls."""
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=16).digest()
    return np.random.Generator(np.random.Philox(key=int.from_bytes(digest, "little")))


def _phi(z: np.ndarray) -> np.ndarray:
    """Standard normal CDF (Abramowitz–Stegun 7.1.26, error < 2e-7; no SciPy needed)."""
    x = np.abs(z) / math.sqrt(2.0)
    t = 1.0 / (1.0 + 0.3275911 * x)
    poly = (
        (((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592
    ) * t
    return 0.5 * (1.0 + np.sign(z) * (1.0 - poly * np.exp(-x * x)))


def _poisson(r: np.random.Generator, lam: np.ndarray) -> np.ndarray:
    """Poisson draws, normal-approximated where the mean is large."""
    out = np.maximum(np.rint(lam + np.sqrt(lam) * r.standard_normal(lam.shape)), 0).astype(np.int64)
    exact = lam < 50.0
    out[exact] = r.poisson(lam[exact])
    return out


@dataclass(frozen=True)
class Event:
    """Something that happens to a service: an outage, degradation, restart or gap."""

    kind: str  # "outage" | "degraded" | "restart" | "gap"
    start: int  # epoch minute
    end: int  # epoch minute just after
    level: float = 0.0  # error ratio (outage, degraded) or lost part of the interval (restart)
    target: int | None = None  # outage of one group only: its index in the sorted groups, mod count
    scrape: int = 0  # restart: which of the minute's four scrape intervals it falls in


@dataclass(frozen=True)
class DayData:
    """One group's UTC day: what the process counted and what Prometheus reports."""

    day: int  # epoch day
    natural: np.ndarray  # (ROWS, 1440) counts made in each minute
    observed: np.ndarray  # (ROWS, 1440) per-minute increases as SPEC 2.2 defines them
    has_data: np.ndarray  # bool, False where scrapes failed
    probe: np.ndarray  # probe mean per minute (used by probe-form services)
    restart: Event | None
    gap: Event | None


def _restart_split(
    counts: np.ndarray, before: np.ndarray, ev: Event
) -> tuple[np.ndarray, np.ndarray]:
    """The restart interval's counts and the value the counters restart at.

    ``before`` (what the day counted earlier) is a lower bound on the counter
    just before the restart; capping the restarted value below it guarantees
    Prometheus sees a drop, so the increase is exact without the month's history.
    """
    q, r = np.divmod(counts, SCRAPES)
    interval = q + (ev.scrape < r)
    post = interval - np.floor(interval * ev.level).astype(np.int64)
    return interval, np.minimum(post, np.maximum(before - 1, 0))


def counter_samples(
    d: DayData, row: int, base: float, phase_s: float = 7.0
) -> tuple[np.ndarray, np.ndarray]:
    """Raw 15 s samples (unix seconds, values) of one counter over a day.

    ``base`` is the counter's last value before the day.  Each minute's count
    is spread over its four scrape intervals; gap minutes have no samples.
    """
    counts = d.natural[row]
    inter = (counts // SCRAPES)[:, None] + (
        np.arange(SCRAPES)[None, :] < (counts % SCRAPES)[:, None]
    )
    flat = inter.ravel().astype(np.float64)
    values = base + np.cumsum(flat)
    if d.restart is not None:
        m = d.restart.start - d.day * DAY
        j = m * SCRAPES + d.restart.scrape
        _, post = _restart_split(counts[m : m + 1], d.natural[row : row + 1, :m].sum(1), d.restart)
        values[j:] = post[0] + np.concatenate(([0.0], np.cumsum(flat[j + 1 :])))
    times = d.day * 86400.0 + np.arange(DAY * SCRAPES) * 15.0 + phase_s
    keep = np.repeat(d.has_data, SCRAPES)
    return times[keep], values[keep]


@dataclass(frozen=True)
class _Profile:
    base_rate: float  # requests per minute at the daily peak
    median_s: float
    sigma: float
    phase_h: float
    bg_error: float


class SampleAdapter:
    """A :class:`~slactl.sources.base.Source` generating data instead of fetching it."""

    def __init__(self, name: str, cfg: SampleSource, config: Config, injected: Injected) -> None:
        self.name = name
        self.seed = cfg.seed
        self.config = config
        self._services = sorted(s for s, svc in config.services.items() if svc.source == name)
        self._plans: dict[tuple[str, int], list[Event]] = {}
        self._days: OrderedDict[tuple[Any, ...], DayData] = OrderedDict()

    def close(self) -> None:
        self._days.clear()

    def fetch(self, requests: list[FetchRequest]) -> FetchResult:
        return [self._series(r) for r in requests]

    def groups(self, service: str, spec: Service) -> list[GroupKey]:
        """Every configured customer's label values for the service, plus ``internal``."""
        if not spec.group_by:
            return [()]
        labels = sorted(spec.group_by)
        keys = {tuple((lbl, INTERNAL) for lbl in labels)}
        for cust in self.config.customers.values():
            if service in cust.services and set(cust.match) & set(labels):
                keys.add(tuple((lbl, cust.match.get(lbl, "main")) for lbl in labels))
        return sorted(keys)

    def _series(self, req: FetchRequest) -> dict[GroupKey, MinuteSeries]:
        kind = req.spec.availability.kind
        histogram = req.spec.latency is not None and req.spec.latency.histogram is not None
        n = req.end - req.start
        out: dict[GroupKey, MinuteSeries] = {}
        for group in self.groups(req.service, req.spec):
            ms = MinuteSeries.empty(kind, req.start, n)
            obs = np.zeros((ROWS, n))
            probe = np.zeros(n)
            for day in range(req.start // DAY, (req.end - 1) // DAY + 1 if n > 0 else 0):
                d = self.day(req.service, req.spec, group, day)
                lo, hi = max(req.start, day * DAY), min(req.end, (day + 1) * DAY)
                src, dst = (
                    slice(lo - day * DAY, hi - day * DAY),
                    slice(lo - req.start, hi - req.start),
                )
                obs[:, dst] = d.observed[:, src]
                ms.has_data[dst] = d.has_data[src]
                probe[dst] = d.probe[src]
            if kind == "ratio":
                ms.total, ms.errors = obs[TOTAL], obs[ERRORS]
            else:
                ms.probe_sum = np.where(ms.has_data, probe, 0.0)
                ms.probe_count = ms.has_data.astype(np.float64)
            if histogram:
                ms.buckets = {le: obs[FIRST_BUCKET + i] for i, le in enumerate(BOUNDS[:-1])}
                ms.buckets[math.inf] = obs[TOTAL].copy()
            out[group] = ms
        return out

    # ------------------------------------------------------------------ generation

    def _profile(self, service: str) -> _Profile:
        r = _rng(self.seed, "profile", service)
        return _Profile(
            base_rate=float(np.exp(r.uniform(math.log(500), math.log(4000)))),
            median_s=float(r.uniform(0.020, 0.060)),
            sigma=float(r.uniform(0.45, 0.7)),
            phase_h=float(r.uniform(-3, 3)),
            bg_error=float(r.uniform(0.0002, 0.0008)),
        )

    def plan(self, service: str, day: int) -> list[Event]:
        """The events of the UTC month containing ``day`` (cached per month)."""
        first = datetime.fromtimestamp(day * 86400, tz=UTC).replace(day=1, hour=0)
        key = (service, first.year * 12 + first.month - 1)
        if key not in self._plans:
            nxt = first.replace(year=first.year + first.month // 12, month=first.month % 12 + 1)
            self._plans[key] = self._make_plan(service, key[1], minute_of(first), minute_of(nxt))
        return self._plans[key]

    def _shares(self, service: str, groups: list[GroupKey]) -> list[float]:
        """Each group's part of the traffic: customers 0.5–2 units, ``internal`` 0.3."""
        w = [
            0.3
            if INTERNAL in dict(g).values()
            else _rng(self.seed, "share", service, g).uniform(0.5, 2)
            for g in groups
        ]
        return [float(x / sum(w)) for x in w]

    def _make_plan(self, service: str, month: int, start: int, end: int) -> list[Event]:
        """Outages, one degradation, 1–2 restarts and maybe a gap, never overlapping."""
        r = _rng(self.seed, "plan", service, month)
        busy = np.zeros(end - start, dtype=bool)
        events: list[Event] = []

        def place(length: int, lo: int = 0, hi: int = DAY, margin: int = 15) -> int | None:
            for _ in range(100):  # a minute-of-day window [lo, hi) on a random day
                day = int(r.integers(0, (end - start) // DAY))
                s = day * DAY + int(r.integers(lo, hi - length))
                if not busy[max(s - margin, 0) : s + length + margin].any():
                    busy[s : s + length] = True
                    return start + s
            return None

        # Most months are quiet: none or one short blip (a "minor" incident of a few
        # minutes), now and then a second one or a longer "major" outage; more
        # than half of them hit one tenant only, so customers' months differ.
        for _ in range(int(r.choice([0, 0, 1, 1, 1, 2]))):
            long = r.random() < 0.12
            length = 15 + int(25 * r.random()) if long else 3 + int(10 * r.random() ** 1.5)
            s = place(length, 0, DAY - 45)  # ends within the day it starts
            level, one, target = (
                float(r.uniform(0.12, 0.9)),
                r.random() >= 0.2,
                int(r.integers(1 << 30)),
            )
            if s is not None:
                events.append(Event("outage", s, s + length, level, target if one else None))
        length = int(r.integers(5, 21))
        s = place(length, 0, DAY - 25)
        if s is not None:
            events.append(Event("degraded", s, s + length, float(r.uniform(0.008, 0.025))))
        n = len(self._services)  # one service of the source a month loses a few scrapes
        if n and self._services[int(_rng(self.seed, "gap", month).integers(n))] == service:
            length = int(r.integers(2, 7))
            s = place(length, 60, DAY - 60)
            if s is not None:
                events.append(Event("gap", s, s + length))
        days: set[int] = set()
        for _ in range(int(r.integers(1, 3))):
            s = place(1, 180, DAY - 60, margin=30)
            lost, scrape = float(r.uniform(0.1, 0.9)), int(r.integers(SCRAPES))
            if s is not None and s // DAY not in days:  # at most one restart a day
                days.add(s // DAY)
                events.append(Event("restart", s, s + 1, lost, scrape=scrape))
        return events

    def day(self, service: str, spec: Service, group: GroupKey, day: int) -> DayData:
        """One group's UTC day, generated whole so any slice of it is reproducible."""
        groups = self.groups(service, spec)
        key = (service, tuple(groups), group, day)
        if key in self._days:
            self._days.move_to_end(key)
            return self._days[key]
        d = self._make_day(service, groups, group, day)
        self._days[key] = d
        if len(self._days) > 64:
            self._days.popitem(last=False)
        return d

    def _make_day(self, service: str, groups: list[GroupKey], group: GroupKey, day: int) -> DayData:
        """Traffic, errors, latency and probes of one group's day, then restart and gap."""
        p = self._profile(service)
        gi = groups.index(group)
        share = self._shares(service, groups)[gi]
        r = _rng(self.seed, "day", service, group, day)

        t = np.arange(DAY)
        hour = t / 60.0 + p.phase_h
        shape = 0.3 + 0.7 * (0.5 - 0.5 * np.cos(2 * np.pi * (hour - 3) / 24)) ** 1.3
        weekly = 0.65 if (day + 3) % 7 >= 5 else 1.0  # 1970-01-01 was a Thursday
        drift = 1.0 + 0.05 * math.sin(2 * math.pi * day / 9.7 + p.phase_h)
        lam = p.base_rate * share * weekly * drift * shape * np.exp(r.normal(0.0, 0.08, DAY))

        out_ratio, deg_ratio, slow = np.zeros(DAY), np.zeros(DAY), np.ones(DAY)
        restart = gap = None
        for ev in self.plan(service, day):
            lo, hi = max(ev.start - day * DAY, 0), min(ev.end - day * DAY, DAY)
            if lo >= hi:
                continue
            if ev.kind == "outage" and (ev.target is None or ev.target % len(groups) == gi):
                out_ratio[lo:hi], slow[lo:hi] = ev.level, 5.0
            elif ev.kind == "degraded":
                deg_ratio[lo:hi], slow[lo:hi] = ev.level, 2.0
            elif ev.kind == "restart":
                restart = ev
            elif ev.kind == "gap":
                gap = ev
        down = out_ratio > 0

        total = _poisson(r, lam)
        total[down] = np.maximum(total[down], 1)
        degraded = deg_ratio > 0
        errors = r.binomial(total, p.bg_error)
        errors[degraded] += r.binomial(total[degraded], deg_ratio[degraded])
        errors = np.minimum(errors, total * 3 // 100)  # only outages cross the 0.95 threshold
        errors[down] = np.maximum(
            r.binomial(total[down], out_ratio[down]), np.ceil(0.08 * total[down])
        )

        # Latency: log-normal, slower under load and during events.  Cumulative
        # buckets are the expected counts dithered by one uniform per minute, which
        # keeps them monotone in ``le`` and unbiased at a fraction of a multinomial's cost.
        log_median = np.log(p.median_s * (1.0 + 0.25 * shape) * slow)
        cdf = _phi((np.log(BOUNDS[:-1])[:, None] - log_median[None, :]) / p.sigma)
        buckets = np.floor(total * cdf + r.random(DAY)).astype(np.int64)
        natural = np.empty((ROWS, DAY), dtype=np.int64)
        natural[TOTAL], natural[ERRORS] = total, errors
        natural[FIRST_BUCKET:] = np.minimum(np.maximum.accumulate(buckets, axis=0), total)

        ok = r.binomial(SCRAPES, np.where(down, 0.03, 1.0 - 3e-7))
        probe = np.where(down, np.minimum(ok, SCRAPES - 1), ok) / SCRAPES

        observed = natural.copy()
        has_data = np.ones(DAY, dtype=bool)
        if restart is not None:
            m = restart.start - day * DAY
            interval, post = _restart_split(natural[:, m], natural[:, :m].sum(1), restart)
            observed[:, m] += post - interval
        if gap is not None:  # no samples; the process keeps counting, seen at the next scrape
            a, b = gap.start - day * DAY, gap.end - day * DAY
            observed[:, b] += observed[:, a:b].sum(1)
            observed[:, a:b] = 0
            has_data[a:b] = False
            probe[a:b] = 0.0
        return DayData(day, natural, observed, has_data, probe, restart, gap)


@register("sample")
def _factory(name: str, cfg: Any, config: Config, injected: Injected) -> SampleAdapter:
    return SampleAdapter(name, cfg, config, injected)
