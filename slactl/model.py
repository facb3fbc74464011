"""Plain data shared by every layer: per-minute SLI inputs and the month being measured.

Everything time-like is kept as *epoch minutes* (``int(unix_seconds // 60)``): the
figures are defined on UTC-aligned one-minute slices, so integers index them exactly
and arrays over a month line up without any datetime arithmetic in the hot path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

import numpy as np

Kind = Literal["ratio", "probe"]

# A group of a service's series: sorted (label, value) pairs of its ``group_by``
# labels; ``()`` for a service without ``group_by``.
GroupKey = tuple[tuple[str, str], ...]

# Minute states, in the order the SPEC's "first match wins" rule tests them.
UP, DOWN, NO_DATA, EXCLUDED = 0, 1, 2, 3
STATE_NAMES = {UP: "up", DOWN: "down", NO_DATA: "no_data", EXCLUDED: "excluded"}


def minute_of(dt: datetime) -> int:
    """Epoch minute containing ``dt`` (which must be timezone-aware)."""
    return int(dt.timestamp() // 60)


def minute_to_iso(minute: int) -> str:
    """UTC ISO 8601 with ``Z`` for the start of an epoch minute."""
    return datetime.fromtimestamp(minute * 60, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Period:
    """A calendar month in a time zone, as the UTC minutes ``[start, end)`` it spans."""

    month: str  # "YYYY-MM"
    timezone: str
    start: int  # epoch minute of the first minute
    end: int  # epoch minute just after the last

    @property
    def minutes(self) -> int:
        return self.end - self.start


@dataclass
class MinuteSeries:
    """Per-minute SLI inputs of one service, or one group of its series.

    Element ``i`` of every array describes the minute ``start + i``.  Ratio
    services fill ``errors``/``total`` (request counts, summed over series);
    probe services fill ``probe_sum`` (sum over series of each series' mean
    sample in the minute) and ``probe_count`` (how many series had samples).
    ``buckets`` maps a histogram upper bound (``inf`` for ``+Inf``) to the
    per-minute increase of that cumulative bucket, summed over series.
    """

    kind: Kind
    start: int
    has_data: np.ndarray  # bool
    errors: np.ndarray | None = None  # float64
    total: np.ndarray | None = None  # float64
    probe_sum: np.ndarray | None = None  # float64
    probe_count: np.ndarray | None = None  # float64 (a count, kept float for summing)
    buckets: dict[float, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.has_data.shape[0])

    @property
    def end(self) -> int:
        return self.start + len(self)

    @classmethod
    def empty(cls, kind: Kind, start: int, n: int) -> MinuteSeries:
        """A run of ``n`` minutes without data."""
        z = np.zeros(n, dtype=np.float64)
        if kind == "ratio":
            return cls(kind, start, np.zeros(n, dtype=bool), errors=z, total=z.copy())
        return cls(kind, start, np.zeros(n, dtype=bool), probe_sum=z, probe_count=z.copy())

    def arrays(self) -> dict[str, np.ndarray]:
        """The value arrays present for this kind, by name (buckets excluded)."""
        names = ("errors", "total") if self.kind == "ratio" else ("probe_sum", "probe_count")
        return {n: getattr(self, n) for n in names}

    def good_ratio(self) -> np.ndarray:
        """Good ratio per minute; NaN where the minute has no data.

        Ratio form: ``1 - errors/total``; zero requests with the series present
        is a good minute.  Probe form: mean over series of their mean sample.
        """
        out = np.full(len(self), np.nan)
        d = self.has_data
        if self.kind == "ratio":
            assert self.errors is not None and self.total is not None
            tot = self.total[d]
            err = self.errors[d]
            with np.errstate(divide="ignore", invalid="ignore"):
                r = np.where(tot > 0, 1.0 - err / np.where(tot > 0, tot, 1.0), 1.0)
            out[d] = r
        else:
            assert self.probe_sum is not None and self.probe_count is not None
            cnt = self.probe_count[d]
            with np.errstate(divide="ignore", invalid="ignore"):
                out[d] = np.where(cnt > 0, self.probe_sum[d] / np.where(cnt > 0, cnt, 1.0), np.nan)
        return out

    def window(self, start: int, end: int) -> MinuteSeries:
        """The minutes ``[start, end)``, padded with no-data minutes where not covered."""
        n = end - start
        out = MinuteSeries.empty(self.kind, start, n)
        lo, hi = max(start, self.start), min(end, self.end)
        if lo < hi:
            a, b = lo - start, hi - start
            c, d = lo - self.start, hi - self.start
            out.has_data[a:b] = self.has_data[c:d]
            for name, arr in self.arrays().items():
                getattr(out, name)[a:b] = arr[c:d]
        for le, arr in self.buckets.items():
            col = np.zeros(n)
            if lo < hi:
                col[lo - start : hi - start] = arr[lo - self.start : hi - self.start]
            out.buckets[le] = col
        return out


def combine(parts: list[MinuteSeries], kind: Kind, start: int, end: int) -> MinuteSeries:
    """Sum several groups' minutes over ``[start, end)`` into one service-level series.

    Ratio counts add; probe sums and counts add, so the mean stays a mean over
    every series; a minute has data when any part has.
    """
    out = MinuteSeries.empty(kind, start, end - start)
    for p in parts:
        w = p.window(start, end)
        out.has_data |= w.has_data
        for name, arr in w.arrays().items():
            getattr(out, name)[:] += arr
        for le, arr in w.buckets.items():
            if le in out.buckets:
                out.buckets[le] = out.buckets[le] + arr
            else:
                out.buckets[le] = arr.copy()
    return out
