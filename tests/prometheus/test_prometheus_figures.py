"""End to end: `slactl report monthly` against a real Prometheus, figures checked by hand.

One TSDB is backfilled with series built to hit the corners of SPEC section 2
(counter resets inside a minute, at a minute's first millisecond and twice in one
minute, a restart that climbs back above the old value right after a long gap,
a 20-minute gap under the three ``no_data`` policies, 15-second scrapes at odd
offsets, several instances, an ``errors`` series born mid-month with value 1,
``group_by`` tenants, a two-probe service with partial minutes, a histogram
whose ``le="1"`` and ``le="1.0"`` are one bucket, maintenance an outage
straddles, ``incident_merge_gap_minutes``).  The CLI runs as a user would;
every SPEC section 4 field is compared with values computed here from the
generated scrapes by plain loops that follow the SPEC's wording, never by
slactl's own ``sli`` code.

The helpers at the top (generators and the expected-figure computation) are
also used by ``test_prometheus_zones.py``.
"""

from __future__ import annotations

import json
import math
import random
from collections import defaultdict
from datetime import UTC, datetime

import httpx
import pytest
import yaml
from kits.prometheus import OpenMetrics

from slactl.cli.main import main

pytestmark = pytest.mark.prometheus

MINUTE_MS = 60_000

TIERS = {
    "standard": {
        "uptime_target": 99.9,
        "credits": [
            {"below": 99.9, "percent": 10},
            {"below": 99.0, "percent": 25},
            {"below": 95.0, "percent": 100},
        ],
    },
    "professional": {"uptime_target": 99.95, "credits": [{"below": 99.95, "percent": 10}]},
    "enterprise": {"uptime_target": 99.99, "credits": [{"below": 99.99, "percent": 10}]},
}
LATENCY_TARGETS = {"p50": 0.05, "p95": 0.2, "p99": 0.5}


# =========================================================================== helpers


def ms(text: str) -> int:
    """Integer epoch milliseconds of an ISO 8601 time ('Z' or an offset)."""
    dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    assert dt.tzinfo is not None
    return round(dt.timestamp() * 1000)


def minute(text: str) -> int:
    """Epoch minute containing an ISO time."""
    return ms(text) // MINUTE_MS


def iso(epoch_minute: int) -> str:
    return datetime.fromtimestamp(epoch_minute * 60, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def every(start: str, end: str, step_s: float = 60, offset_s: float = 0.0) -> list[int]:
    """Scrape times (ms) from ``start + offset`` every ``step_s`` while ``< end``."""
    t, stop, step = ms(start) + round(offset_s * 1000), ms(end), round(step_s * 1000)
    out = []
    while t < stop:
        out.append(t)
        t += step
    return out


class Counter:
    """A counter series described by what happened at each scrape.

    Each scrape adds ``inc`` requests; a scrape marked ``restart`` is the first
    after the process restarted, so its value is ``inc`` counted from zero.  The
    requests a minute is expected to hold are simply the ``inc`` of the scrapes
    whose timestamps fall in it (a scrape after a gap carries what was counted
    in the gap).
    """

    def __init__(self, name: str, labels: dict[str, str]) -> None:
        self.name = name
        self.labels = labels
        self.scrapes: list[tuple[int, int, bool]] = []  # (ms, inc, restart)

    def add(self, t_ms: int, inc: int, restart: bool = False) -> None:
        assert inc >= 0
        assert not self.scrapes or t_ms > self.scrapes[-1][0]
        self.scrapes.append((t_ms, inc, restart))

    def samples(self) -> list[tuple[int, int]]:
        out, value = [], 0
        for t, inc, restart in self.scrapes:
            if restart:
                # A restart must show as a drop (or come after a zero counter),
                # else no one, Prometheus included, could see it.
                assert inc < value or value == 0, (self.labels, t)
                value = inc
            else:
                value += inc
            out.append((t, value))
        return out

    def minute_increase(self) -> dict[int, int]:
        out: dict[int, int] = defaultdict(int)
        for t, inc, _ in self.scrapes:
            out[t // MINUTE_MS] += inc
        return out

    def minutes(self) -> set[int]:
        return {t // MINUTE_MS for t, _, _ in self.scrapes}


class Gauge:
    def __init__(self, name: str, labels: dict[str, str]) -> None:
        self.name = name
        self.labels = labels
        self.points: dict[int, float] = {}

    def set(self, t_ms: int, value: float) -> None:
        self.points[t_ms] = value

    def samples(self) -> list[tuple[int, float]]:
        return sorted(self.points.items())

    def minute_means(self) -> dict[int, float]:
        by_minute: dict[int, list[float]] = defaultdict(list)
        for t, v in self.samples():
            by_minute[t // MINUTE_MS].append(v)
        return {m: sum(vs) / len(vs) for m, vs in by_minute.items()}


def pairwise_minute_increase(samples: list[tuple[int, int]]) -> dict[int, int]:
    """SPEC 2.2 literally: over consecutive samples, a drop restarts from zero."""
    out: dict[int, int] = defaultdict(int)
    prev = 0  # a series with no earlier sample starts from zero
    for t, v in samples:
        out[t // MINUTE_MS] += v - prev if v >= prev else v
        prev = v
    return out


def to_openmetrics(counters=(), gauges=()) -> OpenMetrics:
    om = OpenMetrics()
    for c in counters:
        # The SPEC's increments and the pairwise reading of the samples agree.
        assert pairwise_minute_increase(c.samples()) == c.minute_increase()
        om.counter(c.name, c.labels, [(t / 1000, v) for t, v in c.samples()])
    for g in gauges:
        om.gauge(g.name, g.labels, [(t / 1000, v) for t, v in g.samples()])
    return om


def excluded_minutes(windows: list[tuple[str, str]], start: int, end: int) -> set[int]:
    """Minutes of [start, end) that a window [ws, we) overlaps in any part."""
    out = set()
    for ws, we in windows:
        a, b = ms(ws), ms(we)
        for m in range(a // MINUTE_MS - 1, b // MINUTE_MS + 2):
            if start <= m < end and a < (m + 1) * MINUTE_MS and b > m * MINUTE_MS:
                out.add(m)
    return out


def quantile(q: float, buckets: dict[float, float]) -> tuple[float | None, list | None]:
    """Prometheus histogram_quantile over cumulative buckets; (value, [lower, upper])."""
    bounds = sorted(buckets)
    assert bounds[-1] == math.inf
    total = buckets[math.inf]
    if total == 0:
        return None, None
    rank = q * total
    i = 0
    while buckets[bounds[i]] < rank:
        i += 1
    le = bounds[i]
    if le == math.inf:
        return bounds[-2], [bounds[-2], None]
    lower = 0.0 if i == 0 else bounds[i - 1]
    below = 0.0 if i == 0 else buckets[bounds[i - 1]]
    return lower + (le - lower) * (rank - below) / (buckets[le] - below), [lower, le]


def expected_service(
    *,
    start: int,
    end: int,
    excluded: set[int],
    total: list[Counter] = (),
    errors: list[Counter] = (),
    probes: list[Gauge] = (),
    histogram: list[Counter] = (),
    threshold: float = 0.95,
    no_data: str = "ignore",
    merge_gap: int = 0,
) -> dict:
    """SPEC section 4 figures of one service over the minutes [start, end)."""
    good: dict[int, float] = {}
    err_sum = tot_sum = 0
    if probes:
        means = [p.minute_means() for p in probes]
        for m in range(start, end):
            have = [mm[m] for mm in means if m in mm]
            if have:
                good[m] = sum(have) / len(have)
    else:
        tot_inc = [c.minute_increase() for c in total]
        err_inc = [c.minute_increase() for c in errors]
        with_data = set().union(*(c.minutes() for c in total))
        for m in range(start, end):
            t = sum(inc.get(m, 0) for inc in tot_inc)
            e = sum(inc.get(m, 0) for inc in err_inc)
            if m in with_data:
                good[m] = 1 - e / t if t > 0 else 1.0
            if m not in excluded:
                tot_sum += t
                err_sum += e
    states = []
    for m in range(start, end):
        if m in excluded:
            states.append("excluded")
        elif m not in good:
            states.append({"ignore": "no_data", "up": "up", "down": "down"}[no_data])
        elif good[m] < threshold:
            states.append("down")
        else:
            states.append("up")
    counts = {s: states.count(s) for s in ("up", "down", "no_data", "excluded")}
    up, down = counts["up"], counts["down"]
    uptime = 100 * up / (up + down) if up + down else None
    measured = (end - start) - counts["excluded"]
    covered = sum(1 for m in good if m not in excluded)
    # Runs of down minutes, then runs close enough merged.
    runs: list[list[int]] = []
    for i, s in enumerate(states):
        if s != "down":
            continue
        if runs and runs[-1][1] == start + i:
            runs[-1][1] += 1
        elif runs and start + i - runs[-1][1] <= merge_gap:
            runs[-1][1] = start + i + 1
        else:
            runs.append([start + i, start + i + 1])
    incidents = [{"start": iso(a), "end": iso(b), "duration_minutes": b - a} for a, b in runs]
    latency = bounds = lat_verdicts = None
    if histogram:
        month: dict[float, float] = defaultdict(float)
        for c in histogram:
            le = float(c.labels["le"])
            for m, inc in c.minute_increase().items():
                if start <= m < end and m not in excluded:
                    month[le] += inc
        latency, bounds = {}, {}
        for key, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99)):
            latency[key], bounds[key] = quantile(q, month)
        lat_verdicts = {
            k: {
                "target": t,
                "met": None if latency.get(k) is None else latency[k] <= t,
                # certain: the whole bucket [lower, upper] on one side of the target
                "certain": None
                if latency.get(k) is None
                else (bounds[k][1] is not None and bounds[k][1] <= t) or bounds[k][0] > t,
            }
            for k, t in LATENCY_TARGETS.items()
        }
    return {
        "uptime_percent": uptime,
        "minutes": {"total": end - start, **counts},
        "coverage_percent": 100 * covered / measured if measured else None,
        "incidents": incidents,
        "incident_count": len(incidents),
        "mttr_minutes": sum(i["duration_minutes"] for i in incidents) / len(incidents)
        if incidents
        else None,
        "error_ratio": None if probes or tot_sum == 0 else err_sum / tot_sum,
        "latency_seconds": latency,
        "latency_bounds_seconds": bounds,
        "tiers": {
            name: {
                "target": t["uptime_target"],
                "met": None if uptime is None else uptime >= t["uptime_target"],
            }
            for name, t in TIERS.items()
        },
        "latency_targets": lat_verdicts,
    }


def _approx(value):
    if isinstance(value, float):
        return pytest.approx(value, rel=1e-12)
    if isinstance(value, list):
        return [_approx(v) for v in value]
    if isinstance(value, dict):
        return {k: _approx(v) for k, v in value.items()}
    return value


def assert_service(got: dict, exp: dict) -> None:
    """Every SPEC section 4 field, one by one so a failure names the field."""
    for key in exp:
        assert key in got, f"field {key!r} missing"
    assert got["minutes"] == exp["minutes"]
    assert [{k: v for k, v in i.items() if k != "severity"} for i in got["incidents"]] == exp["incidents"]
    # Severity by length with the default thresholds: minor < 15 min <= major < 60 min <= critical.
    assert [i["severity"] for i in got["incidents"]] == [
        "minor" if i["duration_minutes"] < 15 else "major" if i["duration_minutes"] < 60 else "critical"
        for i in exp["incidents"]
    ]
    assert got["incident_count"] == exp["incident_count"]
    for key in ("uptime_percent", "coverage_percent", "mttr_minutes", "error_ratio"):
        if exp[key] is None:
            assert got[key] is None, key
        else:
            assert got[key] == pytest.approx(exp[key], rel=1e-12), key
    assert got["latency_seconds"] == _approx(exp["latency_seconds"])
    assert got["latency_bounds_seconds"] == _approx(exp["latency_bounds_seconds"])
    assert got["tiers"] == exp["tiers"]
    assert got["latency_targets"] == exp["latency_targets"]


def run_report(workdir, config: dict, month: str, out_name: str = "out") -> tuple[int, bytes]:
    """Write ``slactl.yaml`` into ``workdir`` and run the CLI as a user would."""
    cfg = workdir / "slactl.yaml"
    if not cfg.exists():
        cfg.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    out = workdir / out_name
    rc = main(["--config", str(cfg), "report", "monthly", "--month", month, "--out", str(out)])
    path = out / f"report-{month}.json"
    return rc, path.read_bytes() if path.exists() else b""


def no_queries(monkeypatch) -> list[str]:
    """Make every HTTP request fail loudly; returns the list of attempted URLs."""
    attempted: list[str] = []

    async def refuse(self, request, *args, **kwargs):
        attempted.append(str(request.url))
        raise httpx.ConnectError("no queries expected on a warm store")

    monkeypatch.setattr(httpx.AsyncClient, "send", refuse)
    return attempted


# =========================================================================== the data

MONTH = "2026-02"
START = minute("2026-02-01T00:00:00Z")
END = minute("2026-03-01T00:00:00Z")

SERVICES = [
    "api",
    "gap_ignore",
    "gap_up",
    "gap_down",
    "flappy",
    "noerr",
    "shop",
    "web",
    "batch",
    "dormant",
]
MAINTENANCE = [  # (start, end, services or None for every service)
    # Crosses the month start: its first 5 minutes (api is left out: its
    # first February minutes need January's last samples as the baseline).
    ("2026-01-31T23:00:00Z", "2026-02-01T00:05:00Z", [s for s in SERVICES if s != "api"]),
    ("2026-02-20T08:00:30Z", "2026-02-20T08:10:30Z", None),  # not minute-aligned: 11 minutes
    ("2026-02-03T02:00:00Z", "2026-02-03T04:00:00Z", ["api"]),
    ("2026-02-18T00:20:00Z", "2026-02-18T00:25:00Z", ["web"]),
]


def windows_for(service: str) -> list[tuple[str, str]]:
    return [(s, e) for s, e, svcs in MAINTENANCE if svcs is None or service in svcs]


BUCKETS = ["0.05", "0.1", "0.25", "0.5", "1", "2.5", "+Inf"]
FAST = [55, 25, 12, 3.5, 1.5, 1, 2]  # non-cumulative bucket weights, percent
SLOW = [0, 0, 0, 5, 20, 40, 35]


def build_api(rng: random.Random) -> dict[str, list[Counter]]:
    """Two instances (60 s at :00 and 15 s at :07.3), resets, errors born mid-month."""
    lab = {"service": "api"}
    a = Counter("http_requests_total", {**lab, "instance": "a", "code": "200"})
    b = Counter("http_requests_total", {**lab, "instance": "b", "code": "200"})
    e = Counter("http_requests_total", {**lab, "instance": "a", "code": "500"})

    # Instance a: an hour across the month start (baseline from January), then
    # a gap of two days; the first scrape after it carries all it counted.
    for i, t in enumerate(every("2026-01-31T23:50:00Z", "2026-02-01T00:10:01Z")):
        a.add(t, 5000 if i == 0 else 100)
    for i, t in enumerate(every("2026-02-03T00:00:00Z", "2026-02-03T06:00:00Z")):
        if t == ms("2026-02-03T04:45:00Z"):
            a.add(t, 40, restart=True)  # restart exactly at a minute's first millisecond
        else:
            a.add(t, 7777 if i == 0 else 100 + (i % 7) * 3)

    # Instance b: 15 s scrapes at :07.3, :22.3, ...; three hours dark, then it
    # comes back restarted and climbs ABOVE its old value within the first minute.
    for i, t in enumerate(every("2026-02-02T20:00:00Z", "2026-02-02T21:00:00Z", 15, 7.3)):
        b.add(t, 25 + i % 5)
    special = {
        ms("2026-02-03T00:00:07.300Z"): (5, True),
        ms("2026-02-03T00:00:22.300Z"): (9000, False),
        ms("2026-02-03T04:30:37.300Z"): (3, True),  # restart in the middle of a minute
        ms("2026-02-03T05:10:07.300Z"): (2, True),  # two restarts in one minute
        ms("2026-02-03T05:10:22.300Z"): (10, False),
        ms("2026-02-03T05:10:37.300Z"): (1, True),
        ms("2026-02-03T05:10:52.300Z"): (20, False),
    }
    for i, t in enumerate(every("2026-02-03T00:00:00Z", "2026-02-03T06:00:00Z", 15, 7.3)):
        inc, restart = special.get(t, (25 + i % 5, False))
        b.add(t, inc, restart)

    # Errors: the series first appears at 01:20 with value 1 (that error counts).
    errs = {}
    for t in every("2026-02-03T01:50:00Z", "2026-02-03T02:10:00Z"):
        errs[t] = 400  # outage 01:50-02:10; maintenance from 02:00
    for t in every("2026-02-03T05:00:00Z", "2026-02-03T05:03:00Z"):
        errs[t] = 300
    for text in ("04:30", "04:45", "05:10"):
        errs[ms(f"2026-02-03T{text}:00Z")] = 5  # errors in the reset minutes
    for i, t in enumerate(every("2026-02-03T01:20:00Z", "2026-02-03T06:00:00Z")):
        e.add(t, 1 if i == 0 else errs.get(t, 0))

    # Latency: instance a writes le="1", instance b le="1.0" (one bucket).
    hist = []
    for inst, offset, one in (("a", 0, "1"), ("b", 30, "1.0")):
        series = [
            Counter(
                "http_request_duration_seconds_bucket",
                {**lab, "instance": inst, "le": one if le == "1" else le},
            )
            for le in BUCKETS
        ]
        for t in every("2026-02-03T00:00:00Z", "2026-02-03T06:00:00Z", 60, offset):
            slow = ms("2026-02-03T02:00:00Z") <= t < ms("2026-02-03T04:00:00Z")
            picks = rng.choices(range(len(BUCKETS)), SLOW if slow else FAST, k=rng.randint(80, 120))
            counts = [picks.count(j) for j in range(len(BUCKETS))]
            restart = inst == "b" and t == ms("2026-02-03T05:20:30Z")
            for j, s in enumerate(series):
                s.add(t, sum(counts[: j + 1]), restart)
        hist += series
    return {"total": [a, b, e], "errors": [e], "histogram": hist}


def build_gap() -> dict[str, list[Counter]]:
    """60 s at :30; no samples 10:40-11:00; an outage 11:30-11:35; idle 11:50-11:55."""
    tot = Counter("gap_requests_total", {"job": "gap"})
    err = Counter("gap_errors_total", {"job": "gap"})
    carried = 0
    for t in every("2026-02-10T10:00:30Z", "2026-02-10T12:00:00Z"):
        idle = ms("2026-02-10T11:50:00Z") <= t < ms("2026-02-10T11:55:00Z")
        carried += 0 if idle else 50  # idle: sampled, zero requests, a good minute
        if ms("2026-02-10T10:40:00Z") <= t < ms("2026-02-10T11:00:00Z"):
            continue  # counted by the process, never scraped
        tot.add(t, carried)
        carried = 0
        outage = ms("2026-02-10T11:30:00Z") <= t < ms("2026-02-10T11:35:00Z")
        err.add(t, 30 if outage else 0)
    return {"total": [tot], "errors": [err]}


def build_flap() -> dict[str, list[Counter]]:
    """Down runs separated by 1 (no data), 3 and 4 non-down minutes."""
    tot = Counter("flap_requests_total", {"job": "flap"})
    err = Counter("flap_errors_total", {"job": "flap"})
    down = {"13:10", "13:11", "13:13", "13:14", "13:18", "13:23", "13:24", "13:25"}
    carried = 0
    for t in every("2026-02-12T13:00:00Z", "2026-02-12T14:00:00Z"):
        carried += 60
        hhmm = iso(t // MINUTE_MS)[11:16]
        if hhmm == "13:12":
            continue
        tot.add(t, carried)
        carried = 0
        err.add(t, 30 if hhmm in down else 0)
    return {"total": [tot], "errors": [err]}


def build_shop() -> dict[str, list[Counter]]:
    """group_by tenant: acme (small) and globex (large) on instances x and y."""

    def c(tenant, inst, code):
        return Counter(
            "shop_requests_total",
            {"service": "shop", "tenant": tenant, "instance": inst, "code": code},
        )

    ax, ay, ae, gx, ge = (
        c("acme", "x", "200"),
        c("acme", "y", "200"),
        c("acme", "x", "500"),
        c("globex", "x", "200"),
        c("globex", "x", "500"),
    )
    for t in every("2026-02-15T09:00:00Z", "2026-02-15T10:00:00Z", 60, 15):
        hhmm = iso(t // MINUTE_MS)[11:16]
        ax.add(t, 10)
        ay.add(t, 10)
        gx.add(t, 1000)
        ae.add(t, 20 if "09:10" <= hhmm < "09:20" else 0)
        ge.add(t, 200 if "09:30" <= hhmm < "09:33" else 0)
    return {"total": [ax, ay, ae, gx, ge], "errors": [ae, ge]}


def build_web() -> list[Gauge]:
    """Two probes: p1 every 15 s at :07.3, p2 every 60 s exactly on the minute."""
    p1 = Gauge("probe_success", {"service": "web", "probe": "p1"})
    p2 = Gauge("probe_success", {"service": "web", "probe": "p2"})
    for t in every("2026-02-18T00:00:00Z", "2026-02-18T01:00:00Z", 15, 7.3):
        p1.set(t, 1)
    for t in every("2026-02-18T00:00:00Z", "2026-02-18T01:00:00Z"):
        p2.set(t, 1)
    # minute -> (p1's four samples or None to drop them all, p2 or None)
    patterns = {
        "00:10": ([1, 1, 0, 0], 1),  # 0.5 and 1: 0.75, down
        "00:11": ([1, 1, 1, 0], None),  # only p1: 0.75, down
        "00:12": (None, 0),  # only p2: 0, down
        "00:14": ([0, 1, 1, 1], 1),  # 0.875, down
        "00:15": ([1, 1, 1, 1], 0),  # 0.5, down
        "00:20": ([1, 0, 1, 1], 1),  # down, but under maintenance
        "00:30": (None, None),
        "00:31": (None, None),
        "00:32": (None, None),
        "00:40": ([0, "-", "-", "-"], 1),  # p1 has one sample only: 0.5, down
        "00:41": ([1, "-", "-", "-"], None),  # up
    }
    for hhmm, (p1v, p2v) in patterns.items():
        base = ms(f"2026-02-18T{hhmm}:00Z")
        for k in range(4):
            t = base + 7300 + k * 15000
            if p1v is None or p1v[k] == "-":
                p1.points.pop(t)
            else:
                p1.set(t, p1v[k])
        if p2v is None:
            p2.points.pop(base)
        else:
            p2.set(base, p2v)
    # Month edges: the last millisecond of January and of February, the first of March.
    p2.set(ms("2026-01-31T23:59:59.999Z"), 0)
    p2.set(ms("2026-02-20T08:10:30Z"), 0)  # in a minute maintenance still touches
    p2.set(ms("2026-02-20T08:11:00Z"), 0)  # the next one is measured: down
    p2.set(ms("2026-02-28T23:59:59.999Z"), 0)
    p2.set(ms("2026-03-01T00:00:00Z"), 0)
    return [p1, p2]


def build_batch() -> dict[str, list[Counter]]:
    """Restarts that a per-minute summary cannot see, and samples at the month's end.

    Instance i1 scrapes every 15 s exactly on the quarter minutes and keeps
    coming back from gaps restarted, climbing ABOVE its old value within the
    first minute (after gaps of 60 and 61 minutes: either side of a one-hour
    lookback), or restarting inside a minute whose last value ends up above the
    previous minute's.  Instance i2 scrapes at :59.999, the last millisecond of
    each minute, up to February's very last one, then once on March's first.
    """
    i1 = Counter("batch_jobs_total", {"job": "batch", "instance": "i1"})
    i2 = Counter("batch_jobs_total", {"job": "batch", "instance": "i2"})
    e2 = Counter("batch_errors_total", {"job": "batch", "instance": "i2"})
    special = {
        # last sample before: 10:09:45 (minute 10:09); first minute after: 11:09
        "11:09:00": (5, True),
        "11:09:15": (2000, False),
        # last sample before: 11:19:45 (minute 11:19); first minute after: 12:20
        "12:20:00": (7, True),
        "12:20:15": (5000, False),
        # three hours dark, continues higher, then restarts inside the minute
        "15:30:00": (200, False),
        "15:30:15": (50, True),
        # restart inside a minute whose last value is above the previous last
        "15:35:30": (5, True),
        "15:35:45": (3000, False),
    }
    segments = [("10:00", "10:10"), ("11:09", "11:20"), ("12:20", "12:30"), ("15:30", "15:40")]
    for a, b in segments:
        for t in every(f"2026-02-05T{a}:00Z", f"2026-02-05T{b}:00Z", 15):
            hms = datetime.fromtimestamp(t / 1000, UTC).strftime("%H:%M:%S")
            inc, restart = special.get(hms, (25, False))
            i1.add(t, inc, restart)
    for t in every("2026-02-28T23:50:00Z", "2026-03-01T00:00:00Z", 60, 59.999):
        i2.add(t, 100)
        e2.add(t, 3 if iso(t // MINUTE_MS).endswith("23:55:00Z") else 0)
    i2.add(ms("2026-03-01T00:00:00Z"), 100_000)  # March: not February's
    e2.add(ms("2026-03-01T00:00:00Z"), 100_000)
    # Instance i3: last seen on January 10 (22 days before the month), back on
    # February 7 restarted, above its January value within the first minute.
    i3 = Counter("batch_jobs_total", {"job": "batch", "instance": "i3"})
    for i, t in enumerate(every("2026-01-10T08:00:00Z", "2026-01-10T08:05:00Z")):
        i3.add(t, 400 if i == 0 else 10)
    i3.add(ms("2026-02-07T08:00:00Z"), 3, restart=True)
    i3.add(ms("2026-02-07T08:00:30Z"), 900)
    for t in every("2026-02-07T08:01:00Z", "2026-02-07T08:05:00Z"):
        i3.add(t, 10)
    return {"total": [i1, i2, i3], "errors": [e2]}


def build_dormant() -> dict[str, list[Counter]]:
    """Series last seen 41 days earlier (December) continue in February without a restart."""
    tot = Counter("dormant_jobs_total", {"job": "dormant"})
    err = Counter("dormant_errors_total", {"job": "dormant"})
    for i, t in enumerate(every("2025-12-26T12:00:00Z", "2025-12-26T12:06:00Z")):
        tot.add(t, 1000 if i == 0 else 10)
        err.add(t, 7 if i == 0 else 0)
    for t in every("2026-02-05T12:00:00Z", "2026-02-05T12:30:00Z"):
        tot.add(t, 10)
        err.add(t, 1 if ms("2026-02-05T12:10:00Z") <= t < ms("2026-02-05T12:15:00Z") else 0)
    return {"total": [tot], "errors": [err]}


class Scenario:
    def __init__(self) -> None:
        rng = random.Random(20260203)
        self.api = build_api(rng)
        self.gap = build_gap()
        self.flap = build_flap()
        self.shop = build_shop()
        self.web = build_web()
        self.batch = build_batch()
        self.dormant = build_dormant()
        # The flap traffic again, with an errors selector that matches no series.
        self.noerr = {"total": self.flap["total"], "errors": []}

    def openmetrics(self) -> OpenMetrics:
        parts = (self.api, self.gap, self.flap, self.shop, self.batch, self.dormant)
        counters = {id(c): c for part in parts for cs in part.values() for c in cs}
        return to_openmetrics(counters.values(), self.web)

    def config(self, url: str) -> dict:
        def ratio(errors, total, **kw):
            return {"source": "prom", "availability": {"errors": errors, "total": total}, **kw}

        gap = ('gap_errors_total{job="gap"}', 'gap_requests_total{job="gap"}')
        services = {
            "api": ratio(
                'http_requests_total{service="api",code=~"5.."}',
                'http_requests_total{service="api"}',
                latency={"histogram": 'http_request_duration_seconds_bucket{service="api"}'},
            ),
            "gap_ignore": ratio(*gap, no_data="ignore"),
            "gap_up": ratio(*gap, no_data="up"),
            "gap_down": ratio(*gap, no_data="down"),
            "flappy": ratio(
                'flap_errors_total{job="flap"}',
                'flap_requests_total{job="flap"}',
                incident_merge_gap_minutes=3,
            ),
            "noerr": ratio('flap_errors_total{job="none"}', 'flap_requests_total{job="flap"}'),
            "shop": ratio(
                'shop_requests_total{service="shop",code="500"}',
                'shop_requests_total{service="shop"}',
                group_by=["tenant"],
            ),
            "web": {
                "source": "prom",
                "slice_threshold": 0.95,
                "availability": {"probe": 'probe_success{service="web"}'},
            },
            "batch": ratio('batch_errors_total{job="batch"}', 'batch_jobs_total{job="batch"}'),
            "dormant": ratio('dormant_errors_total{job="dormant"}', "dormant_jobs_total"),
        }
        assert list(services) == SERVICES
        maintenance = []
        for start, end, svcs in MAINTENANCE:
            maintenance.append({"start": start, "end": end, "reason": "planned"})
            if svcs is not None:
                maintenance[-1]["services"] = svcs
        return {
            "timezone": "UTC",
            # The dormant series was last seen 41 days before the month: look that far back.
            "sources": {"prom": {"type": "prometheus", "url": url, "counter_lookback_days": 60}},
            "tiers": TIERS,
            "latency_targets_seconds": LATENCY_TARGETS,
            "services": services,
            "customers": {
                "acme": {
                    "tier": "enterprise",
                    "monthly_fee": "12000.00",
                    "services": ["shop", "web"],
                    "match": {"tenant": "acme"},
                },
                "globex": {
                    "tier": "standard",
                    "monthly_fee": "500.00",
                    "services": ["shop"],
                    "match": {"tenant": "globex"},
                },
            },
            "maintenance": maintenance,
        }

    def expected(self) -> dict[str, dict]:
        def exp(service, data, **kw):
            excluded = excluded_minutes(windows_for(service), START, END)
            return expected_service(start=START, end=END, excluded=excluded, **data, **kw)

        return {
            "api": exp("api", self.api),
            "gap_ignore": exp("gap_ignore", self.gap),
            "gap_up": exp("gap_up", self.gap, no_data="up"),
            "gap_down": exp("gap_down", self.gap, no_data="down"),
            "flappy": exp("flappy", self.flap, merge_gap=3),
            "noerr": exp("noerr", self.noerr),
            "shop": exp("shop", self.shop),
            "web": exp("web", {"probes": self.web}),
            "batch": exp("batch", self.batch),
            "dormant": exp("dormant", self.dormant),
        }


# =========================================================================== fixtures


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return Scenario()


@pytest.fixture(scope="module")
def prom_url(scenario, make_prometheus) -> str:
    return make_prometheus(scenario.openmetrics())


@pytest.fixture(scope="module")
def first_run(scenario, prom_url, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("figures")
    rc, data = run_report(workdir, scenario.config(prom_url), MONTH)
    assert rc == 0
    return workdir, data


@pytest.fixture(scope="module")
def report(first_run) -> dict:
    return json.loads(first_run[1])


@pytest.fixture(scope="module")
def expected(scenario) -> dict[str, dict]:
    return scenario.expected()


# =========================================================================== tests


def test_generator_matches_the_spec_reading():
    """The increments model and the pairwise reading of the written samples agree."""
    c = Counter("x_total", {})
    c.add(0, 5)
    c.add(15_000, 7)
    c.add(30_000, 3, restart=True)  # 12 -> 3
    c.add(45_000, 1, restart=True)  # 3 -> 1
    c.add(60_000, 4)
    c.add(10 * MINUTE_MS, 20)  # after a gap
    assert c.samples() == [
        (0, 5),
        (15_000, 12),
        (30_000, 3),
        (45_000, 1),
        (60_000, 5),
        (600_000, 25),
    ]
    assert dict(c.minute_increase()) == {0: 16, 1: 4, 10: 20}
    assert pairwise_minute_increase(c.samples()) == c.minute_increase()
    assert quantile(0.5, {0.1: 10, 1.0: 30, math.inf: 40}) == (
        pytest.approx(0.1 + 0.9 * 10 / 20),
        [0.1, 1.0],
    )
    assert quantile(0.99, {0.1: 10, 1.0: 30, math.inf: 40}) == (1.0, [1.0, None])
    assert quantile(0.2, {0.1: 10, 1.0: 30, math.inf: 40}) == (pytest.approx(0.08), [0.0, 0.1])
    assert excluded_minutes([("1970-01-01T00:00:30Z", "1970-01-01T00:02:00Z")], 0, 5) == {0, 1}


def test_report_header(report):
    assert report["month"] == "2026-02"
    assert report["timezone"] == "UTC"
    assert report["period"] == {"start": "2026-02-01T00:00:00Z", "end": "2026-03-01T00:00:00Z"}
    assert list(report["services"]) == SERVICES


def test_scenario_is_what_it_claims(scenario, expected):
    """Hand-checked anchors, so a generator slip cannot make the scenario trivial."""
    api = expected["api"]
    assert [(i["start"], i["end"]) for i in api["incidents"]] == [
        ("2026-02-03T01:50:00Z", "2026-02-03T02:00:00Z"),  # clipped by maintenance
        ("2026-02-03T05:00:00Z", "2026-02-03T05:03:00Z"),
    ]
    assert api["minutes"]["excluded"] == 11 + 120
    # Feb 1 00:00-00:10, Feb 2 20:00-21:00 (instance b alone), Feb 3 00:00-06:00
    assert api["minutes"]["up"] + api["minutes"]["down"] == 11 + 60 + 360 - 120
    assert api["latency_bounds_seconds"] == {
        "p50": [0.0, 0.05],
        "p95": [0.25, 0.5],
        "p99": [2.5, None],
    }
    assert expected["gap_ignore"]["minutes"]["no_data"] == 40320 - 16 - 100
    assert expected["gap_up"]["minutes"]["down"] == 5
    assert expected["gap_down"]["minutes"]["down"] == 40320 - 16 - 100 + 5  # idle is up
    assert scenario.gap["total"][0].minute_increase()[minute("2026-02-10T11:52:00Z")] == 0
    assert [(i["start"], i["end"]) for i in expected["gap_down"]["incidents"]] == [
        ("2026-02-01T00:05:00Z", "2026-02-10T10:00:00Z"),
        ("2026-02-10T10:40:00Z", "2026-02-10T11:00:00Z"),
        ("2026-02-10T11:30:00Z", "2026-02-10T11:35:00Z"),
        ("2026-02-10T12:00:00Z", "2026-02-20T08:00:00Z"),
        ("2026-02-20T08:11:00Z", "2026-03-01T00:00:00Z"),
    ]
    assert [(i["start"], i["duration_minutes"]) for i in expected["flappy"]["incidents"]] == [
        ("2026-02-12T13:10:00Z", 9),
        ("2026-02-12T13:23:00Z", 3),
    ]
    assert [i["start"] for i in expected["shop"]["incidents"]] == ["2026-02-15T09:30:00Z"]
    assert [(i["start"], i["duration_minutes"]) for i in expected["web"]["incidents"]] == [
        ("2026-02-18T00:10:00Z", 3),
        ("2026-02-18T00:14:00Z", 2),
        ("2026-02-18T00:40:00Z", 1),
        ("2026-02-20T08:11:00Z", 1),
        ("2026-02-28T23:59:00Z", 1),
    ]
    assert expected["noerr"]["error_ratio"] == 0.0
    assert expected["noerr"]["minutes"]["down"] == 0
    assert expected["batch"]["minutes"]["up"] == 41 + 10 + 5
    i1, i2, i3 = (c.minute_increase() for c in scenario.batch["total"])
    day5 = minute("2026-02-05T00:00:00Z")
    assert [i1[day5 + h * 60 + m] for h, m in ((11, 9), (12, 20), (15, 30), (15, 35))] == [
        5 + 2000 + 25 + 25,
        7 + 5000 + 25 + 25,
        200 + 50 + 25 + 25,
        25 + 25 + 5 + 3000,
    ]
    assert i3[minute("2026-02-07T08:00:00Z")] == 3 + 900
    assert i2[END - 1] == 100 and i2[END] == 100_000


@pytest.mark.parametrize("service", SERVICES)
def test_service_figures(report, expected, service):
    assert_service(report["services"][service], expected[service])


def test_dormant_counter_continues_from_its_last_sample(report, expected):
    """A counter last seen 41 days before the month continues from that sample, not zero."""
    assert expected["dormant"]["error_ratio"] == pytest.approx(5 / 300)  # not (7 + 5) / (1060 + 290)
    assert report["services"]["dormant"]["error_ratio"] == pytest.approx(5 / 300, rel=1e-12)


def test_second_run_is_byte_identical_without_queries(first_run, monkeypatch):
    workdir, data = first_run
    attempted = no_queries(monkeypatch)
    rc, again = run_report(workdir, {}, MONTH, out_name="again")
    assert attempted == []
    assert rc == 0
    assert again == data
