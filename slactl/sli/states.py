"""Minute states and the availability figures derived from them (SPEC 2.3-2.5, 2.7).

Every figure here is a reduction over per-minute arrays of one month.  They are
kept as whole-array numpy operations because a month is ~44 640 minutes per
service and group, and reports, credits and the status page all recompute them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np

from slactl.model import DOWN, EXCLUDED, NO_DATA, STATE_NAMES, UP

NoDataPolicy = Literal["ignore", "up", "down"]
_NO_DATA_CODE = {"ignore": NO_DATA, "up": UP, "down": DOWN}


def _same_length(**arrays: np.ndarray) -> int:
    """The common length of 1-D arrays; mismatched inputs are a programming error."""
    lengths = {name: np.shape(a) for name, a in arrays.items()}
    shapes = set(lengths.values())
    if len(shapes) != 1 or len(next(iter(shapes))) != 1:
        raise ValueError(f"expected 1-D arrays of one length, got {lengths}")
    return int(next(iter(shapes))[0])


def minute_states(
    good: np.ndarray,
    excluded: np.ndarray,
    slice_threshold: float,
    no_data: NoDataPolicy,
) -> np.ndarray:
    """The state code of every minute, by the SPEC's "first match wins" rule.

    ``good`` is the good ratio per minute with NaN for no data.  The ``no_data``
    policy is applied here, not later, so that the minute counts partition the
    month and incidents see a policy-``down`` minute as down (SPEC 2.4, 2.5).
    """
    if no_data not in _NO_DATA_CODE:
        raise ValueError(f"no_data must be one of ignore, up, down; got {no_data!r}")
    _same_length(good=good, excluded=excluded)
    good = np.asarray(good, dtype=np.float64)
    excluded = np.asarray(excluded, dtype=bool)
    missing = np.isnan(good)
    with np.errstate(invalid="ignore"):
        below = good < slice_threshold
    out = np.where(below, np.int8(DOWN), np.int8(UP)).astype(np.int8)
    out[missing] = _NO_DATA_CODE[no_data]
    out[excluded] = EXCLUDED
    return out


def count_states(states: np.ndarray) -> dict[str, int]:
    """``{total, up, down, no_data, excluded}`` minute counts; the last four sum to total."""
    states = np.asarray(states)
    return count_states_by_part(states, [0])[0]


def count_states_by_part(states: np.ndarray, starts: Sequence[int]) -> list[dict[str, int]]:
    """:func:`count_states` of each part ``states[starts[i]:starts[i + 1]]`` (the last runs to the end).

    One pass for all parts: a month's days are counted together, not one call each.
    """
    states = np.asarray(states)
    n, k = int(states.shape[0]), len(STATE_NAMES)
    codes = states.astype(np.int64)
    if n and (codes.min() < 0 or codes.max() >= k):
        raise ValueError(f"unknown minute state codes in {np.unique(states).tolist()}")
    bounds = [*starts, n]
    part = np.repeat(np.arange(len(starts)), np.diff(bounds))
    table = np.bincount(part * k + codes, minlength=len(starts) * k).reshape(len(starts), k).tolist()
    out = []
    for i, counts in enumerate(table):
        row = {"total": bounds[i + 1] - bounds[i]}
        for code in (UP, DOWN, NO_DATA, EXCLUDED):
            row[STATE_NAMES[code]] = counts[code]
        out.append(row)
    return out


def uptime_percent(counts: dict[str, int]) -> float | None:
    """``100 × up / (up + down)``; None when no minute counted either way.

    ``100 × up`` is formed before dividing so that an uptime exactly equal to a
    target such as 99.9 rounds to the very float the target parses to, and the
    ``>=`` of the tier verdict is not lost to rounding.
    """
    up, down = counts["up"], counts["down"]
    if up + down == 0:
        return None
    return (100 * up) / (up + down)


def coverage_percent(has_data: np.ndarray, excluded: np.ndarray) -> float | None:
    """Share of the measured (non-excluded) minutes that had data, in percent.

    Excluded minutes are out of both sides: maintenance is neither a data gap
    nor data.  None when the whole month was excluded.
    """
    _same_length(has_data=has_data, excluded=excluded)
    has_data = np.asarray(has_data, dtype=bool)
    excluded = np.asarray(excluded, dtype=bool)
    measured = has_data.shape[0] - int(np.count_nonzero(excluded))
    if measured == 0:
        return None
    covered = int(np.count_nonzero(has_data & ~excluded))
    return (100 * covered) / measured


def incidents(states: np.ndarray, start_minute: int, merge_gap: int) -> list[tuple[int, int]]:
    """Incidents as ``(start, end)`` epoch minutes, ``end`` exclusive.

    An incident is a maximal run of ``down`` minutes; runs separated by at most
    ``merge_gap`` other minutes are one incident, so a flapping outage is not
    reported (and its MTTR averaged) as many short ones.  Runs are found from
    the edges of the down mask, so the cost does not grow with Python loops.
    Runs are naturally clipped to the array, i.e. to the month.
    """
    if merge_gap < 0:
        raise ValueError(f"merge_gap must be >= 0, got {merge_gap}")
    down = np.asarray(states) == DOWN
    if not down.any():
        return []
    edges = np.diff(np.concatenate(([0], down.view(np.int8), [0])))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1)
    # Gap between consecutive runs = non-down minutes between them (always >= 1).
    separate = (starts[1:] - ends[:-1]) > merge_gap
    starts = starts[np.concatenate(([True], separate))]
    ends = ends[np.concatenate((separate, [True]))]
    base = int(start_minute)
    return [(base + int(s), base + int(e)) for s, e in zip(starts, ends, strict=True)]


def mttr_minutes(found: Sequence[tuple[int, int]]) -> float | None:
    """Mean incident duration in minutes (mean time to restore); None without incidents."""
    if not found:
        return None
    return sum(end - start for start, end in found) / len(found)


def error_ratio(errors: np.ndarray, total: np.ndarray, excluded: np.ndarray) -> float | None:
    """Errors over requests for the non-excluded minutes (SPEC 2.7).

    Summed over the month before dividing, so the figure weighs every request
    equally rather than every minute; None when there were no requests.
    """
    _same_length(errors=errors, total=total, excluded=excluded)
    keep = ~np.asarray(excluded, dtype=bool)
    tot = float(np.sum(np.asarray(total, dtype=np.float64)[keep]))
    if tot == 0:
        return None
    return float(np.sum(np.asarray(errors, dtype=np.float64)[keep])) / tot
