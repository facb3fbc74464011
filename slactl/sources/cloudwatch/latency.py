"""Latency of a CloudWatch metric as per-minute histogram buckets.

CloudWatch keeps no histogram, but ``GetMetricData`` answers *percentile rank*
statistics: ``PR(:x)`` is the percentage of the period's samples whose value is
at most ``x``.  Asked once per bucket bound, next to ``SampleCount``, it gives
exactly what a Prometheus histogram stores: the cumulative count of samples
``<= le`` in each minute (``+Inf`` = ``SampleCount``).  The report then computes
percentiles from them as it does for Prometheus, with the same bounds.

``PR(:x)`` is used rather than ``PR(0:x)``: CloudWatch's lower bound is
exclusive, so ``PR(0:x)`` would leave samples of exactly 0 out of every finite
bucket and push them into ``+Inf``.

Rounding: ``PR`` is a percentage, so ``PR / 100 × SampleCount`` is a count
carried in floating point (and CloudWatch may approximate ranks).  Each count is
rounded to the nearest whole sample, clipped to ``[0, SampleCount]``, and made
non-decreasing in ``le`` (a running maximum from the smallest bound up), so the
buckets are a valid cumulative histogram whatever the answer's noise.  A minute
counts for latency only when it has ``SampleCount > 0`` and a rank for every
bound; otherwise all its buckets are 0, so a partly answered minute never skews
the month.
"""

from __future__ import annotations

import math
from decimal import Decimal

import numpy as np

from slactl.config import Latency

COUNT_ROLE = "latency count"


def threshold(le_seconds: float, units_per_second: float) -> str:
    """A bound in the metric's own unit, written the way a ``Stat`` takes it (``0.25``, ``250``).

    Plain decimals only (no exponent), with the float noise of the unit
    conversion rounded away (0.005 s × 1000 is ``5``, not ``5.000000000000001``).
    """
    value = Decimal(f"{le_seconds * units_per_second:.12g}").normalize()
    return format(value, "f")


def rank_stat(le_seconds: float, units_per_second: float) -> str:
    """The percentile-rank statistic of samples ``<= le``: ``PR(:0.25)``."""
    return f"PR(:{threshold(le_seconds, units_per_second)})"


def latency_stats(lat: Latency) -> list[tuple[str, str]]:
    """``(role, Stat)`` for a latency metric: ``SampleCount`` first, then one rank per bound."""
    per_s = lat.units_per_second
    return [(COUNT_ROLE, "SampleCount")] + [(f"latency le={le:g}", rank_stat(le, per_s)) for le in lat.bounds]


def bucket_counts(
    sample_count: np.ndarray, ranks: list[np.ndarray], bounds: tuple[float, ...]
) -> dict[float, np.ndarray]:
    """Per-minute cumulative bucket counts from ``SampleCount`` and one ``PR(:le)`` array per bound.

    NaN marks a minute without a datapoint.  The result maps each bound (and
    ``inf``) to its count per minute, as :class:`~slactl.model.MinuteSeries`
    holds Prometheus buckets.
    """
    if len(ranks) != len(bounds):
        raise ValueError(f"{len(ranks)} rank series for {len(bounds)} bounds")
    n = np.asarray(sample_count, dtype=np.float64)
    if not ranks:
        return {math.inf: np.where(np.isfinite(n) & (n > 0), np.floor(np.nan_to_num(n) + 0.5), 0.0)}
    pr = np.vstack([np.asarray(r, dtype=np.float64) for r in ranks])  # bounds × minutes
    valid = np.isfinite(n) & (n > 0) & np.isfinite(pr).all(axis=0)
    total = np.where(valid, np.floor(np.where(valid, n, 0.0) + 0.5), 0.0)
    share = np.clip(np.where(valid, pr, 0.0), 0.0, 100.0) / 100.0
    counts = np.minimum(np.floor(share * total + 0.5), total)
    counts = np.maximum.accumulate(counts, axis=0)
    out = {float(le): counts[i] for i, le in enumerate(bounds)}
    out[math.inf] = total
    return out

