"""Incident severity by duration (minor · major · critical).

A detected incident has no human judgement attached, so its severity is the
only thing its length can say: short blips are ``minor``, and only an outage
long enough to hurt is ``major`` or ``critical``.  Thresholds are the config's.
"""

from __future__ import annotations

from typing import Literal

Severity = Literal["minor", "major", "critical"]
SEVERITIES: tuple[Severity, ...] = ("minor", "major", "critical")


def severity(duration_minutes: int, major_minutes: int = 15, critical_minutes: int = 60) -> Severity:
    """``minor`` below ``major_minutes``, ``major`` below ``critical_minutes``, else ``critical``."""
    if duration_minutes < major_minutes:
        return "minor"
    if duration_minutes < critical_minutes:
        return "major"
    return "critical"


def count_by_severity(durations: list[int], major_minutes: int = 15, critical_minutes: int = 60) -> dict[str, int]:
    """How many incidents of each severity, every severity present (zeros included)."""
    out: dict[str, int] = dict.fromkeys(SEVERITIES, 0)
    for d in durations:
        out[severity(d, major_minutes, critical_minutes)] += 1
    return out
