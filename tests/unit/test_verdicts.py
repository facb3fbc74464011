"""Tier and latency verdicts: >= / <= at the boundary, None when unknown, order kept."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from slactl.sla.verdicts import (
    budget_minutes,
    budget_used_percent,
    latency_certain,
    latency_verdicts,
    meets,
    tier_verdicts,
)
from slactl.sli.states import uptime_percent

TIERS = {"standard": 99.9, "professional": 99.95, "enterprise": 99.99}


def test_tier_verdicts():
    got = tier_verdicts(99.97, TIERS)
    assert got == {
        "standard": {"target": 99.9, "met": True},
        "professional": {"target": 99.95, "met": True},
        "enterprise": {"target": 99.99, "met": False},
    }
    assert list(got) == ["standard", "professional", "enterprise"]


def test_tier_order_follows_targets():
    targets = {"z": 50.0, "a": 99.0, "m": 10.0}
    assert list(tier_verdicts(60.0, targets)) == ["z", "a", "m"]


def test_tier_exactly_at_target_is_met():
    # 999 of 1000 minutes up is exactly 99.9 percent.
    u = uptime_percent({"up": 999, "down": 1})
    assert tier_verdicts(u, {"standard": 99.9})["standard"]["met"] is True
    u = uptime_percent({"up": 998, "down": 2})
    assert tier_verdicts(u, {"standard": 99.9})["standard"]["met"] is False


def test_tier_unknown_uptime():
    assert tier_verdicts(None, TIERS) == {k: {"target": v, "met": None} for k, v in TIERS.items()}
    assert tier_verdicts(99.0, {}) == {}


def test_latency_verdicts():
    values = {"p50": 0.038, "p95": 0.2, "p99": 0.6}
    targets = {"p50": 0.05, "p95": 0.2, "p99": 0.5}
    assert latency_verdicts(values, targets) == {
        "p50": {"target": 0.05, "met": True, "certain": None},
        "p95": {"target": 0.2, "met": True, "certain": None},  # exactly at target is met
        "p99": {"target": 0.5, "met": False, "certain": None},
    }  # no bounds given: certainty unknown


def test_latency_unknown_and_missing():
    got = latency_verdicts({"p95": None}, {"p95": 0.2, "p99": 0.5})
    assert got == {"p95": {"target": 0.2, "met": None, "certain": None},
                   "p99": {"target": 0.5, "met": None, "certain": None}}
    assert latency_verdicts({"p95": 0.1}, {}) == {}


def test_met_is_a_plain_bool():
    import numpy as np

    got = tier_verdicts(np.float64(99.95), {"t": 99.9})["t"]["met"]
    assert type(got) is bool
    got = latency_verdicts({"p95": np.float64(0.1)}, {"p95": 0.2})["p95"]["met"]
    assert type(got) is bool


@given(st.one_of(st.none(), st.floats(0, 100)), st.floats(0, 100))
def test_tier_property(uptime, target):
    met = tier_verdicts(uptime, {"t": target})["t"]["met"]
    assert met is (None if uptime is None else uptime >= target)


@given(st.one_of(st.none(), st.floats(0, 10)), st.floats(0, 10))
def test_latency_property(value, target):
    met = latency_verdicts({"p": value}, {"p": target})["p"]["met"]
    assert met is (None if value is None else value <= target)


BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


@pytest.mark.parametrize("target", [0.005, 0.05, 0.1, 0.2, 0.25, 0.3, 0.5, 2.5, 10.0])
@pytest.mark.parametrize("i", range(len(BUCKETS) + 1))
def test_certain_against_bucket_bounds(target, i):
    """Certain exactly when the whole bucket lies on one side: upper <= target, or lower > target."""
    lower = 0.0 if i == 0 else BUCKETS[i - 1]
    upper = BUCKETS[i] if i < len(BUCKETS) else None  # the +Inf bucket
    expected = (upper is not None and upper <= target) or lower > target
    assert latency_certain(target, lower, upper) is expected
    # Whatever the estimate inside a certain bucket, the verdict agrees with the bucket.
    if expected and upper is not None:
        for value in (lower, (lower + upper) / 2, upper):
            got = latency_verdicts({"p95": value}, {"p95": target}, {"p95": (lower, upper)})["p95"]
            assert got == {"target": target, "met": upper <= target, "certain": True}


def test_certain_in_the_demo_case():
    """Two P95s in the 100–250 ms bucket around a 200 ms target: neither is certain."""
    for value in (0.199, 0.2022):
        got = latency_verdicts({"p95": value}, {"p95": 0.2}, {"p95": (0.1, 0.25)})["p95"]
        assert got["certain"] is False and got["met"] is (value <= 0.2)
    assert latency_verdicts({"p95": 0.3}, {"p95": 0.2}, {"p95": (0.25, 0.5)})["p95"]["certain"] is True


def test_meets_and_budget_without_float_noise():
    assert meets(99.9, 99.9) is True and meets(99.89, 99.9) is False and meets(None, 99.9) is None
    assert budget_minutes(99.9, 44640) == Decimal("44.640")
    assert budget_minutes(99.99, 44640) == Decimal("4.4640")
    assert budget_used_percent(39, 99.99, 44634) == Decimal(39) * 100 / Decimal("4.4634")
    assert budget_used_percent(1, 100.0, 44640) is None
