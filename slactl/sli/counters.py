"""Exact per-minute counter increases from per-minute summaries of a counter.

SPEC 2.2 defines a counter's part of a minute as the increase from its last
sample *before* the minute to its last sample *in* it, resets handled as
Prometheus does (a drop means the counter restarted from zero).  Fetching raw
samples for a month is several times the bytes of one point a minute, so
sources send, per series and minute:

* ``last``  – the last sample in the minute (NaN when it had none);
* ``flags`` – only for the rare minutes where a reset may hide: ``>= 1`` when
  the counter dropped somewhere between the previous minute's first sample and
  this minute's last (raw samples needed); ``0.0`` when the only drop is right
  at the minute's start, so the increase is simply ``last`` (a source that can
  tell this cheaply saves a raw read);
* ``raw``   – the raw sample values of the minutes that need them.

Without the flags, ``last - previous last`` would miss every increase that
happened before a restart inside the same minute.

A series with no earlier sample starts from zero, so the first increment of a
lazily created series (``code="500"`` appearing with value 1) is counted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

# Gaps longer than this many minutes are beyond what the flag query looks back
# over (the minute before); the minute after such a gap needs raw samples to
# rule out a reset, unless its counter visibly dropped.
FLAG_LOOKBACK_MINUTES = 1


def pairwise_increase(previous: float, samples: Iterable[float]) -> float:
    """Increase over consecutive samples, counting a drop as a restart from zero."""
    total = 0.0
    p = previous
    for v in samples:
        total += v - p if v >= p else v
        p = v
    return total


def minutes_needing_raw(
    last: np.ndarray,
    baseline: float | None,
    baseline_age: int | None,
    flags: Mapping[int, float],
) -> list[int]:
    """Indices of minutes whose increase cannot be told from ``last`` and ``flags``.

    ``baseline_age`` is how many minutes before index 0 the baseline sample lies
    at most (None when unknown).  Minutes flagged ``>= 1`` need raw samples; so
    does the first minute after a gap longer than the flag lookback when the
    counter did not visibly drop (a restart could have climbed back above the old
    value within the minute).
    """
    if not flags and last.size and not np.isnan(last).any():
        # A sample every minute, nothing flagged (the usual series): only the
        # first minute can follow a long gap, the one since the baseline.
        age = baseline_age if baseline_age is not None else FLAG_LOOKBACK_MINUTES + 1
        return [0] if baseline is not None and age > FLAG_LOOKBACK_MINUTES and last[0] >= baseline else []
    need = {i for i, f in flags.items() if f >= 1}
    idx = np.flatnonzero(~np.isnan(last))
    if idx.size == 0:
        return sorted(need)
    prev_idx = np.empty_like(idx)
    prev_idx[1:] = idx[:-1]
    prev_val = np.empty(idx.size)
    prev_val[1:] = last[idx[:-1]]
    if baseline is None:
        has_prev = np.ones(idx.size, dtype=bool)
        has_prev[0] = False
        prev_idx[0] = idx[0]
        prev_val[0] = 0.0
    else:
        has_prev = np.ones(idx.size, dtype=bool)
        age = baseline_age if baseline_age is not None else FLAG_LOOKBACK_MINUTES + 1
        prev_idx[0] = -age
        prev_val[0] = baseline
    gap = idx - prev_idx
    long_gap = has_prev & (gap > FLAG_LOOKBACK_MINUTES) & (last[idx] >= prev_val)
    need.update(int(i) for i in idx[long_gap] if int(i) not in flags)
    return sorted(need)


def increases(
    last: np.ndarray,
    baseline: float | None,
    flags: Mapping[int, float],
    raw: Mapping[int, list[float]],
) -> np.ndarray:
    """Per-minute increase of one counter series (0 where the minute had no sample).

    ``baseline`` is the last sample before index 0 (None: the series is new and
    starts from zero).  ``raw[i]`` are the sample values inside minute ``i`` for
    every index :func:`minutes_needing_raw` returned.
    """
    if not flags and not raw and last.size and not np.isnan(last).any():  # the usual series, in two passes
        inc = np.diff(last, prepend=0.0 if baseline is None else baseline)
        np.copyto(inc, last, where=inc < 0)
        return inc
    out = np.zeros(last.shape[0], dtype=np.float64)
    idx = np.flatnonzero(~np.isnan(last))
    if idx.size == 0:
        return out
    vals = last[idx]
    prev = np.empty_like(vals)
    prev[0] = 0.0 if baseline is None else baseline
    prev[1:] = vals[:-1]
    inc = vals - prev
    dropped = inc < 0
    inc[dropped] = vals[dropped]
    out[idx] = inc
    if flags or raw:
        position = {int(i): k for k, i in enumerate(idx)}
        for i, f in flags.items():
            k = position.get(i)
            if k is not None and f < 1 and i not in raw:
                out[i] = vals[k]  # restart at the minute's start: all of it is new
        for i, samples in raw.items():
            k = position.get(i)
            if k is not None and samples:
                out[i] = pairwise_increase(float(prev[k]), samples)
    return out
