"""Monthly latency percentiles from a classic Prometheus histogram (SPEC 2.6).

The estimate must match what a user gets from ``histogram_quantile`` in
Prometheus or Grafana over the same buckets, otherwise the report and the
dashboards disagree and nobody trusts either.  So this follows the classic
(``le``-bucket) algorithm of Prometheus' ``promql/quantile.go`` step by step,
and adds what the SPEC asks for on top: the edges of the bucket the estimate
came from, i.e. how far the true percentile can be from it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

# Relative difference under which Prometheus treats neighbouring cumulative
# bucket counts as equal (float noise from summing rates), before forcing
# monotonicity.
PRECISION_TOLERANCE = 1e-12

DEFAULT_QUANTILES: tuple[tuple[str, float], ...] = (("p50", 0.5), ("p95", 0.95), ("p99", 0.99))


@dataclass(frozen=True)
class Quantile:
    """A percentile estimate and the ``[lower, upper]`` edges of its bucket.

    ``value`` is None when Prometheus would answer NaN (no observations, no
    ``+Inf`` bucket, fewer than two buckets).  ``upper`` is None when the rank
    fell in the ``+Inf`` bucket: the true value is then only known to be above
    ``lower``.  ``lower`` is None only for a first bucket with a negative bound.
    """

    value: float | None
    lower: float | None
    upper: float | None


_NONE = Quantile(None, None, None)


def month_buckets(buckets: Mapping[float, np.ndarray], excluded: np.ndarray) -> dict[float, float]:
    """Each cumulative bucket's increase over the month's non-excluded minutes.

    Maintenance minutes are left out for latency as for uptime: slow requests
    during announced maintenance do not count against the latency targets.
    """
    keep = ~np.asarray(excluded, dtype=bool)
    out: dict[float, float] = {}
    for le, per_minute in buckets.items():
        arr = np.asarray(per_minute, dtype=np.float64)
        if arr.shape != keep.shape:
            raise ValueError(f"bucket le={le} has shape {arr.shape}, expected {keep.shape}")
        out[float(le)] = float(np.sum(arr[keep]))
    return out


def _prepared(buckets: Mapping[float, float] | Iterable[tuple[float, float]]) -> list[list[float]]:
    """Sorted ``[upper_bound, count]`` rows with equal bounds summed and counts monotonic.

    Pairs as well as a mapping are accepted so that series whose ``le`` labels
    parse to the same float ("1" and "1.0") can be passed unmerged, as
    Prometheus sees them.
    """
    items = buckets.items() if isinstance(buckets, Mapping) else buckets
    rows = sorted(([float(le), float(c)] for le, c in items), key=lambda r: r[0])
    merged: list[list[float]] = []
    for le, c in rows:
        if merged and merged[-1][0] == le:
            merged[-1][1] += c
        else:
            merged.append([le, c])
    if not merged:
        return merged
    # Float noise first: a count within 1e-12 (relative) of the one before it
    # is set to it, regardless of direction.
    prev = merged[0][1]
    for row in merged[1:]:
        cur = row[1]
        delta = abs(cur - prev)
        if delta == 0:
            continue
        # Go divides floats without trapping: delta / 0 is +Inf, never "noise".
        eps = delta / cur if cur != 0 else math.inf
        if eps <= PRECISION_TOLERANCE:
            row[1] = prev
        else:
            prev = cur
    # Then the envelope: a cumulative count below an earlier one is raised to it.
    top = merged[0][1]
    for row in merged[1:]:
        if row[1] > top:
            top = row[1]
        elif row[1] < top:
            row[1] = top
    return merged


def histogram_quantile(
    q: float, buckets: Mapping[float, float] | Iterable[tuple[float, float]]
) -> Quantile:
    """The ``q``-quantile of cumulative ``le`` buckets, as Prometheus computes it.

    Linear interpolation inside the bucket that holds rank ``q × count``, the
    first bucket starting at 0; a rank in the ``+Inf`` bucket gives the largest
    finite bound.  NaN answers of Prometheus are None here, because reports
    print a figure that cannot be computed as null.  ``q`` outside ``[0, 1]``
    (where Prometheus answers ±Inf) is a programming error.
    """
    if math.isnan(q) or not 0 <= q <= 1:
        raise ValueError(f"quantile must be within [0, 1], got {q}")
    rows = _prepared(buckets)
    if not rows or not math.isinf(rows[-1][0]) or rows[-1][0] < 0:
        return _NONE
    if len(rows) < 2:
        return _NONE
    observations = rows[-1][1]
    if observations == 0 or math.isnan(observations):
        return _NONE
    rank = q * observations
    # First finite bucket whose cumulative count reaches the rank (counts are
    # monotonic now, so this is what Prometheus' binary search finds).
    b = next((i for i in range(len(rows) - 1) if rows[i][1] >= rank), len(rows) - 1)
    if b == len(rows) - 1:
        largest = rows[-2][0]
        return Quantile(largest, largest, None)
    upper = rows[b][0]
    if b == 0 and upper <= 0:
        return Quantile(upper, 0.0 if upper == 0 else None, upper)
    start = 0.0 if b == 0 else rows[b - 1][0]
    count = rows[b][1]
    if b > 0:
        count -= rows[b - 1][1]
        rank -= rows[b - 1][1]
    value = start + (upper - start) * (rank / count) if count else math.nan
    if math.isnan(value):
        # Only q == 0 over an empty first bucket gets here (0/0 in Prometheus).
        return _NONE
    return Quantile(value, start, upper)


def percentiles(
    buckets: Mapping[float, float],
    qs: Iterable[tuple[str, float]] = DEFAULT_QUANTILES,
) -> dict[str, Quantile]:
    """Several named quantiles of one month's buckets, e.g. ``{"p95": Quantile(...)}``."""
    return {name: histogram_quantile(q, buckets) for name, q in qs}
