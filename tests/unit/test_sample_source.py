"""The built-in ``sample`` source: deterministic, range-split invariant, realistic, exact."""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from slactl.config import Config, parse
from slactl.model import minute_of
from slactl.sli import counters
from slactl.sli.latency import histogram_quantile
from slactl.sources.base import FetchRequest, build
from slactl.sources.sample import (
    BOUNDS,
    ERRORS,
    FIRST_BUCKET,
    TOTAL,
    SampleAdapter,
    counter_samples,
)

JAN = minute_of(datetime(2026, 1, 1, tzinfo=UTC))
FEB = minute_of(datetime(2026, 2, 1, tzinfo=UTC))


def make_config(tmp_path: Path, seed: int = 42, plain: int = 8) -> Config:
    plain_services = "".join(
        f"""
  s{i}:
    source: gen
    availability:
      errors: http_requests_total{{service="s{i}",code=~"5.."}}
      total: http_requests_total{{service="s{i}"}}
"""
        for i in range(plain)
    )
    text = f"""
sources:
  gen: {{type: sample, seed: {seed}}}
tiers:
  standard: {{uptime_target: 99.9}}
services:
  api:
    source: gen
    availability:
      errors: http_requests_total{{service="api",code=~"5.."}}
      total: http_requests_total{{service="api"}}
    latency:
      histogram: http_request_duration_seconds_bucket{{service="api"}}
    group_by: [tenant]
  auth:
    source: gen
    availability:
      probe: probe_success{{service="auth"}}
{plain_services}
customers:
  acme: {{tier: standard, monthly_fee: "100.00", services: [api], match: {{tenant: acme}}}}
  globex: {{tier: standard, monthly_fee: "100.00", services: [api, auth], match: {{tenant: globex}}}}
"""
    return parse(text, base_dir=tmp_path)


def fetch(cfg: Config, start: int, end: int, services: list[str] | None = None):
    src = build("gen", cfg)
    names = services or list(cfg.services)
    answers = src.fetch([FetchRequest(s, cfg.services[s], start, end) for s in names])
    return dict(zip(names, answers, strict=True))


def assert_same(a, b) -> None:
    assert a.keys() == b.keys()
    for svc in a:
        assert a[svc].keys() == b[svc].keys()
        for g, x in a[svc].items():
            y = b[svc][g]
            assert (x.kind, x.start, len(x)) == (y.kind, y.start, len(y))
            np.testing.assert_array_equal(x.has_data, y.has_data)
            for name, arr in x.arrays().items():
                np.testing.assert_array_equal(arr, y.arrays()[name])
            assert x.buckets.keys() == y.buckets.keys()
            for le, arr in x.buckets.items():
                np.testing.assert_array_equal(arr, y.buckets[le])


def concat(parts):
    """Join consecutive fetches of the same services into one result, like the store does."""
    out = {}
    for svc, groups in parts[0].items():
        out[svc] = {}
        for g in groups:
            series = [p[svc][g] for p in parts]
            first = series[0]
            joined = type(first).empty(first.kind, first.start, sum(len(s) for s in series))
            joined.has_data = np.concatenate([s.has_data for s in series])
            for name in first.arrays():
                setattr(joined, name, np.concatenate([s.arrays()[name] for s in series]))
            joined.buckets = {
                le: np.concatenate([s.buckets[le] for s in series]) for le in first.buckets
            }
            out[svc][g] = joined
    return out


@pytest.fixture(scope="module")
def month(tmp_path_factory):
    cfg = make_config(tmp_path_factory.mktemp("cfg"))
    return cfg, fetch(cfg, JAN, FEB)


def test_registered_and_shapes(month):
    cfg, res = month
    assert isinstance(build("gen", cfg), SampleAdapter)
    assert set(res) == set(cfg.services)
    for groups in res.values():
        for ms in groups.values():
            assert ms.start == JAN and len(ms) == FEB - JAN
            assert all(len(a) == FEB - JAN for a in ms.arrays().values())
    assert res["auth"][()].kind == "probe" and res["s0"][()].kind == "ratio"
    assert not res["s0"][()].buckets  # no latency configured: no buckets


def test_deterministic_per_seed(tmp_path):
    a = fetch(make_config(tmp_path, seed=7), JAN, JAN + 3 * 1440)
    b = fetch(make_config(tmp_path, seed=7), JAN, JAN + 3 * 1440)
    c = fetch(make_config(tmp_path, seed=8), JAN, JAN + 3 * 1440)
    assert_same(a, b)
    assert not np.array_equal(a["s0"][()].total, c["s0"][()].total)
    acme = (("tenant", "acme"),)
    assert not np.array_equal(a["api"][acme].buckets[0.05], c["api"][acme].buckets[0.05])


def test_range_split_inside_a_day(tmp_path):
    cfg = make_config(tmp_path)
    a, b, c = JAN + 3 * 1440 + 17, JAN + 4 * 1440 + 733, JAN + 6 * 1440 + 5
    assert_same(fetch(cfg, a, c), concat([fetch(cfg, a, b), fetch(cfg, b, c)]))
    # many small incremental pulls, each from a fresh adapter
    cuts = [a, a + 1, a + 5, a + 300, b, b + 1, c]
    assert_same(
        fetch(cfg, a, c), concat([fetch(cfg, x, y) for x, y in zip(cuts, cuts[1:], strict=False)])
    )


def test_range_split_across_restart_and_gap(tmp_path):
    cfg = make_config(tmp_path)
    src = build("gen", cfg)
    for service in cfg.services:
        for ev in src.plan(service, JAN // 1440):
            if ev.kind not in ("restart", "gap"):
                continue
            a, c = ev.start - 90, ev.end + 90
            whole = fetch(cfg, a, c, [service])
            for b in (ev.start, ev.start + 1, ev.end):
                assert_same(
                    whole, concat([fetch(cfg, a, b, [service]), fetch(cfg, b, c, [service])])
                )


def test_cumulative_buckets(month):
    _, res = month
    for ms in res["api"].values():
        assert sorted(ms.buckets) == sorted(BOUNDS)
        stacked = np.vstack([ms.buckets[le] for le in BOUNDS])
        assert (np.diff(stacked, axis=0) >= 0).all()
        np.testing.assert_array_equal(ms.buckets[math.inf], ms.total)
        assert (stacked >= 0).all()
        month_counts = {le: float(arr.sum()) for le, arr in ms.buckets.items()}
        p50 = histogram_quantile(0.5, month_counts).value
        p99 = histogram_quantile(0.99, month_counts).value
        assert 0.01 < p50 < 0.1 and p50 < p99 < 2.5


def test_groups_follow_customers(month):
    cfg, res = month
    keys = set(res["api"])
    assert keys == {(("tenant", "acme"),), (("tenant", "globex"),), (("tenant", "internal"),)}
    for cust in cfg.customers.values():
        assert (("tenant", cust.match["tenant"]),) in keys
    totals = {g: ms.total.sum() for g, ms in res["api"].items()}
    assert all(t > 0 for t in totals.values())
    assert set(res["auth"]) == {()}  # no group_by: one group


def test_traffic_errors_and_outages(month):
    cfg, res = month
    for name, groups in res.items():
        for ms in groups.values():
            good = ms.good_ratio()
            down = good < cfg.services[name].slice_threshold
            assert down.sum() < 400, name  # quiet months: none, or a few outages
            if ms.kind == "ratio":
                per_minute = ms.total[ms.has_data].mean()
                assert 50 < per_minute < 10_000
                up = ms.has_data & ~down
                background = ms.errors[up].sum() / ms.total[up].sum()
                assert 0 < background < 0.005
                assert (ms.errors <= ms.total).all()
            else:
                assert set(np.unique(ms.probe_sum[ms.has_data])) <= {0.0, 0.25, 0.5, 0.75, 1.0}
                assert (ms.probe_count == ms.has_data).all()
    s0 = res["s0"][()]
    # outages are runs of 3..40 down minutes; a partial degradation stays up
    edges = np.flatnonzero(
        np.diff(np.concatenate(([0], (s0.good_ratio() < 0.95).astype(int), [0])))
    )
    runs = edges[1::2] - edges[::2]
    assert not runs.size or (runs.min() >= 3 and runs.max() <= 40)
    weekday = s0.total[: 1440 * 5].reshape(5, 1440)  # Jan 1-5 2026: Thu..Mon
    night, afternoon = weekday[:, 180:240].mean(), weekday[:, 840:960].mean()
    assert afternoon > 1.5 * night  # diurnal pattern


def test_no_data_gap_once_a_month(month):
    _, res = month
    gapped = {s for s, groups in res.items() if any((~ms.has_data).any() for ms in groups.values())}
    assert len(gapped) == 1
    ms = next(iter(res[gapped.pop()].values()))
    missing = np.flatnonzero(~ms.has_data)
    assert 2 <= missing.size <= 6 and np.all(np.diff(missing) == 1)
    arrays = ms.arrays()
    for arr in arrays.values():
        assert (arr[missing] == 0).all()


def test_increases_exact_for_raw_samples(tmp_path):
    """Restarts and gaps: what we return is what SPEC 2.2 gives for the raw 15 s samples."""
    cfg = make_config(tmp_path)
    src = build("gen", cfg)
    checked = set()
    for service, spec in cfg.services.items():
        for ev in src.plan(service, JAN // 1440):
            if ev.kind not in ("restart", "gap"):
                continue
            for group in src.groups(service, spec):
                d = src.day(service, spec, group, ev.start // 1440)
                for row in (TOTAL, ERRORS, FIRST_BUCKET, FIRST_BUCKET + 6):
                    for base in (0.0, 1e7):
                        times, values = counter_samples(d, row, base)
                        minute = (times // 60).astype(int) - d.day * 1440
                        last = np.full(1440, np.nan)
                        last[minute] = values  # later samples overwrite: the last in each minute
                        raw = {int(m): values[minute == m].tolist() for m in np.unique(minute)}
                        got = counters.increases(last, base, {}, raw)
                        np.testing.assert_array_equal(got, d.observed[row])
                if ev.kind == "restart":
                    _, values = counter_samples(d, TOTAL, 1e7)
                    assert (np.diff(values) < 0).sum() == 1  # the counter really dropped
                checked.add(ev.kind)
    assert checked == {"restart", "gap"}


def test_month_of_ten_services_is_fast(tmp_path):
    cfg = make_config(tmp_path, seed=3)
    t0 = time.perf_counter()
    res = fetch(cfg, JAN, FEB)
    assert time.perf_counter() - t0 < 5.0
    assert len(res) == 10
