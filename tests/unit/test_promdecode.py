"""Reading Prometheus answers: whichever fast path the decoder takes, it must give what a plain JSON decode gives."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slactl.sources.prometheus import matrix
from slactl.sources.prometheus.matrix import _block, _series, decode_instant, decode_range

timestamps = st.one_of(
    st.integers(1_000_000_000, 9_999_999_999).map(lambda s: f"{s}.999"),
    st.integers(1_000_000_000, 9_999_999_999).map(str),
    st.integers(0, 999_999_999).map(lambda s: f"{s}.5"),  # a short integer part: general path
)
values = st.one_of(
    st.integers(0, 9).map(str),
    st.integers(0, 10**15 - 1).map(str),
    st.integers(-(10**20), 10**20).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(lambda f: "NaN" if f != f else repr(f).replace("inf", "Inf")),
    st.sampled_from(["0.5", "-3", "1e3", "+Inf", "-Inf", "NaN", "0.1"]),
)
label_values = st.text(alphabet='ab"[],{}\\é', max_size=6)


def _answer(series: list[tuple[dict[str, str], list[tuple[str, str]]]], head: str = "", tail: str = "") -> bytes:
    """A query_range body as Prometheus writes it (labels may hold quotes and brackets)."""
    result = ",".join(
        '{"metric":'
        + json.dumps(labels, separators=(",", ":"))
        + ',"values":['
        + ",".join(f"[{t},{json.dumps(v)}]" for t, v in points)
        + "]}"
        for labels, points in series
    )
    return ('{"status":"success",' + head + '"data":{"resultType":"matrix","result":[' + result + "]}" + tail + "}").encode()


def _plain(body: bytes, first: int, steps: int) -> list[tuple[dict[str, str], np.ndarray]]:
    """The reference: ``json.loads`` and ``float``, point by point."""
    out = []
    for s in json.loads(body)["data"]["result"]:
        dense = np.full(steps, np.nan)
        for t, v in s["values"]:
            i = math.floor(float(t) / 60) - first
            if 0 <= i < steps:
                dense[i] = float(v)
        out.append((s["metric"], dense))
    return out


def _same(body: bytes, first: int, steps: int) -> matrix.Answer[matrix.Steps]:
    got = decode_range(body, first, steps)
    want = _plain(body, first, steps)
    assert got.status == "success" and len(got.result) == len(want)
    for (labels, vals), (want_labels, want_vals) in zip(got.result, want, strict=True):
        assert labels == want_labels
        np.testing.assert_array_equal(vals, want_vals)
    return got


@settings(deadline=None, max_examples=200)
@given(st.integers(28_000_000, 28_999_000), st.lists(st.tuples(timestamps, values), max_size=40))
def test_any_series_reads_as_json_reads_it(first, points):
    """Timestamps anywhere (most outside the request), values of any kind: the series reader."""
    _same(_answer([({"job": "a"}, points)]), first, 40)


@settings(deadline=None, max_examples=200)
@given(
    st.integers(28_000_000, 28_999_000),
    st.lists(st.booleans(), min_size=1, max_size=30),
    st.lists(values, min_size=30, max_size=30),
)
def test_a_series_with_gaps_reads_as_json_reads_it(first, present, vals):
    points = [(f"{(first + i) * 60 + 59}.999", vals[i]) for i, p in enumerate(present) if p]
    _same(_answer([({}, points)]), first, len(present))


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
    st.sampled_from(["", '"isPartial":false,']),
)
def test_a_whole_answer_reads_as_json_reads_it(first, steps, spec, head):
    """Series the whole-answer reader takes and series it declines, in either layout, side by side."""
    series = []
    for labels, present, vals, frac in spec:
        keep = [True] * steps if present is None else present[:steps]
        series.append((labels, [(f"{(first + i) * 60 + 59}{frac}", vals[i]) for i in range(steps) if keep[i]]))
    _same(_answer(series, head), first, steps)


def test_the_usual_answer_takes_the_whole_answer_path(monkeypatch):
    """Values at every step skip the series reader: integers of any length, a few decimals, NaN and Inf."""
    first, steps = 29_000_000, 50
    vals = ["0", "7", "12345678", "123456789", "999999999999999", "1000000000000000", "0.75", "NaN", "+Inf", "-1e-3"]
    series = [
        ({"i": str(k)}, [(f"{(first + i) * 60 + 59}.999", v if i % 7 == 3 else "1") for i in range(steps)])
        for k, v in enumerate([*vals, "x1", "--1", "."])
    ]
    body = _answer(series)
    seen = []
    read_series = _series.read_series
    monkeypatch.setattr(matrix, "read_series", lambda raw, a, n: seen.append(bytes(raw)) or read_series(raw, a, n))
    got = decode_range(body[: body.index(b',{"metric":{"i":"10"}')] + b"]}}", first, steps)
    assert seen == []
    np.testing.assert_array_equal([v[3] for _, v in got.result], [float(v) for v in vals])
    for k in (10, 11, 12):  # not a number: the series reader, which refuses it
        one = _answer([series[k]])
        with pytest.raises(ValueError):
            decode_range(one, first, steps)
        assert len(seen) == k - 9


def test_integer_points_with_gaps_are_read_without_json_objects(monkeypatch):
    first = 29_000_000
    points = [(f"{(first + i) * 60 + 59}.999", str(i)) for i in range(0, 60, 3)]
    monkeypatch.setattr(_series, "_decode_points", None)  # would fail if called
    _same(_answer([({}, points)]), first, 60)
    assert _series._integer_points(b'[[1767225659.999,"1"],[1767225719.999,"123456789012345"]]', 0, 1) is not None


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
def test_labels_and_warnings_are_what_json_finds(series, tail):
    """Series found by Prometheus' layout give the labels and warnings a whole decode finds."""
    body = _answer(series, tail=tail)
    got = _same(body, 28_000_000, 5)
    assert got.warnings == json.loads(body).get("warnings", [])


def test_other_layouts_are_decoded_whole():
    bodies = (
        b'{"status":"success","isPartial":false,"data":{"resultType":"matrix","result":[]}}',
        b'{"status": "success", "data": {"resultType": "matrix", "result": []}}',
        b'{"status":"success","data":{"resultType":"matrix","result":[{"values":[],"metric":{}}]}}',
    )
    for body in bodies:
        assert matrix._body._split(body) is None
        assert decode_range(body, 0, 1).status == "success"
    with pytest.raises(ValueError):
        decode_range(b'{"status":"success","data":{"resultType":"matrix","result":[{"metric":{}},"values":[]}]}}', 0, 1)


def test_a_broken_point_is_refused_whichever_path_reads_it():
    first = 29_000_000
    good = ",".join(f'[{(first + i) * 60 + 59}.999,"{i}"]' for i in range(3))
    last = f"{(first + 3) * 60 + 59}.999"
    broken = (
        f"[{good},[1,2,3]]",
        f'[{good},[{last},"4"x]]',
        f'[{good}x[{last},"4"]]',
        f'[{good},[{last}"4"]]',
        f'[{good},[{last},"four"]]',
        f'[{good},[{last},"4",5]]',
        f'[{good},[{last}]]',
    )
    for values in broken:
        body = b'{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":' + values.encode() + b"}]}}"
        with pytest.raises(ValueError):
            decode_range(body, first, 4)


def test_a_refusal_has_its_error_and_no_series():
    body = b'{"status":"error","errorType":"bad_data","error":"parse error"}'
    got = decode_range(body, 0, 5)
    assert (got.status, got.error_type, got.error, got.result) == ("error", "bad_data", "parse error", [])
    assert decode_instant(body).error == "parse error"


def test_instant_answers_read_as_json_reads_them():
    vector = b'{"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":"1"},"value":[1.5,"+Inf"]}]}}'
    assert decode_instant(vector).result == [({"a": "1"}, [math.inf])]
    matrix_body = b'{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"2"],[2,"NaN"]]}]}}'
    (labels, vals), = decode_instant(matrix_body).result
    assert labels == {} and vals[0] == 2.0 and math.isnan(vals[1])
    scalar = b'{"status":"success","data":{"resultType":"scalar","result":[1.5,"3"]}}'
    assert decode_instant(scalar).result == [({}, [3.0])]
    partial = b'{"status":"success","isPartial":true,"warnings":["w"],"data":{"resultType":"vector","result":[]}}'
    assert (decode_instant(partial).partial, decode_instant(partial).warnings) == (True, ["w"])
    for bad in (b"<html>", b'{"status":"success","data":{"resultType":"vector","result":[{"metric":{}}]}}'):
        with pytest.raises(ValueError):
            decode_instant(bad)


def test_the_block_reader_declines_what_it_cannot_check():
    """Values that are not views into the body are left to the series reader, not guessed at."""
    assert _block.read_block(b"[]", [b'[[1,"1"]]'], 0, 1) == [None]
