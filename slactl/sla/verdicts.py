"""Whether measured figures meet their targets (SPEC section 4).

Verdicts are tri-state on purpose: a month whose figure cannot be computed
(no measured minutes, no latency observations) is neither met nor missed, and
a report must say "unknown" (JSON null) rather than silently pass or fail it.
"""

from __future__ import annotations

from collections.abc import Mapping


def tier_verdicts(uptime: float | None, targets: Mapping[str, float]) -> dict[str, dict]:
    """``{tier: {"target": t, "met": uptime >= t}}`` in the order of ``targets``.

    ``>=`` because an uptime exactly at the target honours the promise
    (SPEC: a tier is met when ``uptime_percent >= target``).
    """
    out: dict[str, dict] = {}
    for tier, target in targets.items():
        met = None if uptime is None else bool(uptime >= target)
        out[tier] = {"target": target, "met": met}
    return out


def latency_verdicts(
    values: Mapping[str, float | None], targets: Mapping[str, float]
) -> dict[str, dict]:
    """``{"p95": {"target": 0.2, "met": value <= target}}`` for every target key.

    A target for a percentile that was not computed (missing or None) is
    reported with ``met: None`` rather than dropped, so the report still shows
    that the target exists.
    """
    out: dict[str, dict] = {}
    for name, target in targets.items():
        value = values.get(name)
        met = None if value is None else bool(value <= target)
        out[name] = {"target": target, "met": met}
    return out
