"""The month being measured, and which of its minutes maintenance takes out.

SPEC section 2 cuts a calendar month in the configured zone but measures it on
UTC-aligned minutes.  Both facts meet here: the month's local boundaries are
turned into epoch minutes once, and everything downstream indexes plain arrays.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np

from slactl.errors import ConfigError, DataError, UsageError
from slactl.model import Period

_MONTH_RE = re.compile(r"([0-9]{4})-([0-9]{2})")  # ASCII: \d also matches e.g. fullwidth digits
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_US_PER_MINUTE = 60 * 1_000_000


def parse_month(month: str) -> tuple[int, int]:
    """``"YYYY-MM"`` as ``(year, month)``; anything else is a usage error.

    Strict on purpose: ``2026-1`` or ``2026-01-05`` are more likely typos than
    intent, and a silently wrong month gives a wrong invoice.
    """
    m = _MONTH_RE.fullmatch(month) if isinstance(month, str) else None
    if m is None:
        raise UsageError(f"--month must be YYYY-MM, got {month!r}")
    year, mon = int(m.group(1)), int(m.group(2))
    if not 1 <= mon <= 12 or year < 1 or (year, mon) >= (9999, 12):
        # December 9999 has no "next month 00:00" that datetime can express.
        raise UsageError(f"--month must be YYYY-MM, got {month!r}")
    if year < 1970:
        # Metrics are stamped from the Unix epoch on; earlier months cannot hold data
        # (and far-off years overflow when the month's edges are converted to UTC).
        raise UsageError(f"--month {month}: give a month from 1970-01 on")
    return year, mon


def load_zone(tz: str) -> ZoneInfo:
    """The IANA zone ``tz``; an unknown or malformed name is a configuration error."""
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, TypeError, OSError) as exc:
        raise ConfigError(
            f"unknown time zone {tz!r}; use an IANA name such as 'UTC' or 'Europe/Berlin'",
            key="timezone",
        ) from exc


def _epoch_minute_exact(dt: datetime, what: str) -> int:
    """Epoch minute of ``dt``, which must fall exactly on a UTC minute boundary."""
    us = (dt - _EPOCH) // _MICROSECOND
    minute, rest = divmod(us, _US_PER_MINUTE)
    if rest:
        # Historic zones (e.g. Africa/Monrovia before 1972, -00:44:30) put local
        # midnight mid-minute; the SPEC's minute slices cannot represent that.
        raise DataError(
            f"{what} ({dt.isoformat()}) is not on a UTC minute boundary; "
            "slactl measures whole UTC minutes"
        )
    return int(minute)


def month_period(month: str, tz: str) -> Period:
    """The calendar month ``[first day 00:00, next month 00:00)`` in zone ``tz``.

    Local midnights are resolved with ``fold=0``: when midnight falls in a DST
    gap this is the transition instant (the day's real first moment), and when
    it is repeated it is its first occurrence.  Adjacent months therefore share
    their boundary exactly, so no minute is counted twice or lost.
    """
    year, mon = parse_month(month)
    zone = load_zone(tz)
    nyear, nmon = (year + 1, 1) if mon == 12 else (year, mon + 1)
    start_local = datetime(year, mon, 1, tzinfo=zone)
    end_local = datetime(nyear, nmon, 1, tzinfo=zone)
    start = _epoch_minute_exact(start_local, f"start of {month} in {tz}")
    end = _epoch_minute_exact(end_local, f"end of {month} in {tz}")
    return Period(month=f"{year:04d}-{mon:02d}", timezone=tz, start=start, end=end)


def _window_micros(dt: datetime) -> int:
    """Exact microseconds since the epoch (floats would blur sub-second edges)."""
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise DataError(
            f"maintenance time {dt.isoformat()} has no time zone; write it with an offset or Z"
        )
    return (dt - _EPOCH) // _MICROSECOND


def maintenance_mask(period: Period, windows: Sequence[tuple[datetime, datetime]]) -> np.ndarray:
    """Per-minute flags of ``period``: True where any maintenance window touches the minute.

    A minute ``[t, t+60s)`` is excluded when a window ``[start, end)`` overlaps
    any part of it, so a window that is not minute-aligned excludes the partial
    minutes at both of its ends: the customer was told to expect disruption
    then, and a half-measured minute cannot be counted against the SLA.
    Windows are clipped to the month; empty or reversed windows exclude nothing.

    Built with a difference array (``+1`` at each window's first minute, ``-1``
    after its last, then a cumulative sum), so the cost is one pass over the
    month however many windows there are.
    """
    n = period.minutes
    if not windows:
        return np.zeros(n, dtype=bool)
    lo_list: list[int] = []
    hi_list: list[int] = []
    for s_dt, e_dt in windows:
        s_us, e_us = _window_micros(s_dt), _window_micros(e_dt)
        if e_us <= s_us:
            continue
        # First minute overlapped: the one containing the start.  Last minute
        # overlapped (exclusive): the first minute starting at or after the end.
        lo_list.append(s_us // _US_PER_MINUTE - period.start)
        hi_list.append(-((-e_us) // _US_PER_MINUTE) - period.start)
    if not lo_list:
        return np.zeros(n, dtype=bool)
    lo = np.clip(np.array(lo_list, dtype=np.int64), 0, n)
    hi = np.clip(np.array(hi_list, dtype=np.int64), 0, n)
    keep = lo < hi
    diff = np.zeros(n + 1, dtype=np.int64)
    np.add.at(diff, lo[keep], 1)
    np.add.at(diff, hi[keep], -1)
    return np.cumsum(diff[:n]) > 0


def local_days(period: Period) -> list[tuple[str, int, int]]:
    """The period's calendar days in its zone as ``(YYYY-MM-DD, start, end)`` epoch minutes.

    Days are cut at local midnight like the month itself, so a DST day has 23 or
    25 hours; the last day is cut at the period's end (a month still running).
    """
    return list(_local_days(period))


@functools.lru_cache(maxsize=64)  # every service of a report asks for the same month's days
def _local_days(period: Period) -> tuple[tuple[str, int, int], ...]:
    zone = load_zone(period.timezone)
    first = datetime.fromtimestamp(period.start * 60, tz=UTC).astimezone(zone).date()
    days: list[tuple[str, int, int]] = []
    day = first
    start = period.start
    while start < period.end:
        nxt = day + timedelta(days=1)
        end_local = datetime(nxt.year, nxt.month, nxt.day, tzinfo=zone)
        end = min(_epoch_minute_exact(end_local, f"end of {day.isoformat()} in {period.timezone}"), period.end)
        days.append((day.isoformat(), start, end))
        day, start = nxt, end
    return tuple(days)
