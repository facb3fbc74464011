"""Reading ``values`` arrays: the vectorised path must agree with the general parser exactly."""

from __future__ import annotations

import json

import msgspec
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from slactl.sources.promdecode import fast_points, minutes_values, points_slow

timestamps = st.one_of(
    st.integers(1_000_000_000, 9_999_999_999).map(lambda s: f"{s}.999"),
    st.integers(1_000_000_000, 9_999_999_999).map(str),
    st.integers(0, 999_999_999).map(lambda s: f"{s}.5"),  # a short integer part: general path
)
values = st.one_of(
    st.integers(0, 9).map(str),
    st.integers(0, 10**15 - 1).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(lambda f: "NaN" if f != f else repr(f).replace("inf", "Inf")),
    st.sampled_from(["0.5", "-3", "1e3", "+Inf", "-Inf", "NaN", "0.1"]),
)


@settings(deadline=None, max_examples=200)
@given(st.lists(st.tuples(timestamps, values), max_size=40))
def test_fast_and_general_reading_agree(points):
    text = "[" + ",".join(f'[{t},{json.dumps(v)}]' for t, v in points) + "]"
    raw = msgspec.Raw(text.encode())
    minutes, vals = minutes_values(raw)
    ref = points_slow(raw)
    np.testing.assert_array_equal(minutes, np.floor(ref[:, 0] / 60).astype(np.int64))
    np.testing.assert_array_equal(vals, ref[:, 1])


def test_the_common_answers_take_the_fast_path():
    for v in ('"1"', '"0"', '"123456789012345"'):
        raw = f"[[1767225659.999,{v}],[1767225719.999,{v}]]".encode()
        assert fast_points(raw) is not None


@settings(deadline=None, max_examples=200)
@given(
    st.integers(28_000_000, 28_999_000),
    st.lists(st.booleans(), min_size=1, max_size=30),
    st.lists(values, min_size=30, max_size=30),
)
def test_a_request_known_by_its_steps_reads_the_same(first, present, vals):
    """Told the request's first minute and steps, a reader skips the timestamps of a full answer only."""
    points = [(f"{(first + i) * 60 + 59}.999", vals[i]) for i, p in enumerate(present) if p]
    raw = msgspec.Raw(("[" + ",".join(f"[{t},{json.dumps(v)}]" for t, v in points) + "]").encode())
    minutes, got = minutes_values(raw, first, len(present))
    ref = points_slow(raw)
    np.testing.assert_array_equal(minutes, np.floor(ref[:, 0] / 60).astype(np.int64))
    np.testing.assert_array_equal(got, ref[:, 1])
