"""The present slactl measures up to: the system clock, or a pinned time that has passed.

``SLACTL_NOW`` and ``slactl.open(now=…)`` pin "now" so that a run over a month
still running can be repeated byte for byte.  A minute is pulled and stored once
it has settled at that now, and a stored minute is final.  A pinned now ahead
of the system clock would therefore freeze minutes that have not happened yet
as minutes without data, and no later run would pull them again.  So:

- a pinned now later than the system clock is refused (a usage error naming
  both times), as is one that is not a time at all;
- the ingest cuts every pull at the real present, whatever now its caller
  passes, so no code path can store the future.

A pinned now is read here once, for the CLI and the notebook API alike: an
aware datetime, a naive one (in the zone given, UTC for ``SLACTL_NOW``), a date
(its midnight in that zone) or ISO 8601 text of any of these.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, tzinfo

from slactl.errors import UsageError

EXAMPLE = "2026-02-01T00:00:00Z"


def wall_clock() -> datetime:
    """The system clock, in UTC (the one place slactl's own code reads it for ``now``)."""
    return datetime.now(UTC)


def not_after_clock(now: datetime) -> datetime:
    """``now``, or the real present when ``now`` is ahead of it."""
    real = wall_clock()
    return real if now > real else now


def _stamp(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _as_datetime(value: object, zone: tzinfo) -> datetime:
    """``value`` as an aware datetime; ValueError, TypeError or OverflowError when it is none."""
    if isinstance(value, str):
        text = value.strip()
        if not text:
            raise ValueError(value)
        value = datetime.fromisoformat(text)
    if isinstance(value, datetime):
        return value if value.tzinfo is not None and value.utcoffset() is not None else value.replace(tzinfo=zone)
    if isinstance(value, date):
        return datetime.combine(value, time(), tzinfo=zone)
    raise TypeError(type(value).__name__)


def pinned_now(value: object, what: str, zone: tzinfo = UTC, fix: str = "give a time that has passed") -> datetime:
    """A pinned now (see the module doc) as an aware UTC datetime, or a one-line UsageError.

    ``what`` names where the value came from (``SLACTL_NOW``, ``now``); ``fix``
    ends the message about a time ahead of the clock.
    """
    try:
        dt = _as_datetime(value, zone).astimezone(UTC)
    except TypeError:
        raise UsageError(
            f"{what}: give a datetime, a date or ISO 8601 text such as {EXAMPLE}, not {type(value).__name__}"
        ) from None
    except OverflowError:
        raise UsageError(f"{what} {value!r} lies outside the years 1 to 9999 in UTC") from None
    except ValueError:
        raise UsageError(f"{what} {value!r} is not an ISO 8601 date or time such as {EXAMPLE}") from None
    real = wall_clock()
    if dt > real:
        raise UsageError(
            f"{what} {_stamp(dt)} is ahead of the system clock ({_stamp(real)}): minutes that have not "
            f"happened cannot be measured, and would be stored as minutes without data; {fix}"
        )
    return dt
