"""A report keeps only each service's states; its float minutes come back from the store unchanged.

The report computes one service at a time and then drops that service's
per-group float arrays (a 2,000-series month would otherwise hold gigabytes).
Credits and the status page still read the groups afterwards: they must get
exactly the minutes the figures were computed from.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from slactl.app.measure import measure_month
from slactl.config import load
from slactl.model import MinuteSeries, combine
from slactl.sli.period import month_period
from slactl.store.sql import Store

CONFIG = """
timezone: UTC
store: sqlite:///{db}
sources: {gen: {type: sample}}
tiers: {standard: {uptime_target: 99.9}}
services:
  api:
    source: gen
    group_by: [tenant]
    availability:
      errors: 'http_requests_total{job="api",code=~"5.."}'
      total: 'http_requests_total{job="api"}'
"""


def _series(rng: np.random.Generator, start: int, n: int) -> MinuteSeries:
    has = rng.random(n) > 0.01
    total = rng.integers(0, 50, n).astype(float)
    errors = np.minimum(total, rng.integers(0, 3, n)).astype(float)
    return MinuteSeries("ratio", start, has, errors=errors, total=total)


def test_released_minutes_read_back_identical(tmp_path: Path) -> None:
    (tmp_path / "slactl.yaml").write_text(CONFIG.replace("{db}", str(tmp_path / "minutes.db")))
    cfg = load(tmp_path / "slactl.yaml")
    period = month_period("2026-01", "UTC")
    n = period.end - period.start
    rng = np.random.default_rng(7)
    groups = {(("tenant", t),): _series(rng, period.start, n) for t in ("a", "b", "c")}
    store = Store(cfg.store)
    try:
        store.save("api", "fp", "ratio", period.start, period.end, groups)
        _report, minutes = measure_month(cfg, store, period)
        sm = minutes["api"]
        assert sm._groups is None and sm._combined is None  # released after its figures
        assert sm.states.dtype == np.int8 and len(sm.states) == n
        back = sm.groups
        assert sorted(back) == sorted(groups)
        for key, ms in groups.items():
            assert np.array_equal(back[key].has_data, ms.has_data)
            assert np.array_equal(back[key].errors, ms.errors)
            assert np.array_equal(back[key].total, ms.total)
        expect = combine(list(groups.values()), "ratio", period.start, period.end)
        got = sm.combined
        assert (got.start, got.end) == (sm.start, sm.end) == (period.start, period.end)
        assert np.array_equal(got.total, expect.total) and np.array_equal(got.has_data, expect.has_data)
    finally:
        store.close()
