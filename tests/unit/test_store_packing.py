"""Packing a day of minutes: exact round trips, the narrow forms, old rows, corrupt rows, batches."""

from __future__ import annotations

import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from slactl.errors import StoreError
from slactl.store import write
from slactl.store.days import (
    CHUNK_BYTES,
    CONSTANT,
    DAY,
    NARROW,
    _decode,
    day_values,
    pack_day,
    pack_days,
    unpack_day,
)

RNG = np.random.default_rng(20260105)
PHASE = 2 * np.pi * np.arange(DAY) / DAY
NAN_BITS = b"\x01\x00\x00\x00\x00\x00\xf8\xff"  # a NaN with the sign bit and a payload


def same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == np.float64 and a.shape == (DAY,) and a.tobytes() == b.tobytes()


def round_trips(arr: np.ndarray) -> bytes:
    packed = pack_day(arr)
    assert len(packed) <= CHUNK_BYTES
    assert same(unpack_day(packed), np.asarray(arr, dtype=np.float64))
    return packed


def with_at(base: np.ndarray, where: int | slice, value: float) -> np.ndarray:
    out = base.astype(np.float64)
    out[where] = value
    return out


WHOLE = {
    "ones": np.ones(DAY),
    "zeros": np.zeros(DAY),
    "negative constant": np.full(DAY, -7.0),
    "top of exact floats": np.full(DAY, 2.0**53),
    "bottom of exact floats": np.full(DAY, -(2.0**53)),
    "poisson 500": RNG.poisson(500, DAY).astype(float),
    "poisson 60": RNG.poisson(60, DAY).astype(float),
    "diurnal 300-700": RNG.poisson(500 + 200 * np.sin(PHASE)).astype(float),
    "probe sums": np.where(RNG.random(DAY) < 0.01, 1.0, 2.0),
    "has_data with a gap": with_at(np.ones(DAY), slice(100, 130), 0.0),
    "negative counts": RNG.integers(-1000, 1000, DAY).astype(float),
    "span 255": with_at(np.zeros(DAY), 5, 255.0),
    "span 256": with_at(np.zeros(DAY), 5, 256.0),
    "span 65535": with_at(np.zeros(DAY), 5, 65535.0),
    "span 65536": with_at(np.zeros(DAY), 5, 65536.0),
    "span 2**32 - 1": with_at(np.full(DAY, -5.0), 5, 2.0**32 - 6),
    "wide noise": RNG.integers(0, 2**32 - 1, DAY).astype(float),
    "near 2**53": 2.0**53 - RNG.integers(0, 5000, DAY).astype(float),
    "near -2**53": -(2.0**53) + RNG.integers(0, 5000, DAY).astype(float),
}

FLOATS = {
    "-0.0 alone": np.full(DAY, -0.0),
    "-0.0 among zeros": with_at(np.zeros(DAY), 700, -0.0),
    "-0.0 among counts": with_at(RNG.poisson(5, DAY), 3, -0.0),
    "NaN": np.full(DAY, np.nan),
    "a NaN among counts": with_at(RNG.poisson(500, DAY), 9, np.nan),
    "a negative NaN payload": with_at(np.ones(DAY), 1, np.frombuffer(NAN_BITS, "<f8")[0]),
    "inf": with_at(np.ones(DAY), 0, np.inf),
    "-inf": with_at(np.ones(DAY), 0, -np.inf),
    "a fraction": with_at(np.ones(DAY), 1439, 1.5),
    "all fractions": RNG.random(DAY),
    "beyond 2**53": np.full(DAY, 2.0**53 + 2),
    "below -2**53": np.full(DAY, -(2.0**53) - 2),
    "span 2**32": with_at(np.zeros(DAY), 5, 2.0**32),
    "huge": with_at(np.zeros(DAY), 5, 1e300),
    "subnormal": with_at(np.zeros(DAY), 5, 5e-324),
}


@pytest.mark.parametrize("name", WHOLE)
def test_whole_number_days_take_a_narrow_form_and_come_back_exactly(name):
    packed = round_trips(WHOLE[name])
    assert packed[0] in NARROW
    assert len(packed) <= 9 + 4 * DAY


@pytest.mark.parametrize("name", FLOATS)
def test_other_days_keep_the_float_form_and_come_back_bit_for_bit(name):
    packed = round_trips(FLOATS[name])
    assert packed[0] not in NARROW  # -0.0 == 0.0, but it must not come back as 0.0
    assert len(packed) == CHUNK_BYTES or len(zlib.decompress(packed)) == CHUNK_BYTES


def test_rows_are_small():
    assert pack_day(np.ones(DAY)) == bytes([CONSTANT]) + (1).to_bytes(8, "little")
    assert len(pack_day(np.zeros(DAY))) == 9
    assert len(pack_day(WHOLE["probe sums"])) < 120
    assert len(pack_day(WHOLE["has_data with a gap"])) < 60
    assert len(pack_day(WHOLE["poisson 60"])) < 1100  # 6-bit noise: deflated
    # near 8-bit noise: raw bytes, not deflated
    assert len(pack_day(WHOLE["poisson 500"])) == 9 + DAY
    # the low plane raw, the top one deflated
    diurnal = pack_day(WHOLE["diurnal 300-700"])
    assert diurnal[0] == 0x22 and len(diurnal) < 9 + DAY + 200
    assert len(pack_day(WHOLE["span 65536"])) < 100


def test_no_narrow_first_byte_can_start_a_zlib_stream():
    assert all(b & 0x0F != 8 for b in NARROW)
    for level in range(10):
        assert zlib.compress(RNG.random(DAY).tobytes(), level)[0] not in NARROW


OLD = [WHOLE["poisson 500"], WHOLE["probe sums"], np.ones(DAY), RNG.random(DAY)]


@pytest.mark.parametrize("arr", OLD)
@pytest.mark.parametrize("level", [1, 6, 9])
def test_rows_of_older_stores_read_as_before(arr, level):
    raw = arr.astype("<f8").tobytes()
    assert same(unpack_day(raw), arr)
    assert same(unpack_day(zlib.compress(raw, level)), arr)
    assert same(day_values(zlib.compress(raw, level), "api", 0), arr)


def corrupt_rows() -> dict[str, bytes]:
    deflated = pack_day(WHOLE["poisson 60"])
    raw_plane = pack_day(WHOLE["poisson 500"])
    two = pack_day(WHOLE["diurnal 300-700"])
    assert deflated[0] == 0x21 and raw_plane[0] == 0x11 and two[0] == 0x22
    return {
        "empty": b"",
        "zeros": b"\x00" * 13,
        "three bytes": b"\x01\x02\x03",
        "unknown first byte": bytes([0x13]) + raw_plane[1:],
        "more planes deflated than there are": bytes([0x31]) + deflated[1:],
        "width 0 but not constant": bytes([0x20]) + b"\x00" * 8,
        "short head": bytes([CONSTANT, 1, 0]),
        "constant with a tail": pack_day(np.ones(DAY)) + b"\x00",
        "constant beyond 2**53": bytes([CONSTANT]) + (2**53 + 1).to_bytes(8, "little"),
        "raw plane cut": raw_plane[:-1],
        "raw plane too long": raw_plane + b"\x00",
        "deflated plane cut": deflated[:-3],
        "deflated plane with a tail": deflated + b"\x00",
        "deflated plane garbled": deflated[:20] + bytes(b ^ 0x55 for b in deflated[20:]),
        "raw part of two planes cut": two[: 9 + DAY - 1],
        "float zlib cut": zlib.compress(RNG.random(DAY).tobytes(), 1)[:-5],
        "float zlib of a short day": zlib.compress(np.ones(DAY - 1).tobytes(), 1),
        "raw day one byte short": np.ones(DAY).tobytes()[:-1],
    }


@pytest.mark.parametrize("name", corrupt_rows())
def test_a_corrupt_row_is_a_store_error_naming_the_repair(name):
    data = corrupt_rows()[name]
    problem = _decode(data)
    assert isinstance(problem, str) and problem.startswith(f"{len(data)} bytes")
    with pytest.raises(StoreError, match="a stored day of minutes is corrupt"):
        unpack_day(data)
    with pytest.raises(StoreError) as err:
        day_values(data, "api", 29_459_520)
    assert problem in str(err.value)
    assert "slactl store forget --service api --month 2026-01" in str(err.value)


def test_pack_days_is_pack_day_of_each_and_refuses_other_lengths():
    days = [*WHOLE.values(), *FLOATS.values()] * 3
    assert pack_days(days) == [pack_day(a) for a in days]
    assert pack_days([]) == []
    assert pack_day(np.ones(DAY, dtype=bool)) == pack_day(np.ones(DAY))
    with pytest.raises(ValueError):
        pack_day(np.ones(DAY - 1))
    with pytest.raises(ValueError):
        pack_days([np.ones(DAY), np.ones(DAY + 1)])


def test_pack_all_on_two_threads_is_pack_day_of_each(monkeypatch):
    monkeypatch.setattr(write.os, "cpu_count", lambda: 2)
    kinds = [*WHOLE.values(), *FLOATS.values()]
    days = []
    for i in range(write.PARALLEL_PACK + 57):
        arr = kinds[i % len(kinds)].copy()
        arr[i % DAY] = i % 7  # every day its own
        days.append(arr)
    assert write._pack_all(days) == [pack_day(a) for a in days]


def whole_days() -> st.SearchStrategy[np.ndarray]:
    """Whole-number days: a base anywhere in the exact range, offsets of every width, runs and noise."""

    @st.composite
    def build(draw: st.DrawFn) -> np.ndarray:
        top = draw(st.sampled_from([0, 1, 2, 63, 255, 256, 5000, 65535, 65536, 2**32 - 1, 2**32]))
        base = draw(st.integers(-(2**53), 2**53 - top))
        seed = draw(st.integers(0, 2**32 - 1))
        rng = np.random.default_rng(seed)
        offsets = rng.integers(0, top, DAY, endpoint=True)
        offsets[rng.random(DAY) < draw(st.sampled_from([0.0, 0.5, 0.99]))] = 0  # runs
        return (base + offsets).astype(np.float64)

    return build()


special = st.sampled_from([-0.0, 0.5, np.nan, np.inf, -np.inf, 2.0**60, -1e-300, 3.0])


@settings(max_examples=150, deadline=None)
@given(whole_days(), st.lists(st.tuples(st.integers(0, DAY - 1), special), max_size=3))
def test_whole_days_with_anything_mixed_in_round_trip(arr, mixed):
    for where, value in mixed:
        arr[where] = value
    packed = round_trips(arr)
    if not mixed:
        assert packed[0] in NARROW or np.ptp(arr) >= 2**32
    assert pack_days([arr, arr[::-1]]) == [packed, pack_day(arr[::-1])]


ANY_FLOAT = st.floats(allow_nan=True, allow_infinity=True, allow_subnormal=True)


@settings(max_examples=100, deadline=None)
@given(arrays(np.float64, DAY, elements=ANY_FLOAT))
def test_any_floats_round_trip(arr):
    round_trips(arr)


@settings(max_examples=100, deadline=None)
@given(arrays(np.float64, DAY, elements=st.sampled_from([0.0, -0.0, 1.0, 2.0, np.nan])))
def test_few_distinct_values_round_trip(arr):
    packed = round_trips(arr)
    assert (packed[0] in NARROW) == (not np.isnan(arr).any() and not np.signbit(arr).any())
