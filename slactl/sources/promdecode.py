"""Reading Prometheus API answers: JSON bodies, and ``values`` arrays straight into numpy.

A month of a few hundred series is millions of points; building a Python object
per point (and letting the garbage collector scan them) would cost more than the
network.  Bodies are decoded with msgspec, keeping each series' ``values`` raw,
and the raw bytes are read by numpy.
"""

from __future__ import annotations

import msgspec
import numpy as np


class _RangeSeries(msgspec.Struct):
    metric: dict[str, str] = {}
    # Kept raw: parsed straight into numpy, so a month of points never exists as
    # millions of small Python objects (which the garbage collector would scan).
    values: msgspec.Raw = msgspec.Raw(b"[]")


class _RangeData(msgspec.Struct):
    result: list[_RangeSeries] = []


class _Body(msgspec.Struct):
    status: str = ""
    error: str = ""
    errorType: str = ""
    data: msgspec.Raw = msgspec.Raw(b"null")
    warnings: list[str] = []
    isPartial: bool = False


decode_body = msgspec.json.Decoder(_Body).decode
decode_range = msgspec.json.Decoder(_RangeData).decode
decode_any = msgspec.json.Decoder().decode


def points_slow(raw: msgspec.Raw) -> np.ndarray:
    """``[[t, "v"], ...]`` as an (n, 2) float array; "NaN" and "+Inf" parse too."""
    flat = bytes(raw).translate(None, b'[]"')
    if not flat.strip():
        return np.empty((0, 2))
    values = np.fromstring(flat, dtype=np.float64, sep=",")  # text mode: C parsing, NaN/Inf included
    if values.size % 2:
        raise ValueError("odd number of numbers in a values array")
    return values.reshape(-1, 2)


def minutes_values(raw: msgspec.Raw) -> tuple[np.ndarray, np.ndarray]:
    """Epoch minute and value of each point of a ``values`` array.

    Most answers are integers (counter values, 0/1 probes) at timestamps with a
    10-digit integer part; those are read with a few vectorised numpy passes
    over the bytes, exactly (integers below 10^15 are exact in float64).
    Anything else (decimals, NaN, exponents) goes through the general parser.
    """
    fast = fast_points(np.frombuffer(bytes(raw), dtype=np.uint8))
    if fast is not None:
        return fast
    points = points_slow(raw)
    return np.floor(points[:, 0] / 60).astype(np.int64), points[:, 1].copy()


_POW10 = 10 ** np.arange(9, -1, -1, dtype=np.int64)


def fast_points(a: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    quotes = np.flatnonzero(a == 34)  # '"'
    opens = np.flatnonzero(a == 91)[1:] + 1  # after each point's '['
    if quotes.size % 2 or opens.size * 2 != quotes.size:
        return None
    if opens.size == 0:
        return np.empty(0, dtype=np.int64), np.empty(0)
    if opens[-1] + 10 >= a.size:
        return None
    ts = a[opens[:, None] + np.arange(10)].astype(np.int64) - 48
    after = a[opens + 10]
    if ((ts < 0) | (ts > 9)).any() or not ((after == 46) | (after == 44)).all():  # '.' or ','
        return None
    minutes = (ts @ _POW10) // 60
    start, end = quotes[0::2] + 1, quotes[1::2]
    length = end - start
    if length.min() < 1 or length.max() > 15:
        return None
    if length.max() == 1:  # 0/1 probes: one digit each
        digit = a[start].astype(np.int64) - 48
        return (minutes, digit.astype(np.float64)) if ((digit >= 0) & (digit <= 9)).all() else None
    first = np.cumsum(length) - length
    within = np.arange(int(length.sum())) - np.repeat(first, length)
    digits = a[np.repeat(start, length) + within].astype(np.int64) - 48
    if ((digits < 0) | (digits > 9)).any():
        return None
    power = np.repeat(length, length) - 1 - within
    values = np.add.reduceat(digits * 10.0**power, first)
    return minutes, values
