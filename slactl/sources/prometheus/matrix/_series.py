"""Reading one series' ``values`` that the whole-answer reader declined, into a value per step.

Such series are few (gaps after a restart or a scrape outage, decimals from a
probe averaged over several samples, NaN, another timestamp layout), but a
gappy counter still holds ten thousand points a request.  Its JSON is checked
by msgspec first.  When every point is ``[10-digit timestamp, "integer"]``,
numpy reads the points' bytes in a few vectorised passes, five times faster
than building them as objects; anything else is decoded by msgspec as
``[[number, "string"], ...]``, which checks every point's shape, and its
values are parsed as Python's ``float`` parses them (``NaN``, ``+Inf``).
"""

from __future__ import annotations

import msgspec
import numpy as np

_decode_points = msgspec.json.Decoder(list[tuple[float, str]]).decode
_check_json = msgspec.json.Decoder(msgspec.Raw).decode
_POW10 = 10 ** np.arange(14, -1, -1, dtype=np.int64)


def read_series(raw: msgspec.Raw, first: int, steps: int) -> np.ndarray:
    """The series' value at each of ``steps`` minutes from ``first``; NaN where it has none.

    Points outside the request's minutes are dropped.  Raises ValueError when
    ``raw`` is not a ``values`` array.
    """
    _check_json(raw)
    buf = bytes(raw)
    read = _integer_points(buf, first, steps)
    if read is None:
        points = _decode_points(buf)
        times = np.fromiter((t for t, _ in points), np.float64, len(points))
        minutes = np.floor(times / 60).astype(np.int64)
        values = np.array([v for _, v in points], dtype=np.float64)  # as float() reads them: NaN, +Inf
    else:
        minutes, values = read
    out = np.full(steps, np.nan)
    idx = minutes - first
    ok = (idx >= 0) & (idx < steps)
    out[idx[ok]] = values[ok]
    return out


def _every_step(buf: bytes, n: int, first: int, steps: int) -> np.ndarray | None:
    """The minutes of an answer that has a point at every step, checked by its ends; else None.

    Prometheus answers each step at most once, in order, so ``steps`` points
    whose first and last fall on the first and last step are all the steps.
    """
    if n != steps or buf.count(b"[") != n + 1:
        return None
    p0, p1 = 2, buf.rfind(b"[") + 1
    h0, h1 = buf[p0 : p0 + 10], buf[p1 : p1 + 10]
    seps = (b".", b",")
    if not (h0.isdigit() and h1.isdigit() and buf[p0 + 10 : p0 + 11] in seps and buf[p1 + 10 : p1 + 11] in seps):
        return None
    if int(h0) // 60 != first or int(h1) // 60 != first + steps - 1:
        return None
    return np.arange(first, first + steps, dtype=np.int64)


def _integer_points(buf: bytes, first: int, steps: int) -> tuple[np.ndarray, np.ndarray] | None:
    """Minute and value of each point of ``[[t,"v"],...]`` when every point is ten-digit time and integer; else None."""
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
    if not ((a[start - 2] == 44) & (a[end + 1] == 93)).all():  # each value is ,"…"] (msgspec checked the rest)
        return None
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
