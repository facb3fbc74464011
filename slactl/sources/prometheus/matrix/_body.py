"""The envelope of a Prometheus API answer (status, error, warnings) and its series, found without reading a point.

A month of a few hundred series is millions of points, gigabytes of JSON;
building a Python object per point (and letting the garbage collector scan
them) would cost more than the network.  So msgspec decodes the envelope and
each series' labels, and keeps each series' ``values`` raw: a view into the
body, read into numpy by :mod:`._block` or :mod:`._series`.  An answer in
Prometheus' own layout is cut into its series by that layout (a few memchr
calls per series) instead of being scanned whole by msgspec.

Also the typed results the package's entry points give, so every module of
the package names them from one place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, NamedTuple, TypeVar

import msgspec
import numpy as np

LabelKey = tuple[tuple[str, str], ...]
T = TypeVar("T")


def label_key(labels: dict[str, str]) -> LabelKey:
    """A series' identity in an answer: its labels without ``__name__``, sorted."""
    return tuple(sorted((k, v) for k, v in labels.items() if k != "__name__"))


class Steps(NamedTuple):
    """One series of a range answer: a value per requested step, NaN where it had none."""

    labels: dict[str, str]
    values: np.ndarray  # float64, one per step


class Samples(NamedTuple):
    """One series of an instant answer: its sample (a vector), or its samples (a range selector's matrix)."""

    labels: dict[str, str]
    values: list[float]


@dataclass
class Answer(Generic[T]):
    """What the server said: ``status`` and, when it is ``"success"``, the series in ``result``."""

    status: str
    error: str = ""
    error_type: str = ""
    warnings: list[str] = field(default_factory=list)
    partial: bool = False  # VictoriaMetrics' ``isPartial``
    result: list[T] = field(default_factory=list)


class _RawSeries(msgspec.Struct):
    metric: dict[str, str] = {}
    # Kept raw: parsed straight into numpy, so a month of points never exists as
    # millions of small Python objects (which the garbage collector would scan).
    values: msgspec.Raw = msgspec.Raw(b"[]")


class _RangeData(msgspec.Struct):
    result: list[_RawSeries] = []


class _RangeBody(msgspec.Struct):
    status: str = ""
    error: str = ""
    errorType: str = ""
    data: _RangeData | None = None
    warnings: list[str] = []
    isPartial: bool = False


class _Sample(msgspec.Struct):
    metric: dict[str, str] = {}
    value: tuple[float, str] | None = None  # a vector's sample
    values: list[tuple[float, str]] = []  # a matrix's samples


class _InstantData(msgspec.Struct):
    resultType: str = ""
    result: msgspec.Raw = msgspec.Raw(b"[]")


class _InstantBody(msgspec.Struct):
    status: str = ""
    error: str = ""
    errorType: str = ""
    data: _InstantData | None = None
    warnings: list[str] = []
    isPartial: bool = False


_decode_range_body = msgspec.json.Decoder(_RangeBody).decode
_decode_instant_body = msgspec.json.Decoder(_InstantBody).decode
_decode_samples = msgspec.json.Decoder(list[_Sample]).decode
_decode_scalar = msgspec.json.Decoder(tuple[float, str]).decode
_decode_labels = msgspec.json.Decoder(dict[str, str]).decode

# Prometheus (and Thanos, Mimir) write a range answer in this layout.  Between
# ``{"metric":`` and ``},"values":[`` lies one object of strings, and neither
# sequence can occur inside a JSON string (its quotes would be escaped).
_PREFIX = b'{"status":"success","data":{"resultType":"matrix","result":['
_METRIC = b'{"metric":'
_VALUES = b'},"values":['


def range_envelope(body: bytes) -> Answer[_RawSeries]:
    """A ``query_range`` answer's envelope and raw series (by Prometheus' layout when it has it).

    Raises ValueError (msgspec's errors are ValueErrors) when it is not API JSON.
    """
    split = _split(body)
    envelope = split if split is not None else _decode_range_body(body)
    result = envelope.data.result if envelope.data is not None else []
    return Answer(envelope.status, envelope.error, envelope.errorType, envelope.warnings, envelope.isPartial, result)


def _split(body: bytes) -> _RangeBody | None:
    """A ``query_range`` answer in Prometheus' own layout, its series found without reading their points.

    msgspec reading every byte of a gigabyte of points cost more than
    everything else done with them; here only the labels and the envelope
    around the result are decoded, and each series' ``values`` is left a view
    into ``body``, whose points :mod:`._block` and :mod:`._series` check as
    they read them.  Any other layout gives None: the body is decoded whole.
    """
    if not body.startswith(_PREFIX):
        return None
    view = memoryview(body)
    pos = len(_PREFIX)
    series: list[_RawSeries] = []
    more = body[pos : pos + 1] != b"]"
    while more:
        if not body.startswith(_METRIC, pos):
            return None
        labels_end = body.find(_VALUES, pos)
        if labels_end < 0:
            return None
        try:
            labels = _decode_labels(view[pos + len(_METRIC) : labels_end + 1])
        except msgspec.DecodeError:  # ValidationError included
            return None
        start = labels_end + len(_VALUES) - 1  # the values' '['
        end = body.find(b"}", start)  # no point holds a brace: memchr finds the series' end at once
        if end < 0 or not (end == start + 2 and body[start:end] == b"[]" or end > start + 2 and body[end - 2 : end] == b"]]"):
            return None
        series.append(_RawSeries(labels, msgspec.Raw(view[start:end])))
        pos = end + 1
        more = body[pos : pos + 1] == b","
        pos += more
    try:
        envelope = _decode_range_body(body[: len(_PREFIX)] + body[pos:])  # the answer without its series
    except msgspec.DecodeError:
        return None
    if envelope.data is None:
        return None
    envelope.data.result = series
    return envelope


def instant_answer(body: bytes) -> Answer[Samples]:
    """A ``query`` answer, every sample checked by msgspec (instant answers are small).

    A vector gives one value per series (always), a matrix (a range selector) each
    series' values, a scalar one series without labels.  Raises ValueError
    when the body is not API JSON.
    """
    envelope = _decode_instant_body(body)
    result: list[Samples] = []
    data = envelope.data
    if envelope.status == "success" and data is not None:
        if data.resultType in ("scalar", "string"):
            result = [Samples({}, [float(_decode_scalar(data.result)[1])])]
        else:
            for s in _decode_samples(data.result):
                if data.resultType == "vector" and s.value is None:
                    raise ValueError("a vector's series without its sample")
                points = [s.value] if s.value is not None else s.values
                result.append(Samples(s.metric, [float(v) for _, v in points]))
    return Answer(envelope.status, envelope.error, envelope.errorType, envelope.warnings, envelope.isPartial, result)
