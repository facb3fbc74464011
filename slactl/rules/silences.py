"""Alertmanager silences for maintenance windows: the bodies of ``POST /api/v2/silences``.

A silence's matchers all have to match (they are ANDed), so a window covering
several services becomes one silence per service, each matching
``service="NAME"`` — the label every alert slactl generates for a service
carries.  Windows that have ended by ``now`` are left out (Alertmanager would
refuse an end in the past); one that is under way starts when it started, and
Alertmanager counts it from the moment it is created.

:func:`same` says whether an existing silence already does what a body asks,
which is what makes ``push`` idempotent.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from slactl.config import Config

CREATED_BY = "slactl"


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def silences(cfg: Config, now: datetime) -> list[dict[str, Any]]:
    """One silence body per (maintenance window that has not ended, service it covers), in config order."""
    out = []
    for i, window in enumerate(cfg.maintenance):
        if window.end <= now:
            continue
        reason = " ".join(window.reason.split()) or "no reason given"
        for service in window.services if window.services is not None else list(cfg.services):
            out.append(
                {
                    "matchers": [{"name": "service", "value": service, "isRegex": False, "isEqual": True}],
                    "startsAt": _iso(window.start),
                    "endsAt": _iso(window.end),
                    "createdBy": CREATED_BY,
                    "comment": f"Maintenance: {reason} (slactl maintenance[{i}])",
                }
            )
    return out


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def _matchers(items: list[dict[str, Any]]) -> frozenset[tuple[str, str, bool, bool]]:
    return frozenset((m["name"], m["value"], bool(m.get("isRegex")), bool(m.get("isEqual", True))) for m in items)


def same(existing: dict[str, Any], body: dict[str, Any]) -> bool:
    """An existing (not expired) silence with the body's matchers, end, author and comment.

    The start is not compared: Alertmanager moves a start in the past to the
    moment the silence was created.
    """
    if existing.get("status", {}).get("state") == "expired":
        return False
    return (
        _matchers(existing.get("matchers", [])) == _matchers(body["matchers"])
        and _instant(existing["endsAt"]) == _instant(body["endsAt"])
        and existing.get("createdBy") == body["createdBy"]
        and existing.get("comment") == body["comment"]
    )
