"""Benchmark: a month of ~250 per-minute series pulled from a real Prometheus and reported.

Run as ``.venv/bin/python bench/run.py`` (or ``make bench``).

What it measures (the issue's target):

* **cold**: ``compute_month`` for 2026-01 (UTC) into a fresh SQLite store, every
  minute pulled from a real ``prometheus`` on 127.0.0.1 (started over a
  backfilled TSDB), up to and including the report dict. No files are written
  (``report_monthly``'s rendering and writing is timed separately, once, for
  information);
* **floor**: exactly the ``/api/v1/query_range`` requests the cold run made
  (recorded by a wrapping transport), replayed by a bare ``httpx.AsyncClient`` at
  the source's ``max_concurrency``, reading each answer's bytes and nothing else;
* **warm**: ``compute_month`` again over the filled store (no source queries).

The floor is also replayed once with ``accept-encoding: identity``, for
information: gzip is most of Prometheus' CPU time on these answers.

Targets: cold <= 1.5 x floor, warm < 2 s. Cold/floor pairs are repeated
(``--repeats``, default 3) in alternating order, each cold run with a fresh
store, after one untimed priming run that records the requests and warms
Prometheus' page cache; medians are reported. The exit code is 0 whether the
targets are met or not: a benchmark reports, it does not gate.

The data set (generated once, cached under ``bench/.cache/<key>/``, keyed by
``DATA_VERSION`` and the generation parameters):

* 30 ratio services ``r00``..``r29`` x 2 instances x (``app_requests_total``,
  ``app_request_errors_total``) = 120 series;
* 4 of them (``r00``..``r03``) with ``app_request_duration_seconds_bucket``,
  10 buckets x 2 instances = 80 series;
* 25 probe services ``p00``..``p24`` x 2 probes (``probe_success``) = 50 series;

one sample every 60 s per series, at a per-target offset of 1-58 s past the
minute (with milliseconds), from 2 h before the month to 15 min after it:
~250 series, ~11.2 M samples. Events, so the data is not flat:

* r05: both instances unscraped for 25 min (Jan 7 03:00);
* r11/i0: unscraped for 90 min (Jan 15 10:00), longer than slactl's 60-min
  flag lookback, so slactl reads that minute raw with instant queries;
* r08: 30 % errors for 40 min (Jan 10 14:00); r20: 5 % for 3 h (Jan 22 09:00);
* r02/i1: process restart (Jan 18 12:00): all its counters, buckets included,
  restart from zero (one counter reset);
* r01: latency degradation for 2 h (Jan 12 20:00);
* p05: both probes down for 45 min (Jan 20 08:00); p12/eu down 15 min
  (Jan 25 16:00); every probe fails a random single minute with p = 2e-4.

Each timed run also reports the CPU seconds used meanwhile by this process,
by the Prometheus server and by everything else on the machine ("other"): a
busy machine (someone's test suite) disturbs the timings, and the summary warns.

Options: ``--repeats N``; ``--profile``: three more cold runs after the table's
runs: one split into stages (fetch, JSON decoding, store writes, report, GC
pauses) by wrapping slactl functions in this process, one with Python's cyclic
GC disabled, one under cProfile (top 25 by cumulative and by own time);
``--regenerate``: ignore the cached TSDB.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import hashlib
import io
import json
import math
import os
import pstats
import resource
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
import numpy as np

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT / "tests"))

from promkit import OpenMetrics, PrometheusServer, backfill, missing_binaries  # noqa: E402

from slactl.config import Config, parse  # noqa: E402
from slactl.pipeline.monthly import compute_month, report_monthly  # noqa: E402
from slactl.sources.base import Injected  # noqa: E402
from slactl.store.sql import Store  # noqa: E402

# --------------------------------------------------------------------------- data set

DATA_VERSION = "v1"
MONTH = "2026-01"
T0 = 1767225600  # 2026-01-01T00:00:00Z
T1 = 1769904000  # 2026-02-01T00:00:00Z
LEAD_S = 2 * 3600  # data before the month (slactl looks back for baselines)
TAIL_S = 15 * 60
NOW = datetime(2026, 2, 2, tzinfo=UTC)  # the month is complete and settled

N_RATIO, N_HIST, N_PROBE = 30, 4, 25
INSTANCES = ("i0", "i1")
PROBES = ("eu", "us")
BUCKETS = ("0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "+Inf")
SEED = 20260101

TARGET_RATIO = 1.5
TARGET_WARM_S = 2.0

GEN_PARAMS = {
    "version": DATA_VERSION,
    "t0": T0,
    "t1": T1,
    "lead": LEAD_S,
    "tail": TAIL_S,
    "ratio": N_RATIO,
    "hist": N_HIST,
    "probe": N_PROBE,
    "instances": INSTANCES,
    "probes": PROBES,
    "buckets": BUCKETS,
    "seed": SEED,
}
CACHE_KEY = hashlib.sha256(json.dumps(GEN_PARAMS, sort_keys=True).encode()).hexdigest()[:12]

START_S = T0 - LEAD_S
N_MIN = (T1 + TAIL_S - START_S) // 60


def ratio_names() -> list[str]:
    return [f"r{i:02d}" for i in range(N_RATIO)]


def probe_names() -> list[str]:
    return [f"p{i:02d}" for i in range(N_PROBE)]


def minute_index(day: int, hour: int, minute: int) -> int:
    """Index into the generated minutes of 2026-01-<day> <hour>:<minute> UTC."""
    return LEAD_S // 60 + (day - 1) * 1440 + hour * 60 + minute


def _span(day: int, hour: int, minute: int, length: int) -> slice:
    a = minute_index(day, hour, minute)
    return slice(a, a + length)


GAPS = {
    ("r05", "i0"): [_span(7, 3, 0, 25)],
    ("r05", "i1"): [_span(7, 3, 0, 25)],
    ("r11", "i0"): [_span(15, 10, 0, 90)],
}
ERROR_SPELLS = {"r08": [(_span(10, 14, 0, 40), 0.30)], "r20": [(_span(22, 9, 0, 180), 0.05)]}
RESETS = {("r02", "i1"): minute_index(18, 12, 0)}
SLOW = {"r01": _span(12, 20, 0, 120)}
PROBE_DOWN = {
    ("p05", "eu"): [_span(20, 8, 0, 45)],
    ("p05", "us"): [_span(20, 8, 0, 45)],
    ("p12", "eu"): [_span(25, 16, 0, 15)],
}


def _latency_pvals(median: float, sigma: float) -> np.ndarray:
    """Probability of each bucket (non-cumulative) for a log-normal latency."""
    cdf = []
    for le in BUCKETS[:-1]:
        z = (math.log(float(le)) - math.log(median)) / sigma
        cdf.append(0.5 * (1 + math.erf(z / math.sqrt(2))))
    cdf.append(1.0)
    p = np.diff(np.array([0.0, *cdf]))
    return p / p.sum()


def _samples(ts: np.ndarray, vals: np.ndarray, keep: np.ndarray):
    """A lazy (ts, value) generator: lists are only built when promkit writes the series."""

    def gen():
        yield from zip(ts[keep].tolist(), vals[keep].tolist(), strict=True)

    return gen()


def _counter_from(
    increments: np.ndarray, base: np.ndarray | float, reset_at: int | None
) -> np.ndarray:
    """Cumulative counter values (axis 0 is time), restarting from zero at ``reset_at``."""
    values = np.cumsum(increments, axis=0) + base
    if reset_at is not None:
        values[reset_at:] = np.cumsum(increments[reset_at:], axis=0)
    return values.astype(np.float64)


def build_openmetrics() -> tuple[OpenMetrics, int]:
    rng = np.random.default_rng(SEED)
    om = OpenMetrics()
    minutes = np.arange(N_MIN)
    samples = 0
    target = 0

    def scrape_times() -> np.ndarray:
        nonlocal target
        target += 1
        offset = 1.0 + ((target * 7919) % 57_000) / 1000.0  # 1.000 .. 57.999 s, never 0
        return START_S + minutes * 60.0 + offset

    day_phase = 2 * np.pi * (minutes % 1440) / 1440
    for k, svc in enumerate(ratio_names()):
        hist = k < N_HIST
        for inst in INSTANCES:
            ts = scrape_times()
            keep = np.ones(N_MIN, dtype=bool)
            for gap in GAPS.get((svc, inst), []):
                keep[gap] = False
            reset_at = RESETS.get((svc, inst))
            rate = rng.uniform(50, 3000) * (1 + 0.6 * np.sin(day_phase + rng.uniform(0, 2 * np.pi)))
            total_inc = rng.poisson(rate)
            p_err = np.full(N_MIN, 0.001)
            for spell, p in ERROR_SPELLS.get(svc, []):
                p_err[spell] = p
            err_inc = rng.binomial(total_inc, p_err)
            total_base = float(rng.integers(10**5, 10**7))
            om.counter(
                "app_requests_total",
                {"service": svc, "instance": inst},
                _samples(ts, _counter_from(total_inc, total_base, reset_at), keep),
            )
            om.counter(
                "app_request_errors_total",
                {"service": svc, "instance": inst},
                _samples(
                    ts, _counter_from(err_inc, math.floor(total_base * 0.001), reset_at), keep
                ),
            )
            samples += 2 * int(keep.sum())
            if hist:
                per_bucket = rng.multinomial(total_inc, _latency_pvals(0.04 + 0.01 * k, 0.8))
                slow = SLOW.get(svc)
                if slow is not None:
                    per_bucket[slow] = rng.multinomial(total_inc[slow], _latency_pvals(0.4, 0.6))
                cumulative = np.cumsum(per_bucket, axis=1)  # over le
                base = np.floor(total_base * np.cumsum(_latency_pvals(0.04 + 0.01 * k, 0.8)))
                buckets = _counter_from(cumulative, base, reset_at)
                for j, le in enumerate(BUCKETS):
                    om.gauge(
                        "app_request_duration_seconds_bucket",
                        {"service": svc, "instance": inst, "le": le},
                        _samples(ts, buckets[:, j].copy(), keep),
                    )
                samples += len(BUCKETS) * int(keep.sum())
    for svc in probe_names():
        for probe in PROBES:
            ts = scrape_times()
            up = (rng.random(N_MIN) >= 2e-4).astype(np.float64)
            for down in PROBE_DOWN.get((svc, probe), []):
                up[down] = 0.0
            om.gauge(
                "probe_success",
                {"service": svc, "probe": probe},
                _samples(ts, up, np.ones(N_MIN, dtype=bool)),
            )
            samples += N_MIN
    return om, samples


def ensure_tsdb(regenerate: bool) -> tuple[Path, dict]:
    """The cached TSDB directory for this data set, generating and backfilling it if needed."""
    cache = BENCH / ".cache" / f"{DATA_VERSION}-{CACHE_KEY}"
    ready = cache / "READY.json"
    if ready.is_file() and not regenerate:
        meta = json.loads(ready.read_text())
        print(
            f"data: cached in {cache.relative_to(ROOT)} ({meta['series']} series, {meta['samples']:,} samples)"
        )
        return cache / "tsdb", meta
    if cache.exists():
        shutil.rmtree(cache)
    cache.mkdir(parents=True)
    t = time.perf_counter()
    om, samples = build_openmetrics()
    om_path = om.write(cache / "data.om")
    gen_s = time.perf_counter() - t
    om_bytes = om_path.stat().st_size
    print(
        f"data: generated {om.series_count} series, {samples:,} samples, {om_bytes / 1e6:.0f} MB OpenMetrics in {gen_s:.1f} s"
    )
    t = time.perf_counter()
    backfill(om_path, cache / "tsdb")
    backfill_s = time.perf_counter() - t
    print(f"data: backfilled into {cache.relative_to(ROOT)}/tsdb in {backfill_s:.1f} s")
    om_path.unlink()
    meta = {
        "series": om.series_count,
        "samples": samples,
        "generate_s": gen_s,
        "backfill_s": backfill_s,
        "params": GEN_PARAMS,
    }
    ready.write_text(json.dumps(meta, indent=1))
    return cache / "tsdb", meta


# --------------------------------------------------------------------------- config


def make_config(url: str, base_dir: Path) -> Config:
    services: dict[str, dict] = {}
    for k, svc in enumerate(ratio_names()):
        spec: dict = {
            "source": "prom",
            "availability": {
                "errors": f'app_request_errors_total{{service="{svc}"}}',
                "total": f'app_requests_total{{service="{svc}"}}',
            },
        }
        if k < N_HIST:
            spec["latency"] = {
                "histogram": f'app_request_duration_seconds_bucket{{service="{svc}"}}'
            }
        services[svc] = spec
    for svc in probe_names():
        services[svc] = {
            "source": "prom",
            "availability": {"probe": f'probe_success{{service="{svc}"}}'},
        }
    names = list(services)
    raw = {
        "timezone": "UTC",
        "sources": {"prom": {"type": "prometheus", "url": url}},
        "tiers": {
            "standard": {
                "uptime_target": 99.9,
                "credits": [{"below": 99.9, "percent": 10}, {"below": 99.0, "percent": 25}],
            },
            "premium": {
                "uptime_target": 99.95,
                "credits": [{"below": 99.95, "percent": 10}, {"below": 99.0, "percent": 30}],
            },
        },
        "latency_targets_seconds": {"p50": 0.1, "p95": 0.5, "p99": 1.0},
        "services": services,
        "customers": {
            "acme": {"tier": "premium", "monthly_fee": "12000.00", "services": names[:20]},
            "globex": {"tier": "standard", "monthly_fee": "3000.00", "services": names[20:]},
        },
    }
    return parse(json.dumps(raw), base_dir=base_dir, source_file="<bench>")


# --------------------------------------------------------------------------- runs


class Recording(httpx.AsyncBaseTransport):
    """Forwards every request to ``inner`` and records (method, path, body).

    The headers of the first query_range request are kept too, so the floor asks
    for the same content encoding (gzip or not) that slactl asked for.
    """

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.requests: list[tuple[str, str, bytes]] = []
        self.range_headers: dict[str, str] | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        self.requests.append((request.method, request.url.path, body))
        if self.range_headers is None and request.url.path == "/api/v1/query_range":
            skip = {"host", "content-length"}
            self.range_headers = {k: v for k, v in request.headers.items() if k.lower() not in skip}
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()

    def range_bodies(self) -> list[bytes]:
        return [b for m, p, b in self.requests if m == "POST" and p == "/api/v1/query_range"]

    def summary(self) -> str:
        c = Counter(p for _, p, _ in self.requests)
        return ", ".join(f"{p}: {n}" for p, n in sorted(c.items()))


@dataclass
class Cold:
    seconds: float
    recording: Recording
    store: Store
    report: dict
    pulled: dict[str, int]


def cold_run(cfg: Config, workdir: Path, tag: str, profile: cProfile.Profile | None = None) -> Cold:
    store = Store(f"sqlite:///{workdir / f'{tag}.db'}")
    rec = Recording(httpx.AsyncHTTPTransport())
    injected = Injected(http_transport=rec)
    t = time.perf_counter()
    if profile is not None:
        profile.enable()
    report, _minutes, pulled = compute_month(cfg, store, MONTH, NOW, injected)
    if profile is not None:
        profile.disable()
    seconds = time.perf_counter() - t
    return Cold(seconds, rec, store, report, pulled)


def warm_run(cfg: Config, store: Store) -> tuple[float, dict]:
    rec = Recording(httpx.AsyncHTTPTransport())
    t = time.perf_counter()
    report, _minutes, pulled = compute_month(cfg, store, MONTH, NOW, Injected(http_transport=rec))
    seconds = time.perf_counter() - t
    assert not rec.range_bodies(), f"warm run made query_range requests: {rec.summary()}"
    assert not pulled, f"warm run pulled minutes: {pulled}"
    return seconds, report


@dataclass
class Floor:
    seconds: float
    requests: int
    body_bytes: int  # decoded answer bytes
    wire_bytes: int  # as received (gzip)
    statuses: Counter = field(default_factory=Counter)


async def _replay(
    url: str,
    bodies: list[bytes],
    headers: dict[str, str],
    concurrency: int,
) -> Floor:
    sem = asyncio.Semaphore(concurrency)
    out = Floor(0.0, len(bodies), 0, 0)
    async with httpx.AsyncClient(
        base_url=url, limits=httpx.Limits(max_connections=concurrency), timeout=httpx.Timeout(60.0)
    ) as client:

        async def one(body: bytes) -> None:
            async with sem:
                resp = await client.post("/api/v1/query_range", content=body, headers=headers)
            out.body_bytes += len(resp.content)
            out.wire_bytes += resp.num_bytes_downloaded
            out.statuses[resp.status_code] += 1

        await asyncio.gather(*(one(b) for b in bodies))
    return out


def floor_run(
    url: str,
    bodies: list[bytes],
    headers: dict[str, str],
    concurrency: int,
) -> Floor:
    t = time.perf_counter()
    out = asyncio.run(_replay(url, bodies, headers, concurrency))
    out.seconds = time.perf_counter() - t
    if set(out.statuses) != {200}:
        raise RuntimeError(f"floor replay got statuses {dict(out.statuses)}")
    return out


def server_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far, from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return math.nan
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy_s() -> float:
    """CPU seconds all processes of the machine have used so far (non-idle time in /proc/stat)."""
    try:
        line = Path("/proc/stat").read_text().splitlines()[0].split()
    except OSError:
        return math.nan
    user, nice, system, idle, iowait, irq, softirq, steal = (int(x) for x in line[1:9])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


class CPU:
    """CPU seconds used during a block by this process, the Prometheus server, and the rest.

    ``other`` is whatever else ran on the machine meanwhile (e.g. someone's test
    suite): when it is not near zero, the timings of that block are disturbed.
    """

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.client = self.server = self.other = 0.0

    def __enter__(self) -> CPU:
        self._c, self._s, self._m = time.process_time(), server_cpu_s(self.pid), machine_busy_s()
        return self

    def __exit__(self, *exc: object) -> None:
        self.client = time.process_time() - self._c
        self.server = server_cpu_s(self.pid) - self._s
        self.other = max(0.0, machine_busy_s() - self._m - self.client - self.server)

    def __str__(self) -> str:
        return f"cpu: client {self.client:.1f} s, prometheus {self.server:.1f} s, other {self.other:.1f} s"


def _cpu_cell(cpus: list[CPU]) -> str:
    med = statistics.median
    return " / ".join(
        f"{med(getattr(c, k) for c in cpus):.1f}" for k in ("client", "server", "other")
    )


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def print_profile(profile: cProfile.Profile, seconds: float) -> None:
    for key in ("cumulative", "tottime"):
        buf = io.StringIO()
        stats = pstats.Stats(profile, stream=buf)
        stats.strip_dirs().sort_stats(key).print_stats(25)
        text = buf.getvalue()
        start = text.find("   ncalls")
        print(f"\n--- cold run under cProfile ({seconds:.1f} s with profiling): top 25 by {key}")
        print(text[start:].rstrip())


def sanity(report: dict) -> str:
    svcs = report["services"]
    r05, r08, p05 = svcs["r05"], svcs["r08"], svcs["p05"]
    return (
        f"r05 no_data={r05['minutes'].get('no_data')}, r08 down={r08['minutes'].get('down')}, "
        f"p05 down={p05['minutes'].get('down')}, r01 p99={svcs['r01']['latency_seconds']['p99']}"
    )


@contextmanager
def stage_timers() -> Iterator[tuple[dict[str, float], Counter]]:
    """Time slactl's stages by wrapping a few of its functions in this process (diagnostics only).

    Nothing of slactl is changed on disk; the wrappers are removed on exit.
    """
    import slactl.pipeline.monthly as monthly_mod
    from slactl.sources.prometheus import PrometheusAdapter

    acc: dict[str, float] = defaultdict(float)
    counts: Counter = Counter()

    def wrap(owner: object, name: str, key: str) -> tuple[object, str, object]:
        orig = getattr(owner, name)

        def wrapper(*a: object, **kw: object) -> object:
            t, c = time.perf_counter(), time.process_time()
            try:
                return orig(*a, **kw)
            finally:
                acc[key] += time.perf_counter() - t
                acc[key + " cpu"] += time.process_time() - c
                counts[key] += 1

        setattr(owner, name, wrapper)
        return owner, name, orig

    started: list[float] = []

    def on_gc(phase: str, info: dict) -> None:
        if phase == "start":
            started.append(time.perf_counter())
        elif started:
            dt = time.perf_counter() - started.pop()
            acc["gc"] += dt
            counts["gc"] += 1
            if info.get("generation") == 2:
                acc["gc2"] += dt
                counts["gc2"] += 1

    patches = [
        wrap(httpx.Response, "json", "json"),
        wrap(PrometheusAdapter, "fetch", "fetch"),
        wrap(Store, "save", "save"),
        wrap(monthly_mod, "monthly_report", "report"),
    ]
    gc.callbacks.append(on_gc)
    try:
        yield acc, counts
    finally:
        gc.callbacks.remove(on_gc)
        for owner, name, orig in patches:
            setattr(owner, name, orig)


def stages_run(cfg: Config, tmp: Path) -> None:
    """One more cold run, split into stages by wall clock (and this process's CPU time)."""
    with stage_timers() as (acc, counts):
        cold = cold_run(cfg, tmp, "stages")
    cold.store.close()
    other = cold.seconds - acc["fetch"] - acc["save"] - acc["report"]
    rows = [
        (
            "source fetch (asyncio.run of all requests)",
            acc["fetch"],
            acc["fetch cpu"],
            counts["fetch"],
        ),
        (
            "  of which resp.json() (stdlib json.loads)",
            acc["json"],
            acc["json cpu"],
            counts["json"],
        ),
        ("store.save (SQLite writes)", acc["save"], acc["save cpu"], counts["save"]),
        (
            "monthly_report (store reads + figures)",
            acc["report"],
            acc["report cpu"],
            counts["report"],
        ),
        ("rest (config fingerprints, coverage reads)", other, math.nan, 0),
        ("Python cyclic GC pauses, anywhere", acc["gc"], math.nan, counts["gc"]),
        ("  of which full (generation 2) collections", acc["gc2"], math.nan, counts["gc2"]),
    ]
    print(f"\n--- cold run split into stages: {cold.seconds:.2f} s")
    print(f"  {'stage':<46} {'wall s':>7} {'cpu s':>7} {'calls':>7}")
    for name, wall, cpu, n in rows:
        cpu_s = f"{cpu:7.2f}" if not math.isnan(cpu) else " " * 7
        print(f"  {name:<46} {wall:7.2f} {cpu_s} {n or '':>7}")


def files_run(cfg: Config, store: Store, out: Path) -> str:
    """Time ``report_monthly`` (warm, rendering and writing its files) once, for information."""
    out.mkdir(exist_ok=True)
    t = time.perf_counter()
    try:
        res = report_monthly(
            cfg,
            store,
            MONTH,
            out,
            NOW,
            Injected(http_transport=Recording(httpx.AsyncHTTPTransport())),
        )
    except Exception as exc:  # informational only: rendering is not what this bench measures
        return f"warm report_monthly (rendering + writing files) FAILED, not timed: {type(exc).__name__}: {exc}"
    return f"warm report_monthly incl. rendering + writing {len(res.files)} files: {time.perf_counter() - t:.3f} s"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3, help="cold/floor pairs (default 3)")
    ap.add_argument(
        "--profile",
        action="store_true",
        help="extra cold runs: split into stages, without GC, under cProfile",
    )
    ap.add_argument("--regenerate", action="store_true", help="regenerate the cached TSDB")
    args = ap.parse_args()

    bench_t = time.perf_counter()
    missing = missing_binaries()
    if missing:
        print(f"bench: {', '.join(missing)} not on PATH (run `make prometheus`)", file=sys.stderr)
        return 1
    tsdb, meta = ensure_tsdb(args.regenerate)

    with tempfile.TemporaryDirectory(prefix="slactl-bench-") as tmp_s:
        tmp = Path(tmp_s)
        t = time.perf_counter()
        # Prometheus' own files (config, log) go to the temp dir; the TSDB is the cached one.
        with PrometheusServer(tsdb, workdir=tmp / "prom") as prom:
            print(
                f"prometheus: {prom.url} ready in {time.perf_counter() - t:.1f} s (log {prom.log_path})"
            )
            cfg = make_config(prom.url, tmp)
            concurrency = cfg.sources["prom"].max_concurrency
            print(
                f"config: {len(cfg.services)} services, source max_concurrency={concurrency}, "
                f"chunk_minutes={cfg.sources['prom'].chunk_minutes}"
            )

            prime = cold_run(cfg, tmp, "prime")
            bodies = prime.recording.range_bodies()
            headers = prime.recording.range_headers or {}
            print(
                f"  floor replays them with slactl's headers: accept-encoding={headers.get('accept-encoding')!r}"
            )
            reference = json.dumps(prime.report, sort_keys=True)
            print(
                f"priming cold run (untimed for the table): {prime.seconds:.2f} s; requests: {prime.recording.summary()}"
            )
            print(
                f"  pulled {sum(prime.pulled.values()):,} service-minutes; {sanity(prime.report)}"
            )
            prime.store.close()

            colds: list[float] = []
            floors: list[Floor] = []
            warms: list[float] = []
            floor_cpu: list[CPU] = []
            cold_cpu: list[CPU] = []
            pid = prom._proc.pid  # promkit keeps the process private; only read for its CPU time
            for i in range(args.repeats):
                order = ("cold", "floor") if i % 2 else ("floor", "cold")
                for what in order:
                    if what == "floor":
                        with CPU(pid) as cpu:
                            fl = floor_run(prom.url, bodies, headers, concurrency)
                        floors.append(fl)
                        floor_cpu.append(cpu)
                        print(
                            f"  [{i + 1}] floor {fl.seconds:6.2f} s  ({fl.requests} query_range, "
                            f"{fl.body_bytes / 1e6:.1f} MB; {cpu})"
                        )
                        continue
                    with CPU(pid) as cpu:
                        cold = cold_run(cfg, tmp, f"cold{i}")
                    colds.append(cold.seconds)
                    cold_cpu.append(cpu)
                    same_requests = Counter(cold.recording.range_bodies()) == Counter(bodies)
                    same_report = json.dumps(cold.report, sort_keys=True) == reference
                    warm_s, warm_report = warm_run(cfg, cold.store)
                    warms.append(warm_s)
                    same_warm = json.dumps(warm_report, sort_keys=True) == reference
                    print(
                        f"  [{i + 1}] cold  {cold.seconds:6.2f} s  ({cpu}; same query_range requests: "
                        f"{same_requests}, same report: {same_report}); warm {warm_s:.3f} s (same report: {same_warm})"
                    )
                    if i == 0:
                        print(f"      {files_run(cfg, cold.store, tmp / 'reports')}")
                    cold.store.close()
            rss_mb = peak_rss_mb()  # before the diagnostic runs below, which may hold more

            # For information: the same replay without gzip, which slactl's client asks for.
            plain = dict(headers, **{"accept-encoding": "identity"})
            with CPU(pid) as cpu:
                identity = floor_run(prom.url, bodies, plain, concurrency)
            print(
                f"  floor without compression (accept-encoding: identity), once: "
                f"{identity.seconds:.2f} s ({cpu})"
            )

            if args.profile:
                stages_run(cfg, tmp)
                with CPU(pid) as cpu:
                    gc.disable()
                    try:
                        cold = cold_run(cfg, tmp, "nogc")
                    finally:
                        gc.enable()
                cold.store.close()
                print(
                    f"\n--- cold run with Python's cyclic GC disabled: {cold.seconds:.2f} s ({cpu})"
                )
                profile = cProfile.Profile()
                cold = cold_run(cfg, tmp, "profiled", profile)
                cold.store.close()
                print_profile(profile, cold.seconds)

    floor_s = statistics.median(f.seconds for f in floors)
    cold_s = statistics.median(colds)
    warm_s = statistics.median(warms)
    ratio = cold_s / floor_s
    fl = floors[0]
    print()
    print(
        f"slactl bench: month {MONTH}, {meta['series']} series, {meta['samples']:,} samples, median of {args.repeats}"
    )
    print("  (cold/warm = compute_month: pull + store + report dict, no files written)")
    rows = [
        ("floor (bare client, query_range only)", f"{floor_s:.2f} s"),
        ("cold report", f"{cold_s:.2f} s"),
        ("cold / floor", f"{ratio:.2f}x"),
        ("(floor without gzip, once, for information)", f"{identity.seconds:.2f} s"),
        ("warm report", f"{warm_s:.3f} s"),
        (
            "bytes fetched (decoded / on the wire)",
            f"{fl.body_bytes / 1e6:.1f} MB / {fl.wire_bytes / 1e6:.1f} MB",
        ),
        ("query_range requests", f"{fl.requests}"),
        ("CPU s in floor: client / prometheus / other", _cpu_cell(floor_cpu)),
        ("CPU s in cold: client / prometheus / other", _cpu_cell(cold_cpu)),
        ("all requests of a cold run", f"{len(prime.recording.requests)}"),
        ("series", f"{meta['series']}"),
        ("CPUs", f"{os.cpu_count()}"),
        ("peak RSS of this process (timed runs)", f"{rss_mb:.0f} MB"),
    ]
    width = max(len(r[0]) for r in rows)
    for name, value in rows:
        print(f"  {name:<{width}}  {value}")
    ok_ratio, ok_warm = ratio <= TARGET_RATIO, warm_s < TARGET_WARM_S
    noise = max(c.other for c in floor_cpu + cold_cpu)
    if noise > 2.0:
        print(
            f"  WARNING: other processes used up to {noise:.1f} CPU-s during a timed run on this "
            f"{os.cpu_count()}-CPU machine: the timings are disturbed"
        )
    print(
        f"  target cold <= {TARGET_RATIO}x floor: {'PASS' if ok_ratio else 'FAIL'} ({ratio:.2f}x)"
    )
    print(
        f"  target warm < {TARGET_WARM_S:g} s:        {'PASS' if ok_warm else 'FAIL'} ({warm_s:.3f} s)"
    )
    print(
        f"  all runs: {' '.join(f'{c:.2f}' for c in colds)} (cold), {' '.join(f'{f.seconds:.2f}' for f in floors)} (floor)"
    )
    print(f"bench total: {time.perf_counter() - bench_t:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
