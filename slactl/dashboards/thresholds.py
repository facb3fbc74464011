"""Threshold steps of the generated panels: exact numbers, one colour per tier.

Kept apart from the panels so the numbers a panel turns red at are easy to find
and match the alert thresholds and the SLA tiers they come from.
"""

from __future__ import annotations

import colorsys
from typing import Any

from slactl.config import Tier

Steps = list[dict[str, Any]]


def num(x: float) -> str:
    """A number for PromQL and JSON text: short, exact enough, never ``0.05000000000000004``."""
    return f"{x:.10g}"


def steps(base: str, *points: tuple[float, str]) -> Steps:
    """Threshold steps: ``base`` colour below the first point, then each colour from its value.

    Values go through :func:`num` so arithmetic like ``0.8 - 0.1`` or ``14.4 * 0.15``
    lands in the JSON as ``0.7`` and ``2.16``, not as binary-float noise.
    """
    return [{"color": base, "value": None}] + [
        {"color": c, "value": float(num(v))} for v, c in points
    ]


# A colour of its own per tier target, worst to best (red is "below every tier").
TIER_COLOURS: dict[int, tuple[str, ...]] = {
    1: ("green",),
    2: ("yellow", "green"),
    3: ("orange", "yellow", "green"),
    4: ("orange", "yellow", "light-green", "green"),
}


def _tier_colours(n: int) -> list[str]:
    """``n`` distinct colours ending in green; beyond four tiers, hex shades orange to green."""
    if n in TIER_COLOURS:
        return list(TIER_COLOURS[n])
    out = []
    for i in range(n):
        r, g, b = colorsys.hsv_to_rgb((30 + 90 * i / (n - 1)) / 360, 0.75, 0.8)
        out.append(f"#{round(r * 255):02x}{round(g * 255):02x}{round(b * 255):02x}")
    return out


def uptime_steps(tiers: dict[str, Tier]) -> Steps:
    """Red below every tier, then a colour of its own from each tier's target, green at the top.

    Tiers with the same target share its step (a threshold has one colour).
    """
    targets = sorted({t.uptime_target for t in tiers.values()})
    if not targets:
        return steps("blue")
    return steps("red", *zip(targets, _tier_colours(len(targets)), strict=True))


def latency_steps(target: float | None) -> Steps:
    return steps("green", (target, "red")) if target is not None else steps("green")


BURN_STEPS = steps("green", (1.0, "yellow"), (6.0, "orange"), (14.4, "red"))
BUDGET_STEPS = steps("red", (0.0, "orange"), (0.25, "green"))
