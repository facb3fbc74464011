"""The pure part of ``alerts backtest``: conditions from minute states, firing intervals, incidents.

Times are epoch minutes.  With ``burn_on: minutes`` the conditions come from the
minute states (:func:`true_steps`, simulated by :mod:`slactl.rules.burnsim`); with ``requests`` the
source evaluates an alert's condition at the end of
every minute ``m`` (``m·60 + 59.999 s``, like the report's queries), so a true
step ``m`` is known at the boundary ``m + 1``.  As Prometheus does, a run of true
steps starting at ``a`` is *pending* from then and *fires* at the first step at
least ``for:`` later (step ``a + ceil(for/1m)``, i.e. at boundary ``a + k + 1``);
it *resolves* at the first false step after the run (boundary ``b + 2`` for a run
ending at step ``b``).

A firing *catches* an incident ``[start, end)`` when it is firing at some time in
``[start, end + short window)``: the short window still holds the incident's
errors that long after it ended, so a firing then is caused by it.  The delay is
from the incident's start to the first such firing time.  A firing that catches
no incident is *unmatched*: the noise a team would have been paged for.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from slactl.model import minute_to_iso
from slactl.rules import burnsim


@dataclass(frozen=True)
class Firing:
    """One interval during which an alert would have been firing."""

    long_window: str
    short_window: str
    start: int  # boundary minute it fired
    end: int | None  # boundary minute it resolved; None: still firing at the end
    grace: int  # the short window in minutes

    def catches(self, start: int, end: int) -> int | None:
        """The first minute this firing covers in ``[start, end + grace)``, or None."""
        first = max(self.start, start)
        stop = end + self.grace
        if first < stop and (self.end is None or self.end > first):
            return first
        return None


LONG_INCIDENT_MINUTES = 5  # incidents this long must page


def firing_intervals(true_steps: Iterable[int], first: int, last: int, hold_minutes: int) -> list[tuple[int, int | None]]:
    """Firing intervals of steps ``[first, last)`` with condition true at ``true_steps``."""
    cond = np.zeros(max(last - first, 0), dtype=bool)
    steps = np.fromiter((s - first for s in true_steps if first <= s < last), dtype=np.int64)
    cond[steps] = True
    fires = burnsim.firing(cond, hold_minutes)
    edges = np.diff(np.concatenate(([0], fires.astype(np.int8), [0])))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1  # runs of firing steps
    return [(first + int(a) + 1, None if first + int(b) + 1 >= last else first + int(b) + 2) for a, b in zip(starts, ends, strict=True)]


def true_steps(states: np.ndarray, first_minute: int, long: int, short: int, threshold: float) -> list[int]:
    """Minutes at whose end both windows' down shares exceed ``threshold``."""
    return [first_minute + int(i) for i in np.flatnonzero(burnsim.condition(states, long, short, threshold))]


def false_minutes(firings: Sequence[Firing], incidents: Sequence[tuple[int, int]], start: int, end: int,
                  excluded: Iterable[int] = ()) -> int:
    """Minutes of ``[start, end)`` in which some firing is not explained by an incident.

    A firing minute is explained when it lies in ``[incident start, incident end +
    the alert's short window)``: the short window still holds the incident's down
    minutes that long.  Minutes in a maintenance window are silenced, not paged.
    """
    silenced = set(excluded)
    bad: set[int] = set()
    for f in firings:
        stop = end if f.end is None else min(f.end, end)
        for minute in range(max(f.start, start), stop):
            if minute in silenced:
                continue
            if not any(a <= minute < b + f.grace for a, b in incidents):
                bad.add(minute)
    return len(bad)


@dataclass
class Detection:
    start: int
    end: int
    detected_at: int | None

    def as_dict(self) -> dict:
        return {
            "start": minute_to_iso(self.start),
            "end": minute_to_iso(self.end),
            "detected_at": None if self.detected_at is None else minute_to_iso(self.detected_at),
            "delay_minutes": None if self.detected_at is None else self.detected_at - self.start,
        }


def match(firings: Sequence[Firing], incidents: Sequence[tuple[int, int]]) -> tuple[list[Detection], list[bool]]:
    """Each incident's first detection, and for each firing whether it caught any incident."""
    matched = [False] * len(firings)
    found = []
    for start, end in incidents:
        best: int | None = None
        for i, f in enumerate(firings):
            at = f.catches(start, end)
            if at is not None:
                matched[i] = True
                best = at if best is None else min(best, at)
        found.append(Detection(start, end, best))
    return found, matched


def severity_summary(
    firings: Sequence[Firing], incidents: Sequence[tuple[int, int]], hold: dict[str, str], false_page_minutes: int = 0
) -> dict:
    """The JSON block of one service and severity."""
    found, matched = match(firings, incidents)
    caught = sum(d.detected_at is not None for d in found)
    long_ones = [d for d in found if d.end - d.start >= LONG_INCIDENT_MINUTES]
    return {
        "incidents": len(incidents),
        "caught": caught,
        "missed": len(incidents) - caught,
        "missed_long": sum(d.detected_at is None for d in long_ones),
        "false_minutes": false_page_minutes,
        "unmatched_firings": matched.count(False),
        "detections": [d.as_dict() for d in found],
        "firings": [
            {
                "long_window": f.long_window,
                "short_window": f.short_window,
                "for": hold[f"{f.long_window}/{f.short_window}"],
                "fired_at": minute_to_iso(f.start),
                "resolved_at": None if f.end is None else minute_to_iso(f.end),
                "matched": ok,
            }
            for f, ok in zip(firings, matched, strict=True)
        ],
    }


def _short(iso: str | None) -> str:
    return "-" if iso is None else iso[:16].replace("T", " ")


def table(result: dict) -> str:
    """The backtest as a plain-text table: one row per service and severity, then each firing."""
    head = (
        "service", "severity", "incidents", "caught", "missed", "missed>=5m", "false min", "unmatched", "firings",
        "delays (min)",
    )
    rows = [head]
    lines: list[str] = []
    for name, svc in result["services"].items():
        for sev, block in svc["severities"].items():
            delays = [str(d["delay_minutes"]) for d in block["detections"] if d["delay_minutes"] is not None]
            rows.append(
                (
                    name,
                    sev,
                    str(block["incidents"]),
                    str(block["caught"]),
                    str(block["missed"]),
                    str(block.get("missed_long", 0)),
                    str(block.get("false_minutes", 0)),
                    str(block["unmatched_firings"]),
                    str(len(block["firings"])),
                    ", ".join(delays) or "-",
                )
            )
            for f in block["firings"]:
                lines.append(
                    f"  {name} {sev} {f['long_window']}/{f['short_window']} (for {f['for']}): "
                    f"fired {_short(f['fired_at'])}, resolved {_short(f['resolved_at'])}"
                    f"{'' if f['matched'] else '  [no incident]'}"
                )
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    text = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    period = result["period"]
    burn_on = result.get("burn_on", "requests")
    out = [
        f"Backtest of ErrorBudgetBurn (burn_on: {burn_on}) for {result['month']} "
        f"({period['start']} to {period['end']}, step 1m)",
        *text,
    ]
    if lines:
        out += ["", "Firings:", *lines]
    for name, why in result.get("skipped", {}).items():
        out.append(f"skipped {name}: {why}")
    return "\n".join(out) + "\n"
