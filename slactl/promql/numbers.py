"""Exact numbers in PromQL text: thresholds come from Decimal arithmetic, never float noise.

``14.4 × (100 − 99.9) / 100`` prints as ``0.0144`` and never as
``0.014399999999999181``: a reader can check a rule against the SRE Workbook table
by eye, and regenerating gives the same bytes on every platform.
"""

from __future__ import annotations

from decimal import Decimal


def exact(value: Decimal) -> str:
    """Plain decimal text without exponent or trailing zeros: ``Decimal('0.01440')`` → ``0.0144``."""
    text = format(value.normalize(), "f")
    return text if "." not in text else text.rstrip("0").rstrip(".")


def dec(value: float | Decimal) -> Decimal:
    """A float from the config as the decimal the user wrote (``0.95`` stays ``0.95``)."""
    return value if isinstance(value, Decimal) else Decimal(repr(float(value)))


def objective_decimal(objective: float) -> Decimal:
    """The objective as the decimal the user wrote (``99.9`` stays ``99.9``)."""
    return dec(objective)


def budget(objective: float) -> Decimal:
    """The error budget as a fraction: ``(100 − objective) / 100``."""
    return (Decimal(100) - objective_decimal(objective)) / Decimal(100)


def percent(fraction: Decimal) -> str:
    """``Decimal('0.0144')`` → ``1.44%``."""
    return exact(fraction * 100) + "%"


def clean(value: float | Decimal) -> float:
    """A float for JSON whose shortest text is the exact decimal (``2.16``, not ``2.16000000000216``)."""
    return float(exact(dec(value)))


def label_value(value: str) -> str:
    """A PromQL string literal's body (service names are data, not syntax)."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def one_line(expr: str) -> str:
    """An expression on one line, for use inside a larger one."""
    return " ".join(part.strip() for part in expr.splitlines())
