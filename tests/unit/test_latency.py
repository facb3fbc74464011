"""histogram_quantile against hand-worked cases and an independent reference."""

from __future__ import annotations

import math
from itertools import accumulate

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slactl.sli.latency import Quantile, histogram_quantile, month_buckets, percentiles

INF = math.inf


def reference_quantile(q, pairs):
    """Classic Prometheus histogram_quantile, written from its documented behaviour.

    Returns (value, lower, upper) with None for NaN.  Only valid for counts
    whose neighbouring differences are far above float noise (integers here).
    """
    bounds = sorted({le for le, _ in pairs})
    counts = [sum(c for le, c in pairs if le == b) for b in bounds]
    if len(bounds) < 2 or bounds[-1] != INF:
        return (None, None, None)
    counts = list(accumulate(counts, max))
    total = counts[-1]
    if total == 0:
        return (None, None, None)
    rank = q * total
    for i in range(len(bounds) - 1):
        if counts[i] >= rank:
            break
    else:
        return (bounds[-2], bounds[-2], None)
    if i == 0:
        if bounds[0] <= 0:
            return (bounds[0], 0.0 if bounds[0] == 0 else None, bounds[0])
        lo, below = 0.0, 0
    else:
        lo, below = bounds[i - 1], counts[i - 1]
    width = counts[i] - below
    if width == 0:
        return (None, None, None)
    return (lo + (bounds[i] - lo) * ((rank - below) / width), lo, bounds[i])


def as_tuple(x: Quantile):
    return (x.value, x.lower, x.upper)


BASIC = {0.1: 10, 0.5: 30, 1.0: 40, INF: 40}


@pytest.mark.parametrize(
    ("q", "buckets", "expected"),
    [
        # rank 20 in (0.1, 0.5]: 0.1 + 0.4 * (20-10)/(30-10)
        (0.5, BASIC, (0.3, 0.1, 0.5)),
        # rank 38 in (0.5, 1]: 0.5 + 0.5 * 8/10
        (0.95, BASIC, (0.9, 0.5, 1.0)),
        (0.99, BASIC, (0.98, 0.5, 1.0)),
        # rank 2 in the first bucket, which starts at 0: 0.1 * 2/10
        (0.05, BASIC, (0.02, 0.0, 0.1)),
        # q=1: rank 40 first reached at le=1 -> its upper edge
        (1.0, BASIC, (1.0, 0.5, 1.0)),
        # q=0: rank 0 is met by the first bucket -> 0
        (0.0, BASIC, (0.0, 0.0, 0.1)),
        # rank exactly on a bucket's cumulative count -> that bucket's upper edge
        (0.5, {1.0: 5, 2.0: 10, INF: 10}, (1.0, 0.0, 1.0)),
        (0.5, {1.0: 4, 2.0: 6, 4.0: 8, INF: 8}, (1.0, 0.0, 1.0)),
        (0.75, {1.0: 4, 2.0: 6, 4.0: 8, INF: 8}, (2.0, 1.0, 2.0)),
        # rank in +Inf: the largest finite bound, upper edge unknown
        (0.5, {0.1: 1, 0.2: 2, INF: 100}, (0.2, 0.2, None)),
        (0.99, {0.25: 98, INF: 100}, (0.25, 0.25, None)),
        # first bucket with bound <= 0 returns that bound
        (0.25, {0.0: 5, 1.0: 10, INF: 10}, (0.0, 0.0, 0.0)),
        (0.25, {-1.0: 5, 1.0: 10, INF: 10}, (-1.0, None, -1.0)),
        # non-monotonic: le=0.2 is raised to 10, so rank 10 stays in le=0.1 ...
        (0.5, {0.1: 10, 0.2: 5, 0.4: 20, INF: 20}, (0.1, 0.0, 0.1)),
        # ... and rank 15 lands in (0.2, 0.4]: 0.2 + 0.2 * (15-10)/(20-10)
        (0.75, {0.1: 10, 0.2: 5, 0.4: 20, INF: 20}, (0.3, 0.2, 0.4)),
        # a +Inf count below a finite one is raised too
        (0.5, {0.1: 4, 1.0: 10, INF: 8}, (0.1 + 0.9 * 1 / 6, 0.1, 1.0)),
    ],
)
def test_hand_computed(q, buckets, expected):
    got = as_tuple(histogram_quantile(q, buckets))
    assert got[0] == pytest.approx(expected[0], rel=1e-12, abs=1e-15)
    assert got[1:] == expected[1:]
    want = reference_quantile(q, list(buckets.items()))
    assert got[0] == pytest.approx(want[0], rel=1e-12, abs=1e-15)
    assert got[1:] == want[1:]


@pytest.mark.parametrize(
    "buckets",
    [
        {},  # nothing
        {INF: 10},  # a single bucket
        {0.5: 10},  # a single finite bucket
        {0.1: 1, 0.2: 2},  # no +Inf bucket
        {0.1: 0, 0.2: 0, INF: 0},  # no observations
    ],
)
def test_no_answer(buckets):
    assert histogram_quantile(0.5, buckets) == Quantile(None, None, None)


def test_q0_over_empty_first_bucket_is_nan_in_prometheus():
    assert histogram_quantile(0.0, {0.1: 0, 0.2: 5, INF: 5}) == Quantile(None, None, None)


def test_duplicate_bounds_are_summed():
    # le="1" and le="1.0" from two series arrive as the same float twice.
    pairs = [(1.0, 3), (1, 2), (INF, 10), (2.0, 8)]
    assert histogram_quantile(0.5, pairs) == Quantile(1.0, 0.0, 1.0)  # 1:5, 2:8, inf:10
    assert as_tuple(histogram_quantile(0.65, pairs)) == pytest.approx((1.5, 1.0, 2.0))
    assert as_tuple(histogram_quantile(0.65, pairs)) == pytest.approx(
        reference_quantile(0.65, pairs)
    )


def test_input_order_does_not_matter():
    shuffled = {INF: 40, 1.0: 40, 0.1: 10, 0.5: 30}
    assert histogram_quantile(0.5, shuffled) == histogram_quantile(0.5, BASIC)


def test_float_noise_is_ignored_like_prometheus():
    # A relative difference of 1e-13 between neighbours is treated as equal
    # (Prometheus' 1e-12 tolerance), so this rank falls into +Inf ...
    noisy = {0.1: 100.0, 0.2: 100.0 + 1e-11, INF: 200.0}
    q = (100 + 0.5e-11) / 200
    assert histogram_quantile(q, noisy) == Quantile(0.2, 0.2, None)
    # ... while a real (1e-11 relative) difference is interpolated in.
    real = {0.1: 100.0, 0.2: 100.0 + 1e-9, INF: 200.0}
    got = histogram_quantile((100 + 0.5e-9) / 200, real)
    assert (got.lower, got.upper) == (0.1, 0.2)
    assert got.value == pytest.approx(0.15, abs=1e-5)


@pytest.mark.parametrize("q", [-0.1, 1.1, math.nan])
def test_bad_q(q):
    with pytest.raises(ValueError):
        histogram_quantile(q, BASIC)


finite_bounds = st.lists(
    st.sampled_from([0.0, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0]),
    min_size=0,
    max_size=8,
)


@settings(max_examples=500, deadline=None)
@given(finite_bounds, st.data(), st.floats(0, 1), st.booleans())
def test_matches_reference(bounds, data, q, with_inf):
    les = bounds + ([INF] if with_inf else [])
    counts = data.draw(st.lists(st.integers(0, 10_000), min_size=len(les), max_size=len(les)))
    pairs = list(zip(les, counts, strict=True))
    got = as_tuple(histogram_quantile(q, pairs))
    want = reference_quantile(q, pairs)
    assert got[1:] == want[1:]
    if want[0] is None:
        assert got[0] is None
    else:
        assert got[0] == pytest.approx(want[0], rel=1e-12, abs=1e-15)
        lo = got[1] if got[1] is not None else -INF
        hi = got[2] if got[2] is not None else INF
        assert lo <= got[0] <= hi


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 1000), min_size=4, max_size=4), st.floats(0, 1), st.floats(0, 1))
def test_monotonic_in_q(raw, q1, q2):
    """A larger quantile never gives a smaller estimate."""
    cum = list(accumulate(raw))
    buckets = dict(zip([0.1, 0.5, 1.0, INF], cum, strict=True))
    a, b = sorted((q1, q2))
    qa, qb = histogram_quantile(a, buckets), histogram_quantile(b, buckets)
    if qa.value is not None and qb.value is not None:
        assert qa.value <= qb.value + 1e-12


# --------------------------------------------------------------- month_buckets


def test_month_buckets_skip_excluded_minutes():
    excl = np.array([False, True, False, False])
    got = month_buckets(
        {0.1: np.array([1.0, 100.0, 2.0, 0.0]), INF: np.array([3.0, 100.0, 4.0, 1.0])}, excl
    )
    assert got == {0.1: 3.0, INF: 8.0}
    assert all(type(v) is float for v in got.values())


def test_month_buckets_shape_mismatch():
    with pytest.raises(ValueError):
        month_buckets({0.1: np.zeros(3)}, np.zeros(4, bool))


def test_percentiles():
    got = percentiles(BASIC)
    assert list(got) == ["p50", "p95", "p99"]
    assert got["p50"].value == pytest.approx(0.3)
    assert got["p95"] == histogram_quantile(0.95, BASIC)
    assert percentiles({}) == {k: Quantile(None, None, None) for k in ("p50", "p95", "p99")}
    assert list(percentiles(BASIC, (("p90", 0.9),))) == ["p90"]


def test_end_to_end_month():
    """Per-minute bucket increases -> month sums -> percentiles."""
    n = 1440
    excl = np.zeros(n, dtype=bool)
    excl[:60] = True
    per_min = {0.05: np.full(n, 8.0), 0.25: np.full(n, 9.0), INF: np.full(n, 10.0)}
    per_min[INF][:60] = 1000.0  # slow requests during maintenance do not count
    got = percentiles(month_buckets(per_min, excl))
    # totals over 1380 minutes: 11040, 12420, 13800
    assert got["p50"].value == pytest.approx(0.05 * 6900 / 11040)
    # p95 rank 13110 is beyond le=0.25 (12420): the +Inf bucket
    assert got["p95"] == got["p99"] == Quantile(0.25, 0.25, None)
    # rank 0.88 * 13800 = 12144 in (0.05, 0.25]: 0.05 + 0.2 * 1104 / 1380
    p88 = percentiles(month_buckets(per_min, excl), (("p88", 0.88),))["p88"]
    assert (p88.lower, p88.upper) == (0.05, 0.25)
    assert p88.value == pytest.approx(0.21)
