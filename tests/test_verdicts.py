"""Tier and latency verdicts: >= / <= at the boundary, None when unknown, order kept."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from slactl.sla.verdicts import latency_verdicts, tier_verdicts
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
        "p50": {"target": 0.05, "met": True},
        "p95": {"target": 0.2, "met": True},  # exactly at target is met
        "p99": {"target": 0.5, "met": False},
    }


def test_latency_unknown_and_missing():
    got = latency_verdicts({"p95": None}, {"p95": 0.2, "p99": 0.5})
    assert got == {"p95": {"target": 0.2, "met": None}, "p99": {"target": 0.5, "met": None}}
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
