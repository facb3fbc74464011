"""Exact counter increases from per-minute summaries equal the brute-force definition.

The test plays the server: from raw samples it computes what the PromQL queries
slactl sends would return (``last_over_time``, the sparse reset flags, raw
samples of the minutes slactl asks for), and checks the result against SPEC 2.2
applied to every raw sample.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from slactl.sli import counters

N = 240  # minutes in a test range


def brute_force(samples: list[tuple[float, float]], n: int) -> np.ndarray:
    """SPEC 2.2: per minute, the increase from the last sample before it to the last in it."""
    out = np.zeros(n)
    prev = 0.0  # a series with no earlier sample starts from zero
    for t, v in samples:
        m = math.floor(t / 60)
        inc = v - prev if v >= prev else v
        if 0 <= m < n:
            out[m] += inc
        prev = v
    return out


def server_view(samples: list[tuple[float, float]], n: int):
    """What slactl's queries return for samples with timestamps from minute 0 onwards."""
    per_minute: dict[int, list[float]] = {}
    for t, v in samples:
        per_minute.setdefault(math.floor(t / 60), []).append(v)
    last = np.full(n, np.nan)
    flags: dict[int, float] = {}
    times = [t for t, _ in samples]
    for m, vals in per_minute.items():
        last[m] = vals[-1]
        resets = sum(1 for a, b in zip(vals, vals[1:], strict=False) if b < a)
        before = [v for t, v in samples if m * 60 - 3600 <= t < m * 60]
        if resets > 0:
            flags[m] = float(resets)
        elif before and min(vals) < before[-1]:
            flags[m] = 0.0
    assert times == sorted(times)
    return last, flags, per_minute


@st.composite
def counter_samples(draw):
    interval = draw(st.sampled_from([15.0, 30.0, 60.0, 7.5]))
    offset = draw(st.floats(min_value=0, max_value=interval - 0.001))
    samples, value, t = [], draw(st.sampled_from([0.0, 5.0, 1e6])), offset
    gap_from = draw(st.integers(0, N * 60))
    gap_len = draw(st.sampled_from([0, 120, 1800, 4000, 7000]))
    restarts = set(draw(st.lists(st.integers(0, int(N * 60 / interval)), max_size=8)))
    k = 0
    while t < N * 60:
        value += draw(st.integers(0, 50))
        if k in restarts:
            value = float(draw(st.integers(0, 40)))
        if not gap_from <= t < gap_from + gap_len:
            samples.append((round(t, 3), value))
        t += interval
        k += 1
    return samples


@settings(max_examples=200, deadline=None)
@given(counter_samples())
def test_increases_match_the_definition(samples):
    last, flags, per_minute = server_view(samples, N)
    need = counters.minutes_needing_raw(last, None, None, flags)
    raw = {i: per_minute[i] for i in need if i in per_minute}
    got = counters.increases(last, None, flags, raw)
    assert np.allclose(got, brute_force(samples, N), rtol=0, atol=1e-9)


def test_restart_inside_a_minute_is_not_lost():
    # 100 → 110 → restart → 5 → 8 within minute 1: 10 + 5 + 3 = 18, not 8.
    samples = [(50.0, 100.0), (65.0, 110.0), (80.0, 5.0), (95.0, 8.0)]
    last, flags, per_minute = server_view(samples, 2)
    assert flags == {1: 1.0}
    need = counters.minutes_needing_raw(last, None, None, flags)
    got = counters.increases(last, None, flags, {i: per_minute[i] for i in need})
    assert got.tolist() == [100.0, 18.0]


def test_baseline_before_the_range_and_new_series():
    last = np.array([np.nan, 12.0, 15.0])
    assert counters.increases(last, 10.0, {}, {}).tolist() == [0.0, 2.0, 3.0]
    # Lazily created error series: first sample 1 counts as one error.
    assert counters.increases(np.array([np.nan, 1.0, 1.0]), None, {}, {}).tolist() == [0.0, 1.0, 0.0]


def test_long_gap_without_visible_drop_asks_for_raw():
    last = np.full(100, np.nan)
    last[0], last[90] = 50.0, 60.0
    assert counters.minutes_needing_raw(last, None, None, {}) == [90]
    # A visible drop needs nothing more: it is a restart.
    last[90] = 3.0
    assert counters.minutes_needing_raw(last, None, None, {}) == []


@settings(deadline=None, max_examples=200)
@given(
    st.lists(st.integers(0, 10**9), min_size=1, max_size=50),
    st.one_of(st.none(), st.integers(0, 10**9)),
    st.one_of(st.none(), st.integers(1, 90)),
)
def test_a_full_unflagged_series_reads_as_the_general_case(values, baseline, age):
    """The shortcut for a sample every minute and no flag gives what the general reading gives."""
    last = np.array(values, dtype=np.float64)
    base = None if baseline is None else float(baseline)
    general = {-7: 0.0}  # a flag outside the range: takes the general path, changes nothing
    assert counters.minutes_needing_raw(last, base, age, {}) == counters.minutes_needing_raw(last, base, age, general)
    np.testing.assert_array_equal(counters.increases(last, base, {}, {}), counters.increases(last, base, general, {}))
