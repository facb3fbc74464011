"""Service credits (SPEC 2.8): a customer's composite minutes, its credit percent and amount.

Pure arithmetic, no I/O.  Money is :class:`~decimal.Decimal` from the config to
the ledger, because a credit that is off by a cent is a billing dispute.  It is
rounded once, here, half-up to the currency's minor unit: ``digits`` is the
ISO 4217 exponent (USD 2, JPY 0, KWD 3, CLF 4), looked up by the caller, so a
yen credit is never half a yen and a dinar credit keeps its fils; every
document prints that one amount.  The uptime is a float (it comes from minute
counts) and is compared to the schedule's thresholds through its shortest
decimal spelling, so an uptime of exactly 99.9 is *not* below a
``below: 99.9`` row whichever way either was built.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, localcontext
from typing import Protocol

# A customer's minute combines its services' minutes as the platform's does.
from slactl.sli.platform import composite_states as composite_states

# At least this many significant digits in every money operation (more when the
# figures need it), so fee × percent / 100 and its rounding are exact.
_PRECISION = 60


class CreditRowLike(Protocol):
    """A schedule row: ``slactl.config.CreditRow`` or anything shaped like it."""

    @property
    def below(self) -> float | Decimal: ...

    @property
    def percent(self) -> Decimal: ...


def as_decimal(value: float | int | Decimal) -> Decimal:
    """A number as the Decimal a person would write for it (``99.9`` → ``Decimal("99.9")``).

    ``Decimal(0.1)`` is the binary float's exact value (0.1000000000000000055…);
    ``repr`` is the shortest string that round-trips, i.e. what was written.
    """
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool):
        raise TypeError("a bool is not a number here")
    if isinstance(value, int):
        return Decimal(value)
    if not math.isfinite(value):
        raise ValueError(f"not a finite number: {value!r}")
    return Decimal(repr(float(value)))


def matching_row(uptime: float | None, rows: Sequence[CreditRowLike]) -> CreditRowLike | None:
    """The row with the smallest ``below`` strictly greater than ``uptime``; None if none is.

    Rows may come in any order.  None also when the uptime is unknown.
    """
    if uptime is None:
        return None
    u = as_decimal(uptime)
    best: CreditRowLike | None = None
    for row in rows:
        b = as_decimal(row.below)
        if u < b and (best is None or b < as_decimal(best.below)):
            best = row
    return best


def credit_percent(uptime: float | None, rows: Sequence[CreditRowLike]) -> Decimal | None:
    """The credit percent for a month's uptime: the matching row's, ``0`` when none matches.

    None when the uptime is unknown (no measured minute): no data is neither a
    full credit nor none, and the ledger must say so rather than guess.
    """
    if uptime is None:
        return None
    row = matching_row(uptime, rows)
    return Decimal("0") if row is None else Decimal(row.percent)


def _places(digits: int) -> Decimal:
    """The quantum of ``digits`` decimal places: ``0.01`` for 2, ``1`` for 0, ``0.0001`` for 4."""
    if isinstance(digits, bool) or not isinstance(digits, int) or digits < 0:
        raise ValueError(f"minor-unit digits must be an int >= 0, got {digits!r}")
    return Decimal(1).scaleb(-digits)


def _prec(*numbers: Decimal, digits: int = 0) -> int:
    """Significant digits enough to hold these numbers' product, and any of them at ``digits`` places."""
    need = sum(len(n.as_tuple().digits) for n in numbers) + 2
    need = max([need] + [n.adjusted() + digits + 2 for n in numbers if n.is_finite() and n])
    return max(_PRECISION, need)


def _unsigned_zero(amount: Decimal) -> Decimal:
    """``-0.00`` as ``0.00``: a zero never carries a sign into a document."""
    return amount.copy_abs() if amount.is_zero() else amount


def exact_amount(fee: Decimal, percent: Decimal) -> Decimal:
    """``fee × percent / 100`` before rounding, computed without loss (shown on statements)."""
    if not (fee.is_finite() and percent.is_finite()) or fee < 0 or percent < 0:
        raise ValueError(f"fee and percent must be finite and >= 0, got {fee} and {percent}")
    with localcontext() as ctx:
        ctx.prec = _prec(fee, percent)
        return _unsigned_zero(fee * percent / 100)


def round_money(amount: Decimal, digits: int) -> Decimal:
    """The one rounding of a credit: half-up to ``digits`` places (the currency's minor unit).

    ``Decimal("1234.5")``, 0 → ``1235`` (JPY); ``Decimal("100.0125")``, 3 →
    ``100.013`` (KWD).  The result carries exactly ``digits`` places.
    """
    with localcontext() as ctx:
        ctx.prec = _prec(amount, digits=digits)
        return _unsigned_zero(amount.quantize(_places(digits), rounding=ROUND_HALF_UP))


def fee_cap(fee: Decimal, digits: int = 2) -> Decimal:
    """The largest amount in whole minor units not above the fee (the fee itself when in minor units)."""
    with localcontext() as ctx:
        ctx.prec = _prec(fee, digits=digits)
        return _unsigned_zero(fee.quantize(_places(digits), rounding=ROUND_DOWN))


def credit_amount(fee: Decimal, percent: Decimal, digits: int = 2) -> Decimal:
    """``fee × percent / 100`` rounded half-up to ``digits`` places, never above the fee.

    ``digits`` is the currency's minor unit (2, the default, for USD and EUR).
    Rounding can only overshoot the fee when the fee itself has fractions of a
    minor unit, and a percent above 100 would; both are capped at the fee in
    whole minor units.
    """
    return min(round_money(exact_amount(fee, percent), digits), fee_cap(fee, digits))


def money(amount: Decimal, digits: int = 2) -> str:
    """An amount as a plain decimal string with at least ``digits`` places, never exponent form.

    ``digits`` is the currency's minor unit: ``"1200.00"`` (USD), ``"1235"``
    (JPY), ``"100.013"`` (KWD).  A digit below it is never dropped (an amount
    is rounded by :func:`round_money`, not here), and a zero has no sign.
    """
    with localcontext() as ctx:
        ctx.prec = _prec(amount, digits=digits)
        amount = _unsigned_zero(amount)
        places = _places(digits)
        if amount == amount.quantize(places):
            return format(amount.quantize(places), "f")
        return format(amount.normalize(), "f")


def percent_json(percent: Decimal | None) -> int | float | None:
    """A percent as a JSON number: ``10`` when integral, else a float such as ``12.5``."""
    if percent is None:
        return None
    if percent == percent.to_integral_value():
        return int(percent)
    return float(percent)


@dataclass(frozen=True)
class ScheduleRow:
    """One row of a credit schedule as written, and whether it is the one that applied."""

    below: Decimal
    percent: Decimal
    matched: bool


@dataclass(frozen=True)
class CreditWorking:
    """A customer's credit worked out step by step, every figure an exact Decimal.

    What a statement shows and a ledger records: the uptime from the minute
    counts, the schedule (highest threshold first) and the row that applied,
    the exact amount, its half-up rounding to the currency's minor unit
    (``digits`` places) and the cap at the fee.  ``None`` throughout when no
    minute was measured.
    """

    up: int
    down: int
    uptime: Decimal | None  # 100 × up / (up + down), exact to 60 digits
    schedule: tuple[ScheduleRow, ...]
    row: ScheduleRow | None
    percent: Decimal | None
    exact: Decimal | None
    rounded: Decimal | None
    amount: Decimal | None
    fee: Decimal
    cap: Decimal
    digits: int  # the currency's minor unit (ISO 4217 exponent): what every document prints

    @property
    def capped(self) -> bool:
        return self.amount is not None and self.amount != self.rounded


def work_out(
    up: int, down: int, uptime: float | None, fee: Decimal, rows: Sequence[CreditRowLike], *, digits: int
) -> CreditWorking:
    """The credit for a month's minute counts (SPEC 2.8), with every intermediate figure.

    ``digits`` is the currency's minor unit (``slactl.money.minor_digits``).
    """
    fee = _unsigned_zero(fee)
    exact_uptime = None
    if up + down:
        with localcontext() as ctx:
            ctx.prec = _PRECISION
            exact_uptime = Decimal(100 * up) / Decimal(up + down)
    chosen = matching_row(uptime, rows)
    schedule = tuple(
        ScheduleRow(as_decimal(r.below), Decimal(r.percent), r is chosen)
        for r in sorted(rows, key=lambda r: as_decimal(r.below), reverse=True)
    )
    row = next((r for r in schedule if r.matched), None)
    percent = credit_percent(uptime, rows)
    exact = rounded = amount = None
    if percent is not None:
        exact = exact_amount(fee, percent)
        rounded = round_money(exact, digits)
        amount = min(rounded, fee_cap(fee, digits))
    cap = fee_cap(fee, digits)
    return CreditWorking(up, down, exact_uptime, schedule, row, percent, exact, rounded, amount, fee, cap, digits)
