"""Reading Prometheus API answers: JSON bodies, and ``values`` arrays straight into numpy.

A month of a few hundred series is millions of points; building a Python object
per point (and letting the garbage collector scan them) would cost more than the
network.  Bodies are decoded with msgspec, keeping each series' ``values`` raw,
and the raw bytes are read by numpy.
"""

from __future__ import annotations

import msgspec
import numpy as np


class RangeSeries(msgspec.Struct):
    metric: dict[str, str] = {}
    # Kept raw: parsed straight into numpy, so a month of points never exists as
    # millions of small Python objects (which the garbage collector would scan).
    values: msgspec.Raw = msgspec.Raw(b"[]")


class RangeData(msgspec.Struct):
    result: list[RangeSeries] = []


class _Body(msgspec.Struct):
    status: str = ""
    error: str = ""
    errorType: str = ""
    data: msgspec.Raw = msgspec.Raw(b"null")
    warnings: list[str] = []
    isPartial: bool = False


class _RangeBody(msgspec.Struct):
    """A ``query_range`` answer read in one pass (a month of series is gigabytes of JSON)."""

    status: str = ""
    error: str = ""
    errorType: str = ""
    data: RangeData | None = None
    warnings: list[str] = []
    isPartial: bool = False


decode_body = msgspec.json.Decoder(_Body).decode
decode_range_body = msgspec.json.Decoder(_RangeBody).decode
decode_any = msgspec.json.Decoder().decode
_decode_labels = msgspec.json.Decoder(dict[str, str]).decode

# Prometheus (and Thanos, Mimir) write a range answer in this layout.  Between
# ``{"metric":`` and ``},"values":[`` lies one object of strings, and neither
# sequence can occur inside a JSON string (its quotes would be escaped).
_PREFIX = b'{"status":"success","data":{"resultType":"matrix","result":['
_METRIC = b'{"metric":'
_VALUES = b'},"values":['


def split_range_body(body: bytes) -> _RangeBody | None:
    """A ``query_range`` answer in Prometheus' own layout, its series found without reading their points.

    msgspec reading every byte of a gigabyte of points cost more than
    everything else done with them; here only the labels and the envelope
    around the result are decoded, and each series' ``values`` is left a view
    into ``body`` for :func:`~slactl.sources.prometheus.matrix.whole.read_matrix`, which
    checks each point's shape as it reads it (and has msgspec check any
    series it does not read itself).  Any other layout gives None: the caller
    decodes the body whole.
    """
    if not body.startswith(_PREFIX):
        return None
    view = memoryview(body)
    pos = len(_PREFIX)
    series: list[RangeSeries] = []
    more = body[pos : pos + 1] != b"]"
    while more:
        if not body.startswith(_METRIC, pos):
            return None
        labels_end = body.find(_VALUES, pos)
        if labels_end < 0:
            return None
        try:
            labels = _decode_labels(view[pos + len(_METRIC) : labels_end + 1])
        except (msgspec.DecodeError, msgspec.ValidationError):
            return None
        start = labels_end + len(_VALUES) - 1  # the values' '['
        end = body.find(b"}", start)  # no point holds a brace: memchr finds the series' end at once
        if end < 0 or not (end == start + 2 and body[start:end] == b"[]" or end > start + 2 and body[end - 2 : end] == b"]]"):
            return None
        series.append(RangeSeries(labels, msgspec.Raw(view[start:end])))
        pos = end + 1
        more = body[pos : pos + 1] == b","
        pos += more
    try:
        envelope = decode_range_body(body[: len(_PREFIX)] + body[pos:])  # the answer without its series
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    if envelope.data is None:
        return None
    envelope.data.result = series
    return envelope


def points_slow(raw: msgspec.Raw) -> np.ndarray:
    """``[[t, "v"], ...]`` as an (n, 2) float array; "NaN" and "+Inf" parse too."""
    flat = bytes(raw).translate(None, b'[]"')
    if not flat.strip():
        return np.empty((0, 2))
    values = np.fromstring(flat, dtype=np.float64, sep=",")  # text mode: C parsing, NaN/Inf included
    if values.size % 2:
        raise ValueError("odd number of numbers in a values array")
    return values.reshape(-1, 2)


def minutes_values(
    raw: msgspec.Raw, first: int | None = None, steps: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Epoch minute and value of each point of a ``values`` array.

    Most answers are integers (counter values, 0/1 probes) at timestamps with a
    10-digit integer part; those are read with a few vectorised numpy passes
    over the bytes, exactly (integers below 10^15 are exact in float64).
    ``first`` and ``steps`` describe the request (its first minute, its number
    of one-minute steps): a series that answered every step then needs no
    timestamp read but its first and last.  Anything else (decimals, NaN,
    exponents) goes through the general parser.
    """
    buf = bytes(raw)
    fast = fast_points(buf, first, steps)
    if fast is not None:
        return fast
    points = points_slow(raw)
    return np.floor(points[:, 0] / 60).astype(np.int64), points[:, 1].copy()


_POW10 = 10 ** np.arange(14, -1, -1, dtype=np.int64)


def _every_step(buf: bytes, n: int, first: int | None, steps: int | None) -> np.ndarray | None:
    """The minutes of an answer that has a point at every step, checked by its ends; else None.

    Prometheus answers each step at most once, in order, so ``steps`` points
    whose first and last fall on the first and last step are all the steps.
    """
    if first is None or n != steps or buf.count(b"[") != n + 1:
        return None
    p0, p1 = 2, buf.rfind(b"[") + 1
    h0, h1 = buf[p0 : p0 + 10], buf[p1 : p1 + 10]
    seps = (b".", b",")
    if not (h0.isdigit() and h1.isdigit() and buf[p0 + 10 : p0 + 11] in seps and buf[p1 + 10 : p1 + 11] in seps):
        return None
    if int(h0) // 60 != first or int(h1) // 60 != first + steps - 1:
        return None
    return np.arange(first, first + steps, dtype=np.int64)


def fast_points(buf: bytes, first: int | None = None, steps: int | None = None) -> tuple[np.ndarray, np.ndarray] | None:
    """``[[t,"v"],...]`` read by numpy when every point has the usual shape; None otherwise."""
    a = np.frombuffer(buf, dtype=np.uint8)
    quotes = np.flatnonzero(a == 34)  # '"'
    if quotes.size % 2:
        return None
    n = quotes.size // 2
    if n == 0:
        return (np.empty(0, dtype=np.int64), np.empty(0)) if buf.count(b"[") <= 1 else None
    minutes = _every_step(buf, n, first, steps)
    if minutes is None:
        opens = np.flatnonzero(a == 91)[1:] + 1  # after each point's '['
        if opens.size != n or opens[-1] + 10 >= a.size:
            return None
        ts = a[opens[:, None] + np.arange(10)].astype(np.int64) - 48
        after = a[opens + 10]
        if ((ts < 0) | (ts > 9)).any() or not ((after == 46) | (after == 44)).all():  # '.' or ','
            return None
        minutes = (ts @ _POW10[-10:]) // 60
    start, end = quotes[0::2] + 1, quotes[1::2]
    length = end - start
    width = int(length.max())
    if length.min() < 1 or width > 15:
        return None
    if width == 1:  # 0/1 probes: one digit each
        digit = a[start].astype(np.int64) - 48
        return (minutes, digit.astype(np.float64)) if ((digit >= 0) & (digit <= 9)).all() else None
    # Right-aligned digits, one row per point, zeros to the left of shorter numbers.
    back = np.arange(width - 1, -1, -1)  # distance before the closing quote
    raw = a[np.maximum(end[:, None] - 1 - back, 0)]
    digits = np.where(back < length[:, None], raw, 48).astype(np.int64) - 48
    if ((digits < 0) | (digits > 9)).any():
        return None
    return minutes, (digits @ _POW10[-width:]).astype(np.float64)
