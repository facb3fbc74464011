"""Service credits (SPEC 2.8): a customer's composite minutes, its credit percent and amount.

Pure arithmetic, no I/O.  Money is :class:`~decimal.Decimal` from the config to
the ledger, because a credit that is off by a cent is a billing dispute; the
uptime is a float (it comes from minute counts) and is compared to the
schedule's thresholds through its shortest decimal spelling, so an uptime of
exactly 99.9 is *not* below a ``below: 99.9`` row whichever way either was built.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, localcontext
from typing import Protocol

# A customer's minute combines its services' minutes as the platform's does.
from slactl.sli.platform import composite_states as composite_states

CENT = Decimal("0.01")
# Enough digits that fee × percent / 100 is exact for any fee a config can hold.
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


def exact_amount(fee: Decimal, percent: Decimal) -> Decimal:
    """``fee × percent / 100`` before rounding, computed without loss (shown on statements)."""
    if fee < 0 or percent < 0:
        raise ValueError(f"fee and percent must be >= 0, got {fee} and {percent}")
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        return fee * percent / 100


def fee_cap(fee: Decimal) -> Decimal:
    """The largest whole-cent amount not above the fee (the fee itself when in cents)."""
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        return fee.quantize(CENT, rounding=ROUND_DOWN)


def credit_amount(fee: Decimal, percent: Decimal) -> Decimal:
    """``fee × percent / 100`` rounded half-up to cents, never above the fee.

    Rounding can only overshoot the fee when the fee itself has fractions of a
    cent, and a percent above 100 would; both are capped at the fee in whole cents.
    """
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        rounded = exact_amount(fee, percent).quantize(CENT, rounding=ROUND_HALF_UP)
        return min(rounded, fee_cap(fee))


def percent_json(percent: Decimal | None) -> int | float | None:
    """A percent as a JSON number: ``10`` when integral, else a float such as ``12.5``."""
    if percent is None:
        return None
    if percent == percent.to_integral_value():
        return int(percent)
    return float(percent)


def money(amount: Decimal) -> str:
    """An amount as a plain decimal string with at least two places, never exponent form."""
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        if amount == amount.quantize(CENT):
            return format(amount.quantize(CENT), "f")
        return format(amount.normalize(), "f")


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
    the exact amount, its half-up rounding to cents and the cap at the fee.
    ``None`` throughout when no minute was measured.
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

    @property
    def capped(self) -> bool:
        return self.amount is not None and self.amount != self.rounded


def work_out(up: int, down: int, uptime: float | None, fee: Decimal, rows: Sequence[CreditRowLike]) -> CreditWorking:
    """The credit for a month's minute counts (SPEC 2.8), with every intermediate figure."""
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
        rounded = exact.quantize(CENT, rounding=ROUND_HALF_UP)
        amount = credit_amount(fee, percent)
    return CreditWorking(up, down, exact_uptime, schedule, row, percent, exact, rounded, amount, fee, fee_cap(fee))
