"""Credit arithmetic (SPEC 2.8): schedule boundaries, decimal rounding, caps, composite minutes."""

from __future__ import annotations

import math
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slactl.config import CreditRow
from slactl.model import DOWN, EXCLUDED, NO_DATA, UP
from slactl.sla.credits import (
    as_decimal,
    composite_states,
    credit_amount,
    credit_percent,
    exact_amount,
    matching_row,
    money,
    percent_json,
)
from slactl.sli.states import count_states, uptime_percent

D = Decimal
STANDARD = [
    CreditRow(below=99.9, percent=D(10)),
    CreditRow(below=99.0, percent=D(25)),
    CreditRow(below=95.0, percent=D(100)),
]
ENTERPRISE = [
    CreditRow(below=99.99, percent=D(10)),
    CreditRow(below=99.0, percent=D(30)),
    CreditRow(below=95.0, percent=D(100)),
]


def below(x: float) -> float:
    """The largest float smaller than ``x``: as close under a boundary as a float gets."""
    return math.nextafter(x, -math.inf)


@pytest.mark.parametrize(
    ("uptime", "percent"),
    [
        (100.0, 0),
        (99.95, 0),
        (99.9, 0),  # at the boundary: not below it
        (below(99.9), 10),
        (99.89, 10),
        (99.0, 10),
        (below(99.0), 25),
        (98.0, 25),
        (95.0, 25),
        (below(95.0), 100),
        (50.0, 100),
        (0.0, 100),
    ],
)
def test_standard_schedule_at_and_around_each_row(uptime, percent):
    assert credit_percent(uptime, STANDARD) == D(percent)


@pytest.mark.parametrize(
    ("uptime", "percent"),
    [(99.99, 0), (below(99.99), 10), (99.0, 10), (below(99.0), 30), (95.0, 30), (below(95.0), 100)],
)
def test_enterprise_schedule_boundaries(uptime, percent):
    assert credit_percent(uptime, ENTERPRISE) == D(percent)


@pytest.mark.parametrize(
    ("up", "down", "percent"),
    [
        (999, 1, 0),  # exactly 99.9 % from minute counts
        (44595, 45, 10),  # 99.899…
        (9999, 1, 0),  # exactly 99.99 %
        (99, 1, 10),  # exactly 99.0 % is not below 99.0
        (98, 2, 25),
        (95, 5, 25),  # exactly 95.0 %
        (94, 6, 100),
    ],
)
def test_uptime_from_minute_counts_hits_the_boundary_exactly(up, down, percent):
    uptime = uptime_percent({"up": up, "down": down})
    assert credit_percent(uptime, STANDARD) == D(percent)


def test_row_order_does_not_matter_and_decimal_thresholds_work():
    shuffled = [STANDARD[2], STANDARD[0], STANDARD[1]]
    for u in (99.95, 99.5, 97.0, 10.0):
        assert credit_percent(u, shuffled) == credit_percent(u, STANDARD)
    assert matching_row(97.0, shuffled) is STANDARD[1]

    class Row:  # a schedule row with a Decimal threshold, as a caller might build it
        def __init__(self, b: str, p: int) -> None:
            self.below, self.percent = D(b), D(p)

    assert credit_percent(99.9, [Row("99.9", 10)]) == 0
    assert credit_percent(below(99.9), [Row("99.9", 10)]) == 10


def test_no_rows_no_credit_and_unknown_uptime_is_none():
    assert credit_percent(12.0, []) == D(0)
    assert credit_percent(None, STANDARD) is None
    assert matching_row(None, STANDARD) is None
    with pytest.raises(ValueError):
        credit_percent(math.nan, STANDARD)


def test_float_to_decimal_uses_the_written_value():
    assert as_decimal(99.9) == D("99.9")
    assert as_decimal(0.1) == D("0.1") != D(0.1)
    assert as_decimal(7) == D(7)


@pytest.mark.parametrize(
    ("fee", "percent", "amount"),
    [
        ("4999.99", 10, "500.00"),  # 499.999 rounds half-up
        ("12000.00", 10, "1200.00"),
        ("12000", 30, "3600.00"),
        ("800.00", 25, "200.00"),
        ("0.05", 10, "0.01"),  # 0.005: exactly half a cent rounds up
        ("0.04", 10, "0.00"),  # 0.004 rounds down
        ("99.99", "12.5", "12.50"),  # 12.49875
        ("33.33", "33.3", "11.10"),  # 11.09889
        ("4999.99", 0, "0.00"),
        ("4999.99", 100, "4999.99"),
        ("0", 100, "0.00"),
        ("0.005", 100, "0.00"),  # capped at the fee in whole cents, never above it
        ("0.019", 100, "0.01"),
        ("100.00", 150, "100.00"),  # a percent above 100 is capped at the fee
    ],
)
def test_credit_amount_rounds_half_up_to_cents_and_caps(fee, percent, amount):
    got = credit_amount(D(fee), D(percent))
    assert str(got) == amount
    assert got <= D(fee)


def test_exact_amount_is_lossless_and_rejects_negatives():
    assert exact_amount(D("4999.99"), D(10)) == D("499.999")
    assert exact_amount(D("123456789012345678901.23"), D("33.3")) == D("41111110741111111074.10959")
    with pytest.raises(ValueError):
        credit_amount(D("-1"), D(10))
    with pytest.raises(ValueError):
        credit_amount(D("1"), D(-10))


def test_json_forms():
    assert percent_json(D(10)) == 10 and isinstance(percent_json(D("10.0")), int)
    assert percent_json(D("12.5")) == 12.5
    assert percent_json(None) is None
    assert money(D("1.2E+4")) == "12000.00"
    assert money(D("499.9990")) == "499.999"
    assert money(D("0")) == "0.00"


# --------------------------------------------------------------------------- composite minutes


def reference_composite(per_service):
    """SPEC 2.8 as a per-minute loop."""
    out = []
    for minute in zip(*per_service, strict=True):
        if EXCLUDED in minute:
            out.append(EXCLUDED)
        elif DOWN in minute:
            out.append(DOWN)
        elif UP in minute:
            out.append(UP)
        else:
            out.append(NO_DATA)
    return out


def test_composite_example():
    api = np.array([UP, DOWN, UP, NO_DATA, NO_DATA, EXCLUDED, DOWN], dtype=np.int8)
    web = np.array([UP, UP, NO_DATA, NO_DATA, UP, DOWN, EXCLUDED], dtype=np.int8)
    got = composite_states([api, web])
    assert got.tolist() == [UP, DOWN, UP, NO_DATA, UP, EXCLUDED, EXCLUDED]
    assert count_states(got) == {"total": 7, "up": 3, "down": 1, "no_data": 1, "excluded": 2}


def test_composite_needs_services_of_one_length():
    with pytest.raises(ValueError):
        composite_states([])
    with pytest.raises(ValueError):
        composite_states([np.zeros(3, np.int8), np.zeros(4, np.int8)])


state = st.sampled_from([UP, DOWN, NO_DATA, EXCLUDED])


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 5).flatmap(lambda k: st.integers(0, 40).flatmap(
    lambda n: st.lists(st.lists(state, min_size=n, max_size=n), min_size=k, max_size=k))))  # fmt: skip
def test_composite_matches_the_spec_rule(per_service):
    arrays = [np.array(s, dtype=np.int8) for s in per_service]
    got = composite_states(arrays)
    assert got.tolist() == reference_composite(per_service)
    # One service is its own composite; order of services does not matter.
    assert composite_states(arrays[:1]).tolist() == per_service[0]
    assert composite_states(arrays[::-1]).tolist() == got.tolist()
    # A customer is never more up than its worst service.
    counts = count_states(got)
    for s in arrays:
        assert counts["down"] >= int(np.count_nonzero((s == DOWN) & (got != EXCLUDED)))
