"""Month boundaries in time zones, and maintenance masks over minutes."""

from __future__ import annotations

import calendar
from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slactl.errors import ConfigError, DataError, UsageError
from slactl.model import Period
from slactl.sli.period import maintenance_mask, month_period


def utc_minute(*args: int) -> int:
    """Epoch minute of a UTC wall time, computed independently of the code under test."""
    return int(datetime(*args, tzinfo=UTC).timestamp()) // 60


# ---------------------------------------------------------------- month_period


@pytest.mark.parametrize(
    ("month", "tz", "start", "end", "minutes"),
    [
        ("2026-01", "UTC", (2026, 1, 1), (2026, 2, 1), 31 * 1440),
        # Kolkata is +05:30 all year: the month starts 18:30 UTC the day before.
        ("2026-01", "Asia/Kolkata", (2025, 12, 31, 18, 30), (2026, 1, 31, 18, 30), 31 * 1440),
        # New York springs forward on 2026-03-08: one hour short.
        ("2026-03", "America/New_York", (2026, 3, 1, 5), (2026, 4, 1, 4), 31 * 1440 - 60),
        # ...and falls back on 2026-11-01: one hour long (30-day month).
        ("2026-11", "America/New_York", (2026, 11, 1, 4), (2026, 12, 1, 5), 30 * 1440 + 60),
        # A 31-day month with the fall-back inside it: 44700 minutes.
        ("2026-10", "Europe/Berlin", (2026, 9, 30, 22), (2026, 10, 31, 23), 44700),
        ("2024-02", "UTC", (2024, 2, 1), (2024, 3, 1), 29 * 1440),
        ("2026-02", "UTC", (2026, 2, 1), (2026, 3, 1), 28 * 1440),
        ("2000-02", "UTC", (2000, 2, 1), (2000, 3, 1), 29 * 1440),
        ("2100-02", "UTC", (2100, 2, 1), (2100, 3, 1), 28 * 1440),
        # December rolls over into January of the next year.
        ("2025-12", "UTC", (2025, 12, 1), (2026, 1, 1), 31 * 1440),
        ("2025-12", "Asia/Kolkata", (2025, 11, 30, 18, 30), (2025, 12, 31, 18, 30), 31 * 1440),
        ("2025-12", "America/New_York", (2025, 12, 1, 5), (2026, 1, 1, 5), 31 * 1440),
        # Negative offset with half hours, and a +12:45 zone.
        ("2026-06", "America/St_Johns", (2026, 6, 1, 2, 30), (2026, 7, 1, 2, 30), 30 * 1440),
        ("2026-01", "Pacific/Chatham", (2025, 12, 31, 10, 15), (2026, 1, 31, 10, 15), 31 * 1440),
        # Midnight itself skipped by DST (00:00 -> 01:00): the month starts at the jump.
        ("2023-10", "America/Asuncion", (2023, 10, 1, 4), (2023, 11, 1, 3), 31 * 1440 - 60),
    ],
)
def test_month_period(month, tz, start, end, minutes):
    p = month_period(month, tz)
    assert p == Period(month=month, timezone=tz, start=utc_minute(*start), end=utc_minute(*end))
    assert p.minutes == minutes


def test_repeated_midnight_takes_first_occurrence():
    # Havana falls back 01:00 -> 00:00 on 2026-11-01, so 00:00 happens twice.
    oct_, nov = month_period("2026-10", "America/Havana"), month_period("2026-11", "America/Havana")
    assert oct_.end == nov.start == utc_minute(2026, 11, 1, 4)


@pytest.mark.parametrize(
    "bad",
    [
        "2026-13",
        "2026-00",
        "2026-1",
        "26-01",
        "2026-01-01",
        "",
        "abcd-ef",
        " 2026-01",
        "2026/01",
        "0000-05",
        "9999-12",
        "２０２６-01",
        "2026-01\n",
    ],
)
def test_bad_month_is_usage_error(bad):
    with pytest.raises(UsageError) as err:
        month_period(bad, "UTC")
    assert str(err.value) == f"--month must be YYYY-MM, got {bad!r}"


def test_bad_month_message():
    with pytest.raises(UsageError, match=r"^--month must be YYYY-MM, got '2026-13'$"):
        month_period("2026-13", "UTC")


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "", "../../etc/passwd", "/etc/localtime"])
def test_unknown_zone_is_config_error(zone):
    with pytest.raises(ConfigError) as err:
        month_period("2026-01", zone)
    assert err.value.key == "timezone"
    assert repr(zone) in str(err.value)


def test_boundary_off_the_minute_is_data_error():
    # Liberia kept -00:44:30 until 1972: local midnight is 00:44:30 UTC.
    with pytest.raises(DataError, match="minute boundary"):
        month_period("1971-06", "Africa/Monrovia")


ZONES = [
    "UTC",
    "Asia/Kolkata",
    "America/New_York",
    "Europe/Berlin",
    "Australia/Lord_Howe",
    "America/Havana",
    "America/Asuncion",
    "Pacific/Chatham",
    "Asia/Kathmandu",
]


@settings(max_examples=200, deadline=None)
@given(st.integers(1980, 2090), st.integers(1, 12), st.sampled_from(ZONES))
def test_months_tile_time(year, mon, tz):
    """Consecutive months share their boundary and last about as long as the calendar says."""
    p = month_period(f"{year:04d}-{mon:02d}", tz)
    ny, nm = (year + 1, 1) if mon == 12 else (year, mon + 1)
    q = month_period(f"{ny:04d}-{nm:02d}", tz)
    assert p.end == q.start
    days = calendar.monthrange(year, mon)[1]
    # No zone shifts by more than an hour within a month (Lord Howe: 30 min).
    assert abs(p.minutes - days * 1440) <= 60
    if tz == "UTC":
        assert p.minutes == days * 1440
        assert p.start == utc_minute(year, mon, 1)


# ------------------------------------------------------------ maintenance_mask


def reference_mask(period: Period, windows) -> np.ndarray:
    """Per-minute loop straight from the definition: any overlap of [t, t+60s) and [s, e)."""
    out = np.zeros(period.minutes, dtype=bool)
    for i in range(period.minutes):
        t0 = datetime.fromtimestamp((period.start + i) * 60, tz=UTC)
        t1 = t0 + timedelta(seconds=60)
        out[i] = any(s < t1 and e > t0 and s < e for s, e in windows)
    return out


JAN = month_period("2026-01", "UTC")


def at(*args: int, **kw) -> datetime:
    return datetime(*args, tzinfo=UTC, **kw)


def idx(*args: int) -> int:
    return utc_minute(*args) - JAN.start


def test_no_windows():
    m = maintenance_mask(JAN, [])
    assert m.dtype == bool and m.shape == (44640,) and not m.any()


def test_aligned_window():
    m = maintenance_mask(JAN, [(at(2026, 1, 17, 2), at(2026, 1, 17, 4))])
    assert m.sum() == 120
    assert m[idx(2026, 1, 17, 2)] and m[idx(2026, 1, 17, 3, 59)]
    assert not m[idx(2026, 1, 17, 1, 59)] and not m[idx(2026, 1, 17, 4)]


def test_window_not_minute_aligned_takes_partial_minutes():
    m = maintenance_mask(JAN, [(at(2026, 1, 5, 10, 0, 30), at(2026, 1, 5, 10, 2, 0, 1))])
    assert np.flatnonzero(m).tolist() == [
        idx(2026, 1, 5, 10, 0),
        idx(2026, 1, 5, 10, 1),
        idx(2026, 1, 5, 10, 2),
    ]
    tiny = maintenance_mask(JAN, [(at(2026, 1, 5, 10, 0, 59, 999999), at(2026, 1, 5, 10, 1))])
    assert np.flatnonzero(tiny).tolist() == [idx(2026, 1, 5, 10, 0)]


def test_windows_over_month_edges_are_clipped():
    m = maintenance_mask(
        JAN,
        [
            (at(2025, 12, 31, 23), at(2026, 1, 1, 0, 30)),
            (at(2026, 1, 31, 23, 50), at(2026, 2, 1, 6)),
        ],
    )
    assert m[:30].all() and not m[30]
    assert m[-10:].all() and not m[-11]
    assert m.sum() == 40


def test_windows_outside_or_empty_exclude_nothing():
    m = maintenance_mask(
        JAN,
        [
            (at(2025, 12, 1), at(2026, 1, 1)),  # ends exactly at month start
            (at(2026, 2, 1), at(2026, 2, 2)),  # starts exactly at month end
            (at(2026, 1, 9), at(2026, 1, 9)),  # empty
            (at(2026, 1, 9, 5), at(2026, 1, 9, 4)),
        ],
    )  # reversed
    assert not m.any()


def test_overlapping_windows_union():
    m = maintenance_mask(
        JAN,
        [
            (at(2026, 1, 3, 1), at(2026, 1, 3, 2)),
            (at(2026, 1, 3, 1, 30), at(2026, 1, 3, 3)),
            (at(2026, 1, 3, 1, 10), at(2026, 1, 3, 1, 20)),
        ],
    )
    assert m.sum() == 120
    assert np.array_equal(np.flatnonzero(m), np.arange(idx(2026, 1, 3, 1), idx(2026, 1, 3, 3)))


def test_windows_in_other_offsets():
    ist = timezone(timedelta(hours=5, minutes=30))
    m = maintenance_mask(
        JAN, [(datetime(2026, 1, 1, 5, 30, tzinfo=ist), datetime(2026, 1, 1, 5, 45, tzinfo=ist))]
    )
    assert np.flatnonzero(m).tolist() == list(range(15))


def test_kolkata_month_mask_lines_up():
    p = month_period("2026-01", "Asia/Kolkata")
    m = maintenance_mask(p, [(at(2025, 12, 31, 18), at(2025, 12, 31, 18, 31))])
    assert np.flatnonzero(m).tolist() == [0]


def test_naive_window_is_data_error():
    with pytest.raises(DataError, match="time zone"):
        maintenance_mask(JAN, [(datetime(2026, 1, 2), datetime(2026, 1, 3))])


def test_many_windows_full_month_matches_reference():
    rng = np.random.default_rng(7)
    windows = []
    for _ in range(40):
        s = JAN.start * 60 + int(rng.integers(-3000, JAN.minutes * 60 + 3000))
        d = int(rng.integers(0, 20000))
        windows.append(
            (
                datetime.fromtimestamp(s, tz=UTC),
                datetime.fromtimestamp(s + d, tz=UTC) + timedelta(microseconds=int(d % 7)),
            )
        )
    assert np.array_equal(maintenance_mask(JAN, windows), reference_mask(JAN, windows))


SMALL = Period(
    month="test", timezone="UTC", start=utc_minute(2026, 3, 1), end=utc_minute(2026, 3, 1) + 90
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(-200 * 60_000_000, 300 * 60_000_000),
            st.integers(-30_000_000, 40 * 60_000_000),
        ),
        max_size=6,
    )
)
def test_mask_matches_per_minute_reference(spans):
    base = datetime.fromtimestamp(SMALL.start * 60, tz=UTC)
    windows = [
        (base + timedelta(microseconds=s), base + timedelta(microseconds=s + d)) for s, d in spans
    ]
    assert np.array_equal(maintenance_mask(SMALL, windows), reference_mask(SMALL, windows))
