"""The Prometheus source: per-minute SLI inputs built from PromQL over the HTTP API.

Every query is built here from the user's selectors, so minute boundaries are
exact (SPEC 2.1–2.2): each minute ``[t, t+60s)`` is read by a range function
evaluated at ``t + 59.999 s`` over a window of exactly 60 s, sized for the
server's range semantics, never by plain instant selectors, whose 5-minute
lookback would paint the first minutes of a gap with a stale value.

Counters (``errors``, ``total``, histogram buckets) are pulled as the last
sample of each minute plus a sparse flag query that marks the rare minutes
where a restart hides inside; only those minutes are read raw.  See
:mod:`slactl.sli.counters` for the arithmetic.
"""

from __future__ import annotations

import asyncio
import math
from collections import defaultdict
from typing import Any

import numpy as np

from slactl.config import Config, PrometheusSource
from slactl.model import GroupKey, MinuteSeries
from slactl.sli import counters
from slactl.sources.base import FetchRequest, FetchResult, Injected, group_key, register
from slactl.sources.promapi import (
    EVAL_OFFSET_S,
    LabelKey,
    PromAPI,
    Semantics,
    gather,
    label_key,
    window,
)


class PrometheusAdapter:
    """A :class:`~slactl.sources.base.Source` over one Prometheus-API server."""

    def __init__(self, name: str, cfg: PrometheusSource, config: Config, injected: Injected) -> None:
        self.name = name
        self.cfg = cfg
        self.config = config
        self.injected = injected

    def fetch(self, requests: list[FetchRequest]) -> FetchResult:
        return asyncio.run(self._fetch_all(requests))

    def close(self) -> None:  # connections live only inside fetch()
        return None

    def _api(self) -> PromAPI:
        return PromAPI(
            self.name,
            self.cfg,
            base_dir=self.config.base_dir,
            transport=self.injected.http_transport,
            environ=self.injected.environ,
        )

    async def _fetch_all(self, requests: list[FetchRequest]) -> FetchResult:
        async with self._api() as api:
            sem = await api.semantics()
            return list(await gather(*(_fetch_service(api, sem, r) for r in requests)))


@register("prometheus")
def _factory(name: str, cfg: Any, config: Config, injected: Injected) -> PrometheusAdapter:
    return PrometheusAdapter(name, cfg, config, injected)


async def _fetch_service(api: PromAPI, sem: Semantics, req: FetchRequest) -> dict[GroupKey, MinuteSeries]:
    spec = req.spec
    n = req.end - req.start
    ctx = f"service '{req.service}'"
    av = spec.availability
    groups: dict[GroupKey, MinuteSeries] = {}

    def get(g: GroupKey) -> MinuteSeries:
        if g not in groups:
            groups[g] = MinuteSeries.empty(av.kind, req.start, n)
        return groups[g]

    jobs = []
    if av.kind == "ratio":
        jobs.append(_counter(api, sem, str(av.total), req, f"{ctx} (total {av.total})"))
        jobs.append(_counter(api, sem, str(av.errors), req, f"{ctx} (errors {av.errors})"))
    else:
        jobs.append(
            api.range_minutes(f"avg_over_time({av.probe}{window(sem, 60)})", req.start, req.end, f"{ctx} (probe {av.probe})")
        )
    if spec.latency is not None and spec.latency.histogram:
        jobs.append(_counter(api, sem, spec.latency.histogram, req, f"{ctx} (latency {spec.latency.histogram})"))
    answers = await gather(*jobs)

    if av.kind == "ratio":
        total, errors = answers[0], answers[1]
        for labels, inc, present in total:
            ms = get(group_key(labels, spec.group_by))
            assert ms.total is not None
            ms.total += inc
            ms.has_data |= present
        for labels, inc, _present in errors:
            ms = get(group_key(labels, spec.group_by))
            assert ms.errors is not None
            ms.errors += inc
    else:
        for series in answers[0].values():
            ms = get(group_key(series.labels, spec.group_by))
            assert ms.probe_sum is not None and ms.probe_count is not None
            idx = series.minutes - req.start
            ok = (idx >= 0) & (idx < n) & ~np.isnan(series.values)
            ms.probe_sum[idx[ok]] += series.values[ok]
            ms.probe_count[idx[ok]] += 1
            ms.has_data[idx[ok]] = True
    if spec.latency is not None and spec.latency.histogram:
        for labels, inc, _present in answers[-1]:
            le = _bound(labels.get("le"))
            if le is None:
                continue
            ms = get(group_key(labels, spec.group_by))
            if le in ms.buckets:
                ms.buckets[le] = ms.buckets[le] + inc
            else:
                ms.buckets[le] = inc.copy()
    if not spec.group_by and not groups:
        groups[()] = MinuteSeries.empty(av.kind, req.start, n)
    return groups


def _bound(le: str | None) -> float | None:
    """``le`` as a number: "1" and "1.0" are the same bucket."""
    if le is None:
        return None
    try:
        value = float(le)
    except ValueError:
        return None
    return math.inf if value == math.inf else value


async def _counter(
    api: PromAPI, sem: Semantics, selector: str, req: FetchRequest, ctx: str
) -> list[tuple[dict[str, str], np.ndarray, np.ndarray]]:
    """Per-series per-minute increases of a counter selector over the request's minutes.

    Returns ``(labels, increases, minute-has-samples)`` per series.
    """
    w, lookback = window(sem, 60), window(sem, 3600)
    flag_expr = (
        f"(resets({selector}{w}) > 0) or "
        f"(0 * (min_over_time({selector}{w}) < (last_over_time({selector}{lookback} offset 1m) + 0)))"
    )
    before = req.start * 60 - 0.001  # the last millisecond before the first minute
    dense, flagged, recent = await gather(
        api.range_minutes(f"last_over_time({selector}{w})", req.start, req.end, ctx),
        api.range_minutes(flag_expr, req.start, req.end, ctx),
        api.instant(f"last_over_time({selector}{lookback})", before, ctx),
    )
    baselines: dict[LabelKey, tuple[float, int | None]] = {}
    for item in recent:
        baselines[label_key(item["metric"])] = (float(item["value"][1]), counters.FLAG_LOOKBACK_MINUTES)
    if any(k not in baselines for k in dense):
        far = f"[{api.cfg.counter_lookback_days}d]"
        for item in await api.instant(f"last_over_time({selector}{far})", before, ctx):
            baselines.setdefault(label_key(item["metric"]), (float(item["value"][1]), None))

    n = req.end - req.start
    last: dict[LabelKey, np.ndarray] = {}
    flags: dict[LabelKey, dict[int, float]] = {}
    need: dict[int, list[LabelKey]] = defaultdict(list)
    for key, s in dense.items():
        arr = np.full(n, np.nan)
        idx = s.minutes - req.start
        ok = (idx >= 0) & (idx < n)
        arr[idx[ok]] = s.values[ok]
        last[key] = arr
        f = flagged.get(key)
        flags[key] = {int(m - req.start): float(v) for m, v in zip(f.minutes, f.values, strict=True)} if f else {}
        base, age = baselines.get(key, (None, None))
        for i in counters.minutes_needing_raw(arr, base, age, flags[key]):
            need[i].append(key)

    raw: dict[LabelKey, dict[int, list[float]]] = defaultdict(dict)
    if need:
        minutes = sorted(need)
        answers = await gather(
            *(api.instant(f"{selector}{w}", (req.start + i) * 60 + EVAL_OFFSET_S, ctx) for i in minutes)
        )
        for i, result in zip(minutes, answers, strict=True):
            wanted = set(need[i])
            for item in result:
                key = label_key(item["metric"])
                if key in wanted:
                    raw[key][i] = [float(v) for _, v in item.get("values") or []]

    out = []
    for key, arr in last.items():
        base = baselines.get(key, (None, None))[0]
        inc = counters.increases(arr, base, flags[key], raw.get(key, {}))
        out.append((dict(dense[key].labels), inc, ~np.isnan(arr)))
    return out
