"""Whether measured figures meet their targets (SPEC section 4).

Verdicts are tri-state on purpose: a month whose figure cannot be computed
(no measured minutes, no latency observations) is neither met nor missed, and
a report must say "unknown" (JSON null) rather than silently pass or fail it.
Every "uptime ≥ target" in slactl goes through :func:`meets`, so the report,
its charts, the credits and the statements can never disagree on a verdict.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal


def meets(uptime: float | None, target: float) -> bool | None:
    """``uptime >= target``; None when the uptime is unknown.

    ``>=`` because an uptime exactly at the target honours the promise.
    """
    return None if uptime is None else bool(uptime >= target)


def tier_verdicts(uptime: float | None, targets: Mapping[str, float]) -> dict[str, dict]:
    """``{tier: {"target": t, "met": uptime >= t}}`` in the order of ``targets``."""
    return {tier: {"target": target, "met": meets(uptime, target)} for tier, target in targets.items()}


def latency_certain(target: float, lower: float | None, upper: float | None) -> bool | None:
    """Whether the percentile's whole bucket ``[lower, upper]`` lies on one side of ``target``.

    The estimate is interpolated inside its bucket, so only a bucket entirely at
    or below the target (``upper <= target``) or entirely above it
    (``lower > target``) makes the verdict certain.  ``upper`` None is the
    ``+Inf`` bucket; None when there is no bucket at all.
    """
    if lower is None:
        return None
    if upper is not None and upper <= target:
        return True
    return bool(lower > target)


def latency_verdicts(
    values: Mapping[str, float | None],
    targets: Mapping[str, float],
    bounds: Mapping[str, tuple[float | None, float | None] | list | None] | None = None,
) -> dict[str, dict]:
    """``{"p95": {"target": 0.2, "met": value <= target, "certain": ...}}`` for every target key.

    A target for a percentile that was not computed (missing or None) is
    reported with ``met: None`` and ``certain: None`` rather than dropped, so
    the report still shows that the target exists.
    """
    out: dict[str, dict] = {}
    for name, target in targets.items():
        value = values.get(name)
        met = None if value is None else bool(value <= target)
        b = (bounds or {}).get(name)
        certain = None if value is None or not b else latency_certain(target, b[0], b[1])
        out[name] = {"target": target, "met": met, "certain": certain}
    return out


def budget_minutes(target: float, measured_minutes: int) -> Decimal:
    """Down minutes the target allows over ``measured_minutes``, computed in decimal.

    ``(100 - 99.9) / 100`` in binary floats is 0.0009999999999999432; through
    the target's written decimal it is exactly 0.001, so a budget reads "44.6
    min", not float noise.
    """
    allowed = (Decimal(100) - Decimal(repr(float(target)))) / Decimal(100)
    return allowed * Decimal(measured_minutes)


def budget_used_percent(down: int, target: float, measured_minutes: int) -> Decimal | None:
    """Share of the error budget spent, in percent; None when the budget is zero."""
    budget = budget_minutes(target, measured_minutes)
    if budget <= 0:
        return None
    return Decimal(down) * 100 / budget
