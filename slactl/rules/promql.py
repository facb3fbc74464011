"""Shared pieces of rule generation: exact numbers, the error-ratio expressions, YAML bytes.

Thresholds are written from :class:`~decimal.Decimal` arithmetic on the objective's
decimal text, so ``14.4 × (100 − 99.9) / 100`` prints as ``0.0144`` and never as
``0.014399999999999181``: a reader can check a rule against the SRE Workbook table
by eye, and regenerating gives the same bytes on every platform.

The error ratio of a service over a window ``w`` (the recording rules, the backtest
and ``HighErrorRate`` all use this one definition):

* ratio form::

      (sum(rate(ERRORS[w])) or vector(0))
      /
      (sum(rate(TOTAL[w])) > 0)

  An ``errors`` series that does not exist yet (client libraries create the
  ``code="500"`` series on the first error) counts as zero errors through
  ``or vector(0)``; a window without requests (``TOTAL`` absent or its rate 0) is
  filtered out by ``> 0`` before dividing, so the result is *no sample* rather than
  ``NaN`` (0/0) or ``+Inf`` — nothing is recorded, nothing can fire, and graphs
  show a gap, which is what "no traffic" is.

* probe form: ``1 - avg(avg_over_time(PROBE[w]))``: one minus the mean success of
  all probes; no probe samples in the window gives no sample.

Both aggregate every matching series into one value per service (``sum``/``avg``
without ``by``), so the service's identity comes only from the ``service`` label
the rules attach.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import yaml

from slactl.config import Service

PERIOD_DAYS = 30  # the budget period of the SRE Workbook's table


def exact(value: Decimal) -> str:
    """Plain decimal text without exponent or trailing zeros: ``Decimal('0.01440')`` → ``0.0144``."""
    text = format(value.normalize(), "f")
    return text if "." not in text else text.rstrip("0").rstrip(".")


def objective_decimal(objective: float) -> Decimal:
    """The objective as the decimal the user wrote (``99.9`` stays ``99.9``)."""
    return Decimal(repr(float(objective)))


def budget(objective: float) -> Decimal:
    """The error budget as a fraction: ``(100 − objective) / 100``."""
    return (Decimal(100) - objective_decimal(objective)) / Decimal(100)


def percent(fraction: Decimal) -> str:
    """``Decimal('0.0144')`` → ``1.44%``."""
    return exact(fraction * 100) + "%"


def label_value(value: str) -> str:
    """A PromQL string literal's body (service names are data, not syntax)."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def error_ratio_expr(service: Service, window: str) -> str:
    """The service's error ratio over ``window`` with the no-traffic guard (module docstring)."""
    av = service.availability
    if av.kind == "probe":
        return f"1 - avg(avg_over_time({str(av.probe).strip()}[{window}]))"
    errors, total = str(av.errors).strip(), str(av.total).strip()
    return (
        f"(sum(rate({errors}[{window}])) or vector(0))\n"
        f"/\n"
        f"(sum(rate({total}[{window}])) > 0)"
    )


def one_line(expr: str) -> str:
    """An expression on one line, for use inside a larger one."""
    return " ".join(part.strip() for part in expr.splitlines())


def humanize_percentage(value: float) -> str:
    """What Prometheus' ``humanizePercentage`` template function prints (``%.4g%%``)."""
    return f"{value * 100:.4g}%"


class _Dumper(yaml.SafeDumper):
    """Safe YAML with multi-line strings (PromQL) as literal blocks, for readable diffs."""


def _str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _str)


def dump(doc: Any, header: str = "") -> bytes:
    """Deterministic YAML bytes: keys in insertion order, no line wrapping."""
    body = yaml.dump(
        doc,
        Dumper=_Dumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=1 << 16,
    )
    return (header + body).encode("utf-8")
