"""Minute states, counts, uptime, coverage, incidents, MTTR and error ratio."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slactl.model import DOWN, EXCLUDED, NO_DATA, UP
from slactl.sli.states import (
    count_states,
    coverage_percent,
    error_ratio,
    incidents,
    minute_states,
    mttr_minutes,
    uptime_percent,
)

NAN = math.nan


def reference_states(good, excluded, threshold, policy):
    """SPEC 2.3 as a per-minute loop."""
    out = []
    for g, x in zip(good, excluded, strict=True):
        if x:
            out.append(EXCLUDED)
        elif math.isnan(g):
            out.append({"ignore": NO_DATA, "up": UP, "down": DOWN}[policy])
        elif g < threshold:
            out.append(DOWN)
        else:
            out.append(UP)
    return out


def reference_runs(states):
    """Maximal runs of DOWN as (start, end) indexes, by walking the minutes."""
    runs, start = [], None
    for i, s in enumerate(list(states) + [UP]):
        if s == DOWN and start is None:
            start = i
        elif s != DOWN and start is not None:
            runs.append((start, i))
            start = None
    return runs


def reference_merge(runs, gap):
    out = []
    for s, e in runs:
        if out and s - out[-1][1] <= gap:
            out[-1] = (out[-1][0], e)
        else:
            out.append((s, e))
    return out


# --------------------------------------------------------------- minute_states


def test_first_match_wins():
    good = np.array([0.0, NAN, 0.5, 0.95, 0.9499, 1.0, NAN, 1.0])
    excl = np.array([True, True, False, False, False, False, False, True])
    got = minute_states(good, excl, 0.95, "ignore")
    assert got.dtype == np.int8
    assert got.tolist() == [EXCLUDED, EXCLUDED, DOWN, UP, DOWN, UP, NO_DATA, EXCLUDED]


@pytest.mark.parametrize(("policy", "code"), [("ignore", NO_DATA), ("up", UP), ("down", DOWN)])
def test_no_data_policy(policy, code):
    good = np.array([NAN, 1.0, NAN])
    excl = np.array([False, False, True])
    assert minute_states(good, excl, 0.95, policy).tolist() == [code, UP, EXCLUDED]


def test_bad_policy_and_shapes():
    with pytest.raises(ValueError):
        minute_states(np.ones(3), np.zeros(3, bool), 0.95, "maybe")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        minute_states(np.ones(3), np.zeros(4, bool), 0.95, "ignore")


goods = st.lists(
    st.one_of(st.just(NAN), st.floats(0, 1), st.sampled_from([0.0, 0.95, 1.0])), max_size=200
)


@settings(max_examples=300, deadline=None)
@given(
    goods,
    st.data(),
    st.sampled_from(["ignore", "up", "down"]),
    st.sampled_from([0.0, 0.5, 0.95, 0.999, 1.0]),
)
def test_states_match_reference_and_partition(good, data, policy, threshold):
    excl = data.draw(st.lists(st.booleans(), min_size=len(good), max_size=len(good)))
    states = minute_states(
        np.array(good, dtype=float), np.array(excl, dtype=bool), threshold, policy
    )
    assert states.tolist() == reference_states(good, excl, threshold, policy)
    c = count_states(states)
    assert list(c) == ["total", "up", "down", "no_data", "excluded"]
    assert c["total"] == len(good) == c["up"] + c["down"] + c["no_data"] + c["excluded"]
    assert c["excluded"] == sum(excl)
    if policy != "ignore":
        assert c["no_data"] == 0
    u = uptime_percent(c)
    assert u is None or 0.0 <= u <= 100.0
    assert (u is None) == (c["up"] + c["down"] == 0)


# ------------------------------------------------------------ counts & uptime


def test_count_states_full_month():
    states = np.zeros(44640, dtype=np.int8)
    states[100:110] = DOWN
    states[200:260] = EXCLUDED
    assert count_states(states) == {
        "total": 44640,
        "up": 44570,
        "down": 10,
        "no_data": 0,
        "excluded": 60,
    }


def test_count_states_rejects_unknown_code():
    with pytest.raises(ValueError):
        count_states(np.array([0, 1, 7], dtype=np.int8))


def test_uptime_percent():
    assert uptime_percent({"up": 44570, "down": 10}) == pytest.approx(99.97757847533632)
    assert uptime_percent({"up": 0, "down": 0}) is None
    assert uptime_percent({"up": 0, "down": 5}) == 0.0
    assert uptime_percent({"up": 5, "down": 0}) == 100.0
    # Exactly at a target compares equal to the target's float.
    assert uptime_percent({"up": 999, "down": 1}) == 99.9
    assert uptime_percent({"up": 9999, "down": 1}) == 99.99
    assert uptime_percent({"up": 1999, "down": 1}) == 99.95


# ------------------------------------------------------------------- coverage


def test_coverage_percent():
    has = np.array([True, True, False, False, True, False])
    excl = np.array([False, False, False, True, True, True])
    # measured minutes: 0,1,2 -> 2 with data
    assert coverage_percent(has, excl) == pytest.approx(200 / 3)
    assert coverage_percent(np.ones(4, bool), np.zeros(4, bool)) == 100.0
    assert coverage_percent(np.zeros(4, bool), np.zeros(4, bool)) == 0.0
    assert coverage_percent(np.ones(4, bool), np.ones(4, bool)) is None
    assert coverage_percent(np.zeros(0, bool), np.zeros(0, bool)) is None


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.booleans()), max_size=100))
def test_coverage_matches_reference(pairs):
    has = np.array([h for h, _ in pairs], dtype=bool)
    excl = np.array([x for _, x in pairs], dtype=bool)
    measured = [h for h, x in pairs if not x]
    got = coverage_percent(has, excl)
    if not measured:
        assert got is None
    else:
        assert got == pytest.approx(100 * sum(measured) / len(measured))
        assert 0 <= got <= 100


# ------------------------------------------------------------------ incidents

D, U, N, X = DOWN, UP, NO_DATA, EXCLUDED


@pytest.mark.parametrize(
    ("states", "gap", "expected"),
    [
        ([], 0, []),
        ([U, U, N, X], 3, []),
        ([D, D, U, D, U, U, D], 0, [(0, 2), (3, 4), (6, 7)]),
        ([D, D, U, D, U, U, D], 1, [(0, 4), (6, 7)]),
        ([D, D, U, D, U, U, D], 2, [(0, 7)]),
        ([D, D, U, D, U, U, D], 100, [(0, 7)]),
        ([D, D, D], 0, [(0, 3)]),
        ([U, D, N, D, X, D, U], 0, [(1, 2), (3, 4), (5, 6)]),  # any other state ends a run
        ([U, D, N, D, X, D, U], 1, [(1, 6)]),
        ([U, U, D], 0, [(2, 3)]),  # run at the end is clipped to the array
    ],
)
def test_incidents_cases(states, gap, expected):
    arr = np.array(states, dtype=np.int8)
    assert incidents(arr, 0, gap) == expected
    shifted = incidents(arr, 29_000_000, gap)
    assert shifted == [(s + 29_000_000, e + 29_000_000) for s, e in expected]
    assert all(type(v) is int for pair in shifted for v in pair)


def test_incident_negative_gap():
    with pytest.raises(ValueError):
        incidents(np.array([D], dtype=np.int8), 0, -1)


def test_incidents_full_month_is_fast_and_right():
    rng = np.random.default_rng(3)
    states = rng.choice(
        np.array([U, D, N, X], dtype=np.int8), size=44640, p=[0.9, 0.05, 0.03, 0.02]
    )
    for gap in (0, 1, 5):
        assert incidents(states, 0, gap) == reference_merge(reference_runs(states.tolist()), gap)


state_lists = st.lists(st.sampled_from([U, D, N, X]), max_size=120)


@settings(max_examples=400, deadline=None)
@given(state_lists, st.integers(0, 10), st.integers(0, 10), st.integers(0, 10**8))
def test_incident_properties(states, g1, g2, start):
    arr = np.array(states, dtype=np.int8)
    small, big = sorted((g1, g2))
    inc_small = incidents(arr, start, small)
    inc_big = incidents(arr, start, big)
    # merging never increases the count
    assert len(inc_big) <= len(inc_small) <= len(reference_runs(states))
    assert inc_small == [
        (start + s, start + e) for s, e in reference_merge(reference_runs(states), small)
    ]
    for found in (inc_small, inc_big):
        # clipped to the array, non-empty, sorted and non-overlapping
        for s, e in found:
            assert start <= s < e <= start + len(states)
            assert states[s - start] == D and states[e - 1 - start] == D
        for (_, e1), (s2, _) in zip(found, found[1:], strict=False):
            assert e1 < s2
        # every down minute lies in an incident
        for i, s in enumerate(states):
            if s == D:
                assert any(a <= start + i < b for a, b in found)
    if not any(s == D for s in states):
        assert inc_small == [] and mttr_minutes(inc_small) is None


# ----------------------------------------------------------------------- MTTR


def test_mttr():
    assert mttr_minutes([]) is None
    assert mttr_minutes([(100, 110)]) == 10.0
    assert mttr_minutes([(0, 10), (20, 25), (30, 31)]) == pytest.approx(16 / 3)


# ---------------------------------------------------------------- error ratio


def test_error_ratio():
    errors = np.array([1.0, 0.0, 50.0, 2.0])
    total = np.array([100.0, 0.0, 50.0, 98.0])
    excl = np.array([False, False, True, False])
    assert error_ratio(errors, total, excl) == pytest.approx(3 / 198)
    assert error_ratio(errors, total, np.zeros(4, bool)) == pytest.approx(53 / 248)
    assert error_ratio(np.zeros(4), np.zeros(4), np.zeros(4, bool)) is None
    assert error_ratio(errors, total, np.ones(4, bool)) is None
    assert error_ratio(np.zeros(2), np.array([5.0, 5.0]), np.zeros(2, bool)) == 0.0


def test_error_ratio_shapes():
    with pytest.raises(ValueError):
        error_ratio(np.zeros(3), np.zeros(4), np.zeros(4, bool))
