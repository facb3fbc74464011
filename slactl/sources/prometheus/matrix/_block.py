"""Reading every series of a ``query_range`` answer at once, in a few numpy passes over its body.

A month of a few thousand series is a hundred million points, and reading
them series by series cost more than Prometheus took to compute them: a dozen
numpy calls per series and an index matrix per point.  Here the whole body is
read together.  Each series' ``values`` is a view into the body (left by
:mod:`._body`, which decodes no point), so the points' quotes are found in one
pass, and each value, a run of digits right before its closing quote, is read
as one or two unaligned little-endian 64-bit words and turned into a number
with a few multiplications (the eight-digits-at-once method of SIMD parsers).
Every point's shape around its value is checked as it is read.

This is the path of the usual answer: values at every requested step with
same-width timestamps.  Integers of up to 15 digits (counters, 0/1 probes) are
read as above; the other values (decimals, NaN, +Inf) are checked by one
regular expression and parsed by numpy.  A series with gaps or another
timestamp layout is declined, and the package reads it with :mod:`._series`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import msgspec
import numpy as np

_ZEROS = np.uint64(0x3030303030303030)  # eight ASCII '0'
_NIBBLE = np.uint64(0xF0F0F0F0F0F0F0F0)
_SIX = np.uint64(0x0606060606060606)
_PAIR = np.uint64(0x000000FF000000FF)
_MUL1 = np.uint64(100 + (1_000_000 << 32))
_MUL2 = np.uint64(1 + (10_000 << 32))
_ALL = np.uint64(0xFFFFFFFFFFFFFFFF)
_MAX_DIGITS = 15  # every integer below 10^15 is exact in float64


def _eight(words: np.ndarray, digits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The numbers in the last ``digits`` (0-8) bytes of each word, and whether those were all digits.

    The bytes before the number are replaced by ASCII zeros first, which leave
    its value alone; then each byte is checked to be '0'-'9'.
    """
    keep = _ALL << ((8 - digits) * 8).astype(np.uint64)  # the number's bytes are the word's high ones
    w = (words & keep) | (_ZEROS & ~keep)
    ok = ((w & _NIBBLE) == _ZEROS) & (((w + _SIX) & _NIBBLE) == _ZEROS)
    w -= _ZEROS
    w = w * np.uint64(10) + (w >> np.uint64(8))
    w = ((w & _PAIR) * _MUL1 + ((w >> np.uint64(16)) & _PAIR) * _MUL2) >> np.uint64(32)
    return w, ok


def _integers(body: bytes, starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each quoted value ``body[starts[i]:ends[i]]`` as a float, and whether it was plain digits."""
    length = ends - starts
    if (length == 1).all():  # 0/1 probes: one digit each
        digit = np.frombuffer(body, dtype=np.uint8)[starts].astype(np.float64) - 48
        return digit, (digit >= 0) & (digit <= 9)
    words = np.ndarray((len(body) - 7,), dtype="<u8", buffer=body, strides=(1,))
    ok = (length >= 1) & (length <= _MAX_DIGITS) & (ends >= 16)
    at = np.where(ok, ends, 16)
    low, good = _eight(words[at - 8], np.minimum(length, 8))
    ok &= good
    values = low.astype(np.float64)
    long = np.flatnonzero(length > 8)
    if long.size:
        high, good = _eight(words[at[long] - 16], np.clip(length[long] - 8, 0, 8))
        ok[long] &= good
        values[long] += high.astype(np.float64) * 1e8
    return values, ok


# How Prometheus writes a value that is not a plain integer (Go's FormatFloat: decimals,
# exponents, NaN, +Inf, -Inf), one a line.
_NUMBER = rb"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?|NaN|[-+]Inf"  # one way to match
_NUMBER_LINES = re.compile(rb"(?:(?:" + _NUMBER + rb")\n)*")


def _numbers(body: bytes, starts: np.ndarray, ends: np.ndarray) -> np.ndarray | None:
    """The values at ``body[starts[i]:ends[i]]`` that are not plain integers, when every one is a number; else None.

    A probe averaged over several samples is 0 or 1 but for a few minutes of
    0.75: those few are checked by one regular expression and parsed by
    numpy, so the series is still read with the rest of the answer.
    """
    texts = [body[s:e] for s, e in zip(starts.tolist(), ends.tolist(), strict=True)]
    if _NUMBER_LINES.fullmatch(b"\n".join(texts) + b"\n") is None:
        return None
    return np.array(texts).astype(np.float64)


def _first_minute(body: bytes, at: int) -> int | None:
    """The epoch minute of a timestamp written at ``body[at:]`` (ten integer digits), or None."""
    head, sep = body[at : at + 10], body[at + 10 : at + 11]
    return int(head) // 60 if head.isdigit() and sep in (b".", b",") else None


_BLOCK_BYTES = 1 << 20  # read about a megabyte of body at a time: temporaries stay small


def read_block(body: bytes, values: Sequence[msgspec.Raw], first: int, steps: int) -> list[np.ndarray | None]:
    """Each series' value at every one of ``steps`` minutes from ``first``; None for a series it declines.

    ``values`` are the series' raw ``values`` arrays, views into ``body``.
    """
    if not values:
        return []
    a = np.frombuffer(body, dtype=np.uint8)
    base = a.ctypes.data
    views = [np.frombuffer(v, dtype=np.uint8) for v in values]
    starts = [v.ctypes.data - base if v.size else 0 for v in views]
    if any(v.size and not 0 <= s < len(body) for v, s in zip(views, starts, strict=True)):
        return [None] * len(values)  # not views into this body: left to the series reader
    out: list[np.ndarray | None] = []
    i = 0
    while i < len(values):
        j, size = i, 0
        while j < len(values) and (j == i or size + views[j].size <= _BLOCK_BYTES):
            size += views[j].size
            j += 1
        seg_start = np.array(starts[i:j], dtype=np.int64)
        seg_end = seg_start + np.array([v.size for v in views[i:j]], dtype=np.int64)
        out += _block(body, a, seg_start, seg_end, first, steps)
        i = j
    return out


def _block(
    body: bytes,
    a: np.ndarray,
    seg_start: np.ndarray,
    seg_end: np.ndarray,
    first: int,
    steps: int,
) -> list[np.ndarray | None]:
    """:func:`read_block` of consecutive series whose values lie in ``body[seg_start[k]:seg_end[k]]``."""
    lo_byte, hi_byte = int(seg_start.min()), int(seg_end.max())
    quotes = np.flatnonzero(a[lo_byte:hi_byte] == 34) + lo_byte  # '"'
    q_lo = np.searchsorted(quotes, seg_start)
    q_hi = np.searchsorted(quotes, seg_end)
    counts = q_hi - q_lo
    # The value quotes of every series, in order (label quotes lie between segments).
    edge = np.zeros(quotes.size + 1, dtype=np.int64)
    np.add.at(edge, q_lo, 1)
    np.add.at(edge, q_hi, -1)
    mine = quotes[np.cumsum(edge[:-1]) > 0]
    if not mine.size or (counts % 2).any():  # no points, or a string that is not a value
        return [None] * len(seg_start)
    opens, closes = mine[0::2], mine[1::2]
    values, ok = _integers(body, opens + 1, closes)
    shape = (a[opens - 1] == 44) & (a[closes + 1] == 93)  # ,"value"]
    after, then = a[closes + 2], a[closes + 3]
    shape &= ((after == 44) & (then == 91)) | ((after == 93) & (then == 125))  # ],[ to the next point, or ]]} at the end
    other = np.flatnonzero(shape & ~ok)
    if other.size:
        parsed = _numbers(body, opens[other] + 1, closes[other])
        if parsed is not None:
            values[other] = parsed
            ok[other] = True
    ok &= shape
    gap = opens[1:] - closes[:-1]  # from a value's closing quote to the next one's opening quote
    bad = np.concatenate(([0], np.cumsum(~ok)))
    # Same-width timestamps put every value the same distance after the last:
    # '"],[' + timestamp + ',"'.  Checked for all series at once at the usual width.
    usual = int(opens[0]) - int(seg_start[np.flatnonzero(counts)[0]]) - 3 + 5
    uneven = np.concatenate(([0], np.cumsum(gap != usual)))
    out: list[np.ndarray | None] = []
    offset = 0
    for i in range(len(seg_start)):
        n = int(counts[i]) // 2
        start = offset
        offset += n
        if n != steps or bad[start + n] != bad[start]:
            out.append(None)
            continue
        seg = int(seg_start[i])
        spacing = int(opens[start]) - seg - 3 + 5  # '[[' + timestamp + ',"' starts the first value
        last_at = int(closes[start + n - 2]) + 4 if n > 1 else seg + 2
        even = spacing == usual and uneven[start + n - 1] == uneven[start]
        if (
            not even
            or _first_minute(body, seg + 2) != first
            or _first_minute(body, last_at) != first + steps - 1
        ):
            out.append(None)
            continue
        out.append(values[start : start + n])
    return out
