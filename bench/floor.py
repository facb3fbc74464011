"""The floor: the least work any tool needs to get slactl's per-minute answers.

A bare ``httpx`` client asks for each metric name ONCE per range function, over
every series of that name, for the whole period, in chunks of 11,000 points per
series at most (Prometheus' limit) and about a million points per answer, and
only reads the bytes. The range functions are
the ones slactl's figures need, evaluated at the last millisecond of each
minute over a window of exactly one minute:

* ``avg_over_time`` of each probe metric;
* ``last_over_time`` of each counter (requests, errors, histogram buckets);
* the reset flag of each counter (``resets`` over the minute and the one
  before: a restart inside the minute or at its start), which is sparse;
* one instant query per counter for the last value before the period.

On a loopback address it asks for the bytes uncompressed, as slactl does:
compressing them would cost the server more CPU than evaluating the queries.
It reads each response up to 1 MiB at a time, as slactl does: httpcore's
default of 64 KiB costs a client about 0.9 CPU-seconds more for the 2 GB of the
2,000-series month.

The raw-sample queries slactl sends for the few flagged minutes are left out:
they are a handful of tiny requests. A chunk the server refuses as too large
(``query.max-samples``, or the query timeout on a busy machine) is split in two
and asked again, never dropped.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import httpx
from scenarios import BUCKETS, Scenario

from slactl import runtime

# The floor's client reads responses 1 MiB at a time, as slactl does: with httpcore's 64 KiB
# reads it would spend more CPU than the least work needs. The setting is slactl's one.
runtime.read_size()

EVAL_OFFSET_S = 59.999
MAX_POINTS = 11_000
W = "[59999ms]"  # one minute ending at the evaluation time, left edge excluded (Prometheus 2 ranges are closed)
W2 = "[119999ms]"  # the minute and the one before it
CONCURRENCY = 8  # the same bound as slactl's default ``max_concurrency``
POINTS_PER_REQUEST = 1_000_000


def queries(sc: Scenario) -> list[tuple[str, str, int]]:
    """(function, expression, series it answers with) of every range query the floor sends."""
    out = [("avg_over_time", f"avg_over_time(probe_success{W})", 2 * sc.probe)] if sc.probe else []
    counters = []
    if sc.ratio or sc.hist:
        counters += [("app_requests_total", sc.ratio + sc.hist), ("app_request_errors_total", sc.ratio + sc.hist)]
    if sc.hist:
        counters.append(("app_request_duration_seconds_bucket", len(BUCKETS) * sc.hist))
    for c, n in counters:
        out.append(("last_over_time", f"last_over_time({c}{W})", n))
        out.append(("reset flag", f"resets({c}{W2}) > 0", n))
    return out


def chunk_minutes(series: int) -> int:
    """Minutes per request: at most 11,000, and about a million points per answer.

    Measured on the 2,000-series month, answers of 11,000 points for hundreds of
    series cost Prometheus more (16 s against 8.5 s for the whole floor) than
    answers of a million points each, asked concurrently: the floor takes the
    faster plan, as any tool could.  The series counts come from the generator.
    """
    return max(60, min(MAX_POINTS, POINTS_PER_REQUEST // max(1, series)))


def baselines(sc: Scenario) -> list[str]:
    names = ["app_requests_total", "app_request_errors_total"] if sc.ratio or sc.hist else []
    return [f"last_over_time({c}{W})" for c in names + (["app_request_duration_seconds_bucket"] if sc.hist else [])]


@dataclass
class Floor:
    seconds: float = 0.0
    requests: int = 0
    body_bytes: int = 0
    wire_bytes: int = 0
    splits: int = 0
    by_function: dict[str, float] = field(default_factory=dict)  # bytes per function
    busy_s: dict[str, float] = field(default_factory=dict)  # summed request latency per function


async def _run(url: str, sc: Scenario) -> Floor:
    out = Floor()
    sem = asyncio.Semaphore(CONCURRENCY)
    first, last = sc.t0 // 60, sc.t1 // 60  # epoch minutes [first, last)
    plain = {"Accept-Encoding": "identity"}
    async with httpx.AsyncClient(base_url=url, timeout=600, trust_env=False, headers=plain) as client:

        async def post(path: str, form: dict[str, str], fn: str) -> httpx.Response:
            async with sem:
                t = time.perf_counter()
                resp = await client.post(path, data=form)
                out.busy_s[fn] = out.busy_s.get(fn, 0.0) + time.perf_counter() - t
            if path == "/api/v1/query" and resp.status_code != 200:
                raise RuntimeError(f"floor: {form['query']} got HTTP {resp.status_code}: {resp.text[:200]}")
            out.requests += 1
            out.body_bytes += len(resp.content)
            out.wire_bytes += resp.num_bytes_downloaded
            out.by_function[fn] = out.by_function.get(fn, 0) + len(resp.content)
            return resp

        async def span(fn: str, expr: str, a: int, b: int) -> None:
            form = {"query": expr, "start": f"{a * 60 + EVAL_OFFSET_S:.3f}",
                    "end": f"{(b - 1) * 60 + EVAL_OFFSET_S:.3f}", "step": "60"}  # fmt: skip
            resp = await post("/api/v1/query_range", form, fn)
            if resp.status_code == 200:
                return
            too_big = "sample" in resp.text or "timeout" in resp.text or "timed out" in resp.text
            if resp.status_code in (400, 422, 503) and too_big and b - a > 1:
                out.splits += 1
                mid = (a + b) // 2
                await asyncio.gather(span(fn, expr, a, mid), span(fn, expr, mid, b))
                return
            raise RuntimeError(f"floor: {expr} [{a}, {b}) got HTTP {resp.status_code}: {resp.text[:200]}")

        jobs = [span(fn, expr, a, min(a + chunk_minutes(n), last))
                for fn, expr, n in queries(sc) for a in range(first, last, chunk_minutes(n))]  # fmt: skip
        for expr in baselines(sc):
            jobs.append(post("/api/v1/query", {"query": expr, "time": f"{sc.t0 - 0.001:.3f}"}, "baseline"))
        await asyncio.gather(*jobs)
    return out


def run_floor(url: str, sc: Scenario) -> Floor:
    t = time.perf_counter()
    out = asyncio.run(_run(url, sc))
    out.seconds = time.perf_counter() - t
    return out
