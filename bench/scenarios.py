"""The benchmark's scenarios: which services, which series, which events, which months.

A scenario is fully described by a few numbers, so its generated TSDB can be
cached under a key made of them. Every series is one sample a minute at its own
offset into the minute (1-58 s, with milliseconds), like a real scrape. Three
kinds of service, so the work covers every range function slactl asks for:

* probe services ``pNNNN``: two probes (``eu``, ``us``) of ``probe_success``;
* ratio services ``rNNNN``: ``app_requests_total`` and ``app_request_errors_total``;
* histogram services ``hNNNN``: a ratio service plus six
  ``app_request_duration_seconds_bucket`` series (8 series in all).

Events (repeated every 30 days of the period) keep the figures from being flat:
probes fail single minutes at random, some probe services are down for 45
minutes, some ratio services have error spells, one is unscraped for 25 minutes
(no data, then the counters carry on), and one histogram service restarts (a
counter reset on all its counters).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

DATA_VERSION = "v2"
BUCKETS = ("0.05", "0.1", "0.25", "0.5", "1", "+Inf")
PROBES = ("eu", "us")
LEAD_S = 2 * 3600  # data before the period: slactl looks back up to an hour for counters
TAIL_S = 15 * 60
CYCLE_MIN = 30 * 1440  # events repeat every 30 days
SLICE_THRESHOLD = 0.95  # slactl's default: a minute is down when its good ratio is below it


def month_start(year: int, month: int) -> int:
    return int(datetime(year, month, 1, tzinfo=UTC).timestamp())


def months_back(last: str, count: int) -> list[str]:
    """``count`` calendar months ending with ``last`` (YYYY-MM), oldest first."""
    year, month = (int(x) for x in last.split("-"))
    out = []
    for _ in range(count):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return out[::-1]


@dataclass(frozen=True)
class Scenario:
    """``probe``/``ratio``/``hist`` services over ``months`` months ending 2026-01."""

    name: str
    probe: int
    ratio: int
    hist: int
    months: int = 1
    last_month: str = "2026-01"
    seed: int = 20260101

    @property
    def series(self) -> int:
        return 2 * self.probe + 2 * self.ratio + (2 + len(BUCKETS)) * self.hist

    @property
    def month_list(self) -> list[str]:
        return months_back(self.last_month, self.months)

    @property
    def t0(self) -> int:
        y, m = (int(x) for x in self.month_list[0].split("-"))
        return month_start(y, m)

    @property
    def t1(self) -> int:
        y, m = (int(x) for x in self.last_month.split("-"))
        return month_start(y + (m == 12), m % 12 + 1)

    @property
    def minutes(self) -> int:
        """Minutes of the reported period."""
        return (self.t1 - self.t0) // 60

    @property
    def gen_start(self) -> int:
        return self.t0 - LEAD_S

    @property
    def gen_minutes(self) -> int:
        return (self.t1 + TAIL_S - self.gen_start) // 60

    @property
    def now(self) -> str:
        """The pinned clock of every slactl run: the period is over and settled."""
        return datetime.fromtimestamp(self.t1 + 3600, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    @property
    def key(self) -> str:
        params = [DATA_VERSION, self.probe, self.ratio, self.hist, self.months, self.last_month,
                  self.seed, BUCKETS, LEAD_S, TAIL_S]  # fmt: skip
        digest = hashlib.sha256(json.dumps(params).encode()).hexdigest()[:10]
        return f"{self.name}-{digest}"

    def names(self, kind: str) -> list[str]:
        count = {"p": self.probe, "r": self.ratio, "h": self.hist}[kind]
        return [f"{kind}{i:04d}" for i in range(count)]

    def describe(self) -> str:
        span = f"{self.months} months" if self.months > 1 else "1 month"
        return f"{self.series:,} series, {span}"


def _scaled(name: str, series: int, months: int = 1) -> Scenario:
    """Per 20 series: one histogram service (8), three ratio (6), three probe (6)."""
    unit = series // 20
    return Scenario(name, probe=3 * unit, ratio=3 * unit, hist=unit, months=months)


SCENARIOS: dict[str, Scenario] = {
    "s10": Scenario("s10", probe=1, ratio=0, hist=1),
    "s200": _scaled("s200", 200),
    "s2000": _scaled("s2000", 2000),
    "s200x12": _scaled("s200x12", 200, months=12),
}
QUICK = ("s10", "s200")


# --------------------------------------------------------------------------- events


def _every_cycle(offset_min: int, length: int, gen_minutes: int) -> list[slice]:
    """A window at ``offset_min`` into every 30-day cycle of the period (lead included)."""
    base = LEAD_S // 60
    out = []
    start = base + offset_min
    while start + length <= gen_minutes:
        out.append(slice(start, start + length))
        start += CYCLE_MIN
    return out


def probe_outages(sc: Scenario, index: int) -> list[slice]:
    """Both probes of every 25th probe service down for 45 minutes, once per cycle."""
    if index % 25 != 5 % max(1, min(25, sc.probe)):
        return []
    return _every_cycle(19 * 1440 + 8 * 60 + index % 7, 45, sc.gen_minutes)


def error_spells(sc: Scenario, index: int) -> list[tuple[slice, float]]:
    """Every 10th ratio-form service: 30 % errors for 40 minutes, once per cycle."""
    if index % 10 != 3 % max(1, min(10, sc.ratio + sc.hist)):
        return []
    return [(s, 0.30) for s in _every_cycle(9 * 1440 + 14 * 60 + index % 11, 40, sc.gen_minutes)]


def scrape_gaps(sc: Scenario, index: int) -> list[slice]:
    """The second ratio-form service is not scraped for 25 minutes, once per cycle."""
    return _every_cycle(6 * 1440 + 3 * 60, 25, sc.gen_minutes) if index == 1 else []


def restart_at(sc: Scenario, index: int) -> int | None:
    """The first histogram service restarts (all its counters from zero) on day 18."""
    return LEAD_S // 60 + 17 * 1440 + 12 * 60 if index == 0 else None


# --------------------------------------------------------------------------- config


def config_yaml(sc: Scenario, url: str, store: Path) -> str:
    """The slactl config for a scenario (JSON is YAML), with its store at ``store``."""
    services: dict[str, dict] = {}
    for name in sc.names("p"):
        services[name] = {"source": "prom", "availability": {"probe": f'probe_success{{service="{name}"}}'}}
    for name in sc.names("h") + sc.names("r"):
        spec: dict = {
            "source": "prom",
            "availability": {
                "errors": f'app_request_errors_total{{service="{name}"}}',
                "total": f'app_requests_total{{service="{name}"}}',
            },
        }
        if name.startswith("h"):
            spec["latency"] = {"histogram": f'app_request_duration_seconds_bucket{{service="{name}"}}'}
        services[name] = spec
    names = list(services)
    half = max(1, len(names) // 2)
    raw = {
        "timezone": "UTC",
        "store": f"sqlite:///{store}",
        "sources": {"prom": {"type": "prometheus", "url": url}},
        "tiers": {
            "standard": {"uptime_target": 99.9, "credits": [{"below": 99.9, "percent": 10}, {"below": 99.0, "percent": 25}]},
            "premium": {"uptime_target": 99.95, "credits": [{"below": 99.95, "percent": 10}, {"below": 99.0, "percent": 30}]},
        },
        "latency_targets_seconds": {"p50": 0.1, "p95": 0.5, "p99": 1.0},
        "services": services,
        "customers": {
            "acme": {"tier": "premium", "monthly_fee": "12000.00", "services": names[:half]},
            "globex": {"tier": "standard", "monthly_fee": "3000.00", "services": names[half:] or names},
        },
        # The page's days lie inside the period, so it renders from the filled store.
        "status_page": {"title": "Bench Status", "days": 30 if sc.months == 1 else 90},
    }
    return json.dumps(raw, indent=1)


def script_spec(sc: Scenario, url: str) -> dict:
    """What the user's script is told: where to ask, which services, which period."""
    return {
        "url": url,
        "start": sc.t0,
        "end": sc.t1,
        "slice_threshold": SLICE_THRESHOLD,
        "probe": sc.names("p"),
        "ratio": sc.names("h") + sc.names("r"),
    }
