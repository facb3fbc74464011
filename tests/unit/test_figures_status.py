"""The status page's rules on their own (slactl.figures.status): no store, no files, no clock."""

from __future__ import annotations

import numpy as np
import pytest

from slactl.figures.status import (
    DEGRADED_SHARE,
    Cluster,
    Overall,
    ServiceState,
    clusters,
    current_status,
    day_status,
    overall,
    split_cluster,
    with_open_post,
)
from slactl.model import DOWN, EXCLUDED, NO_DATA, UP


def st(*codes: int) -> np.ndarray:
    return np.array(codes, dtype=np.int8)


def never() -> float:
    raise AssertionError("the good share was read although an earlier rule decided")


def test_maintenance_wins_over_everything():
    assert current_status(st(DOWN, DOWN), [], never, 0.95, True) == ServiceState("under_maintenance", "")


def test_no_recent_state_is_operational_with_a_note():
    assert current_status(st(NO_DATA, EXCLUDED), [], never, 0.95, False) == ServiceState("operational", "no recent data")


def test_half_the_measured_minutes_down_is_a_major_outage():
    assert current_status(st(UP, DOWN, NO_DATA), [], never, 0.95, False).status == "major_outage"


def test_one_group_down_or_one_down_minute_is_a_partial_outage():
    groups = [st(UP, UP, UP), st(DOWN, DOWN, UP)]
    assert current_status(st(UP, UP, UP), groups, never, 0.95, False) == ServiceState(
        "partial_outage", "some customers affected"
    )
    assert current_status(st(UP, UP, DOWN), [], never, 0.95, False) == ServiceState("partial_outage", "")


def test_degraded_below_a_share_of_the_slice_threshold():
    limit = 1.0 - DEGRADED_SHARE * (1.0 - 0.95)  # 0.99
    assert current_status(st(UP), [], lambda: 0.98, 0.95, False) == ServiceState("degraded_performance", "2.0% errors")
    assert current_status(st(UP), [], lambda: limit, 0.95, False) == ServiceState("operational", "")


@pytest.mark.parametrize(
    ("codes", "level"),
    [
        ((UP,) * 100, "ok"),
        ((UP,) * 99 + (DOWN,), "minor"),
        ((UP,) * 95 + (DOWN,) * 5, "major"),
        ((UP,) * 94 + (DOWN,) * 6, "critical"),
        ((UP, EXCLUDED), "maintenance"),
        ((EXCLUDED,), "maintenance"),
        ((NO_DATA,), "none"),
        ((), "none"),
    ],
)
def test_day_levels(codes, level):
    day = day_status("2026-01-20", st(*codes))
    assert day.level == level and day.date == "2026-01-20" and day.total == len(codes)


def test_overall_indicator():
    assert overall(["operational"], []) == Overall("none", "All Systems Operational")
    assert overall(["operational", "under_maintenance"], []) == Overall("none", "Service Under Maintenance")
    assert overall(["degraded_performance"], []).indicator == "minor"
    assert overall(["partial_outage", "operational"], ["minor"]).indicator == "major"
    assert overall(["major_outage", "under_maintenance"], []) == Overall("critical", "Major System Outage")
    assert overall(["operational"], ["critical"]).indicator == "critical"


def test_an_open_post_raises_a_state_but_never_lowers_it_or_ends_maintenance():
    assert with_open_post("operational", "major") == "partial_outage"
    assert with_open_post("major_outage", "minor") == "major_outage"
    assert with_open_post("under_maintenance", "critical") == "under_maintenance"


def test_overlapping_runs_of_several_services_make_one_cluster():
    runs = [(10, 20, "web"), (15, 30, "api"), (40, 45, "api")]
    first, second = clusters(runs, ["api", "web"], end=45)
    assert first == Cluster(10, 30, (("web", 10, 20), ("api", 15, 30)), ("api", "web"), False)
    assert second == Cluster(40, 45, (("api", 40, 45),), ("api",), True)
    mine, rest = split_cluster(first, {"api"}, ["api", "web"], end=45)
    assert (mine.start, mine.end, mine.services) == (15, 30, ("api",))
    assert (rest.start, rest.end, rest.services) == (10, 20, ("web",))
