"""How one UTC day of a field's minutes is kept in a row: 1,440 float64 values, packed.

Most fields are whole counts (requests, buckets, probe sums, ``has_data``), and zlib
over their float64 bytes was most of the cost of a cold pull and of a report.  zlib's
time goes on bytes it cannot shrink, so such a day is kept as its minimum plus each
minute's offset in the narrowest unsigned type that holds them, as byte planes (the
offsets' low bytes, then the next): 1,440 or 2,880 bytes.  The low plane of busy
counts is near noise, so only top planes whose byte frequencies promise a quarter off
are deflated, and only when that is smaller.  Any other day (fractions, NaN, inf,
-0.0, beyond 2**53) keeps zlib of the float64 bytes.  A row is, by length and first byte:

- exactly 11,520 bytes: the raw little-endian float64 values;
- 0x10, 9 bytes: a day of one whole value, as int64;
- 0xHW, W (1, 2, 4) bytes per offset and H from 1 to W + 1: the int64 minimum,
  the low W + 1 - H planes raw, then zlib of the top H - 1;
- anything else: zlib of the float64 values, as rows were written before the narrow
  forms.  A zlib stream's first byte has low nibble 8, and a narrow row is at most
  5,769 bytes, so no row is taken for another form.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from datetime import UTC, datetime

import numpy as np

from slactl.errors import StoreError

DAY = 1440
CHUNK_BYTES = DAY * 8  # a raw day; a packed one is always shorter
EXACT = 2.0**53  # whole floats up to this size are exact
CONSTANT = 0x10
NARROW = frozenset([CONSTANT, *(0x10 * h | w for w in (1, 2, 4) for h in range(1, w + 2))])
HEAD = 9  # first byte and the int64 minimum
BLOCK = 32  # days checked at once: a few hundred kB of temporaries
WORTH = 0.75  # deflate a plane when its order-0 entropy is at most this share of its bits
_CLOG = np.arange(DAY + 1) * np.log2(np.maximum(np.arange(DAY + 1), 1))  # c * log2(c)


def _worth_deflating(plane: np.ndarray) -> bool:
    bits = _CLOG[DAY] - _CLOG[np.bincount(plane, minlength=256)].sum()
    return bool(bits <= WORTH * 8 * DAY)


def _narrow(lo: int, span: int, offsets: np.ndarray) -> bytes:
    """The row of a whole-number day from its minimum, its span and its offsets (uint32)."""
    head = lo.to_bytes(8, "little", signed=True)
    if span == 0:
        return bytes((CONSTANT,)) + head
    width = 1 if span < 2**8 else 2 if span < 2**16 else 4
    planes = np.ascontiguousarray(offsets.view("<u1").reshape(DAY, 4).T[:width])
    top = 0  # planes to deflate, from the top down; a top plane of at most 64 values: 6 bits
    while top < width and (
        (top == 0 and span >> 8 * (width - 1) < 64) or _worth_deflating(planes[width - 1 - top])
    ):
        top += 1
    if top:
        packed = zlib.compress(planes[width - top :].tobytes(), 1)
        if len(packed) < top * DAY:
            tag = bytes((0x10 * (top + 1) | width,))
            return tag + head + planes[: width - top].tobytes() + packed
    return bytes((0x10 | width,)) + head + planes.tobytes()


def _pack_block(days: np.ndarray, offsets: np.ndarray, back: np.ndarray) -> list[bytes]:
    lo, hi = days.min(axis=1), days.max(axis=1)  # a NaN fails every comparison below
    with np.errstate(invalid="ignore", over="ignore"):  # inf - inf, huge spans, days that are not whole cast to uint32
        span = hi - lo
        whole = (lo >= -EXACT) & (hi <= EXACT) & (span < 2**32) & (lo == np.floor(lo))
        base = np.where(whole, lo, 0.0)[:, None]
        np.subtract(days, base, out=offsets, casting="unsafe")
    np.add(offsets, base, out=back)
    whole &= (back.view("<i8") == days.view("<i8")).all(axis=1)  # bit for bit: no -0.0
    out: list[bytes] = []
    for i, (ok, low, wide) in enumerate(
        zip(whole.tolist(), lo.tolist(), span.tolist(), strict=True)
    ):
        if ok:
            out.append(_narrow(int(low), int(wide), offsets[i]))
        else:
            raw = days[i].tobytes()
            packed = zlib.compress(raw, 1)
            out.append(packed if len(packed) < len(raw) else raw)
    return out


def pack_days(arrays: Sequence[np.ndarray]) -> list[bytes]:
    """:func:`pack_day` of each array, checked for whole numbers a block at a time."""
    size = min(len(arrays), BLOCK)
    days, back = np.empty((size, DAY), "<f8"), np.empty((size, DAY), "<f8")
    offsets = np.empty((size, DAY), "<u4")
    out: list[bytes] = []
    for start in range(0, len(arrays), BLOCK):
        part = arrays[start : start + BLOCK]
        np.stack(part, out=days[: len(part)])  # a day of another length: ValueError
        out += _pack_block(days[: len(part)], offsets[: len(part)], back[: len(part)])
    return out


def pack_day(arr: np.ndarray) -> bytes:
    """A day's 1,440 values: narrow when all are whole numbers, else zlib of the floats (or raw)."""
    return pack_days([arr])[0]


def _decode_narrow(data: bytes) -> np.ndarray | str:
    n, tag = len(data), data[0]
    width, top = tag & 0x0F, (tag >> 4) - 1
    if n < HEAD or (tag == CONSTANT and n != HEAD):
        return f"{n} bytes, not a day of form {tag:#04x}"
    lo = int.from_bytes(data[1:HEAD], "little", signed=True)
    if abs(lo) > EXACT:
        return f"{n} bytes with a minimum of {lo}, beyond whole floats"
    if tag == CONSTANT:
        return np.full(DAY, float(lo))
    keep, body = HEAD + (width - top) * DAY, data[HEAD:]
    if top and n > keep:
        unz = zlib.decompressobj()
        try:
            body = data[HEAD:keep] + unz.decompress(data[keep:], top * DAY + 1)
        except zlib.error as exc:
            return f"{n} bytes that do not unpack: {exc}"
        if not unz.eof or unz.unused_data:
            return f"{n} bytes that do not unpack: a cut or overlong zlib stream"
    if len(body) != width * DAY:
        return f"{n} bytes unpacking to {len(body)}, expected {width * DAY}"
    planes = np.frombuffer(body, dtype="<u1").reshape(width, DAY)
    out = planes[-1].astype("<f8")
    for plane in planes[-2::-1]:
        out *= 256.0
        out += plane
    out += lo
    return out


def _decode(data: bytes) -> np.ndarray | str:
    """The day's values, or what is wrong with the row."""
    if len(data) == CHUNK_BYTES:
        return np.frombuffer(data, dtype="<f8")
    if data and data[0] in NARROW:
        return _decode_narrow(data)
    try:
        raw = zlib.decompress(data)
    except zlib.error as exc:
        return f"{len(data)} bytes that do not unpack: {exc}"
    if len(raw) != CHUNK_BYTES:
        return f"{len(data)} bytes unpacking to {len(raw)}, expected {CHUNK_BYTES}"
    return np.frombuffer(raw, dtype="<f8")


def unpack_day(data: bytes) -> np.ndarray:
    """Inverse of :func:`pack_day`; a row of exactly 11,520 bytes is raw (as older stores wrote)."""
    arr = _decode(data)
    if isinstance(arr, str):
        raise StoreError(f"a stored day of minutes is corrupt ({arr})")
    return arr


def corrupt_day(service: str, day: int, what: str) -> StoreError:
    """The error about a stored day of ``service`` that cannot be read: what is wrong, and the repair."""
    when = datetime.fromtimestamp(day * 60, tz=UTC)
    return StoreError(
        f"the stored minutes of service '{service}' for {when:%Y-%m} (UTC day {when:%Y-%m-%d}) are corrupt "
        f"({what}); drop them with `slactl store forget --service {service} "
        f"--month {when:%Y-%m}` and run again to pull them from the source"
    )


def day_values(data: bytes, service: str, day: int) -> np.ndarray:
    """One stored day of ``service`` as floats; a corrupt row is a StoreError saying how to repair."""
    arr = _decode(data)
    if isinstance(arr, str):
        raise corrupt_day(service, day, arr)
    return arr
