"""Reading ``values`` arrays: the vectorised path must agree with the general parser exactly."""

from __future__ import annotations

import json

import msgspec
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slactl.sources.prometheus.matrix.decode import (
    decode_range_body,
    fast_points,
    minutes_values,
    points_slow,
    split_range_body,
)
from slactl.sources.prometheus.matrix.whole import read_matrix

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


def _answer(series: list[tuple[dict[str, str], list[tuple[str, str]]]]) -> bytes:
    """A query_range body as Prometheus writes it (labels may hold quotes and brackets)."""
    result = ",".join(
        '{"metric":'
        + json.dumps(labels, separators=(",", ":"))
        + ',"values":['
        + ",".join(f"[{t},{json.dumps(v)}]" for t, v in points)
        + "]}"
        for labels, points in series
    )
    return (
        '{"status":"success","data":{"resultType":"matrix","result":[' + result + "]}}"
    ).encode()


label_values = st.text(alphabet='ab"[],{}\\é', max_size=6)


@settings(deadline=None, max_examples=200)
@given(
    st.integers(28_000_000, 28_999_000),
    st.integers(1, 12),
    st.lists(
        st.tuples(
            st.dictionaries(st.sampled_from(["job", "le", "x"]), label_values, max_size=3),
            st.one_of(st.just(None), st.lists(st.booleans(), min_size=12, max_size=12)),
            st.lists(values, min_size=12, max_size=12),
            st.sampled_from([".999", "", ".5"]),
        ),
        max_size=8,
    ),
)
def test_a_whole_answer_reads_as_each_series_alone(first, steps, spec):
    """The whole-body reader gives, series by series, what the one-series reader gives."""
    series = []
    for labels, present, vals, frac in spec:
        keep = [True] * steps if present is None else present[:steps]
        points = [(f"{(first + i) * 60 + 59}{frac}", vals[i]) for i in range(steps) if keep[i]]
        series.append((labels, points))
    body = _answer(series)
    result = decode_range_body(body).data.result
    got = read_matrix(body, result, first, steps)
    split = split_range_body(body)
    assert split is not None
    for (m1, v1), (m2, v2) in zip(read_matrix(body, split.data.result, first, steps), got, strict=True):
        assert (m1 is None) == (m2 is None) and (m1 is None or np.array_equal(m1, m2))
        np.testing.assert_array_equal(v1, v2)
    assert len(got) == len(result)
    for item, (minutes, vals) in zip(result, got, strict=True):
        want_m, want_v = minutes_values(item.values, first, steps)
        minutes = np.arange(first, first + steps) if minutes is None else minutes
        np.testing.assert_array_equal(minutes, want_m)
        np.testing.assert_array_equal(vals, want_v)


def test_the_usual_answer_takes_the_whole_body_path():
    """Integer values at every step, however long (up to 15 digits), skip the one-series reader."""
    first, steps = 29_000_000, 50
    vals = ["0", "7", "12345678", "123456789", "999999999999999", "1000000000000000"]
    series = [
        ({"i": str(k)}, [(f"{(first + i) * 60 + 59}.999", v) for i in range(steps)])
        for k, v in enumerate(vals)
    ]
    body = _answer(series)
    got = read_matrix(body, decode_range_body(body).data.result, first, steps)
    assert [m is None for m, _ in got] == [True] * 5 + [False]  # 16 digits: the general reader
    for (_, v), want in zip(got, vals, strict=True):
        assert (v == float(want)).all()


@settings(deadline=None, max_examples=150)
@given(
    st.lists(
        st.tuples(
            st.dictionaries(st.text(alphabet='ab"{}[],:\\', min_size=1, max_size=4), label_values, max_size=3),
            st.lists(st.tuples(timestamps, values), max_size=5),
        ),
        max_size=5,
    ),
    st.sampled_from(["", ',"warnings":["w"]', ',"infos":["i"]']),
)
def test_splitting_an_answer_gives_what_decoding_it_whole_gives(series, tail):
    """Series found by the layout give the labels and values msgspec finds reading every byte."""
    body = _answer(series)[:-1] + tail.encode() + b"}"
    whole, split = decode_range_body(body), split_range_body(body)
    assert split is not None
    assert split.warnings == whole.warnings
    assert [s.metric for s in split.data.result] == [s.metric for s in whole.data.result]
    assert [bytes(s.values) for s in split.data.result] == [bytes(s.values) for s in whole.data.result]


def test_other_layouts_are_decoded_whole():
    for body in (
        b'{"status":"success","isPartial":false,"data":{"resultType":"matrix","result":[]}}',
        b'{"status": "success", "data": {"resultType": "matrix", "result": []}}',
        b'{"status":"success","data":{"resultType":"matrix","result":[{"values":[],"metric":{}}]}}',
        b'{"status":"success","data":{"resultType":"matrix","result":[{"metric":{}},"values":[]}]}}',
    ):
        assert split_range_body(body) is None


def test_a_broken_point_in_a_split_answer_is_refused():
    """Points the whole-body reader leaves alone are checked by msgspec before they are read."""
    first = 29_000_000
    good = ",".join(f'[{(first + i) * 60 + 59}.999,"{i}"]' for i in range(3))
    last = f"{(first + 3) * 60 + 59}.999"
    for values in (f"[{good},[1,2,3]]", f'[{good},[{last},"4"x]]', f'[{good}x[{last},"4"]]', f'[{good},[{last}"4"]]'):
        body = b'{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":' + values.encode() + b"}]}}"
        split = split_range_body(body)
        assert split is not None
        with pytest.raises((msgspec.DecodeError, ValueError)):
            read_matrix(body, split.data.result, first, 4)
