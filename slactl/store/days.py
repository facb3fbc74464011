"""How one UTC day of a field's minutes is kept in a row: 1,440 float64 values, packed.

Minutes repeat (all up, one sample each), so a day packs to a few dozen bytes
instead of 11,520: a 200-service month writes and reads megabytes, not hundreds.
Rows written before packing existed are raw; both read back the same.
"""

from __future__ import annotations

import zlib
from datetime import UTC, datetime

import numpy as np

from slactl.errors import StoreError

DAY = 1440
CHUNK_BYTES = DAY * 8  # a raw day; a packed one is always shorter


def pack_day(arr: np.ndarray) -> bytes:
    """A day's 1,440 float64 values: zlib-compressed, or raw when that is no smaller."""
    raw = arr.astype("<f8").tobytes()
    packed = zlib.compress(raw, 1)
    return packed if len(packed) < len(raw) else raw


def _decode(data: bytes) -> np.ndarray | str:
    """The day's values, or what is wrong with the row."""
    if len(data) == CHUNK_BYTES:
        return np.frombuffer(data, dtype="<f8")
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


def day_values(data: bytes, service: str, day: int) -> np.ndarray:
    """One stored day of ``service`` as floats; a corrupt row is a StoreError saying how to repair."""
    arr = _decode(data)
    if isinstance(arr, str):
        when = datetime.fromtimestamp(day * 60, tz=UTC)
        raise StoreError(
            f"the stored minutes of service '{service}' for {when:%Y-%m} (UTC day {when:%Y-%m-%d}) are corrupt "
            f"({arr}); drop them with `slactl store forget --service {service} "
            f"--month {when:%Y-%m}` and run again to pull them from the source"
        )
    return arr
