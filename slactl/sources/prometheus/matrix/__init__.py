"""Decoding Prometheus API answers: one entry point per kind of query, the fast paths inside.

Why fast paths at all: a month of 2,000 series is some 90 million points, 2 GB
of JSON, and reading it as one Python object per point cost more than
Prometheus took to compute it.  The client calls only:

- :func:`decode_range` for a ``query_range`` answer: each series' labels and a
  value per requested minute;
- :func:`decode_instant` for a ``query`` answer (small: decoded by msgspec).

Both give an :class:`Answer` (status, error, warnings, series) and raise
ValueError for a body that cannot be read.  A range answer goes through these
steps, each of which checks what it relies on:

1. **Envelope and labels** (:mod:`._body`).  A body in Prometheus' own layout
   (Thanos and Mimir write it too) is cut into its series by that layout:
   msgspec decodes each series' labels and the envelope without its series,
   and never reads a point.  Any other layout (VictoriaMetrics' ``isPartial``
   first, whitespace, another key order) is decoded whole by msgspec, each
   series' ``values`` kept raw.  Either way every ``values`` is a view into
   the body, not yet checked.
2. **The usual series, all at once** (:mod:`._block`): a point at every
   requested step.  Each point's shape around its value is checked
   (``,"value"]`` then ``,[`` or the end), and a series is taken only if its
   first and last timestamps fall on the first and last step and its points
   are evenly spaced; any other series is declined.  Integers of up to 15
   digits are read eight digits at a time; the rest (decimals, NaN, ``+Inf``)
   must match Prometheus' number syntax and are parsed by numpy, or the
   series is declined.
3. **Any other series, one at a time** (:mod:`._series`): msgspec checks its
   JSON; ten-digit timestamps with integer values (a series with gaps) are
   read by numpy from the bytes; anything else (decimals, NaN, ``+Inf``,
   other timestamps) is decoded by msgspec as ``[[number, "string"], ...]``
   and its values parsed as Python's ``float`` parses them.

Every path gives the numbers a plain JSON decode gives (tests/test_promdecode.py
compares them); points outside the requested minutes are dropped.
"""

from __future__ import annotations

from slactl.sources.prometheus.matrix._block import read_block
from slactl.sources.prometheus.matrix._body import (
    Answer,
    LabelKey,
    Samples,
    Steps,
    instant_answer,
    label_key,
    range_envelope,
)
from slactl.sources.prometheus.matrix._series import read_series

__all__ = ["Answer", "LabelKey", "Samples", "Steps", "decode_instant", "decode_range", "label_key"]


def decode_range(body: bytes, first: int, steps: int) -> Answer[Steps]:
    """A ``query_range`` answer for ``steps`` one-minute steps from epoch minute ``first``.

    Each series of ``result`` holds its labels and one float per step (NaN
    where it had no point).  A refusal (status other than ``success``) has
    no series.  Raises ValueError when the body or a point cannot be read.
    """
    envelope = range_envelope(body)
    raws = envelope.result if envelope.status == "success" else []
    values = read_block(body, [s.values for s in raws], first, steps)
    result = [
        Steps(s.metric, v if v is not None else read_series(s.values, first, steps))
        for s, v in zip(raws, values, strict=True)
    ]
    return Answer(envelope.status, envelope.error, envelope.error_type, envelope.warnings, envelope.partial, result)


def decode_instant(body: bytes) -> Answer[Samples]:
    """A ``query`` answer: each series' labels and its sample (or a range selector's samples).

    Raises ValueError when the body cannot be read.
    """
    return instant_answer(body)
