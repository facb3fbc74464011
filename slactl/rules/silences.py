"""Alertmanager silences for maintenance windows: the bodies of ``POST /api/v2/silences``.

A silence's matchers all have to match (they are ANDed), so a window covering
several services becomes one silence per service, each matching
``service="NAME"`` — the label every alert slactl generates for a service
carries.  Windows that have ended by ``now`` are left out (Alertmanager would
refuse an end in the past); one that is under way starts when it started, and
Alertmanager counts it from the moment it is created.

A window is known by what it says, never by where it stands in the config: its
*key* is a short hash of its services (sorted, each once; ``*`` when it covers
every service), start, end and reason, written into the silence's comment as
``slactl maintenance <key>``.  Moving a window up or down the list, inserting
one before it or naming a service twice therefore changes nothing, and
:func:`same` — whether an existing silence already does what a body asks, which
is what makes ``push`` idempotent — compares keys.  A window whose list of
services is edited gets a new key, yet the services it still covers keep their
silences (same service, start, end and reason).  Silences written by earlier
releases carry ``slactl maintenance[<position>]`` instead; those are recognised
by their matchers, start and end, so upgrading creates no duplicate either.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from slactl.config import Config

CREATED_BY = "slactl"
KEY_LENGTH = 12  # hex digits of the SHA-256 of the window's content
_KEY = re.compile(rf"^Maintenance: (.*) \(slactl maintenance ([0-9a-f]{{{KEY_LENGTH}}})\)$", re.DOTALL)
_POSITION = re.compile(r"\(slactl maintenance\[\d+\]\)$")  # the comment of releases before the key
_FRACTION = re.compile(r"(\.\d{6})\d+")  # Go may write nanoseconds; Python reads at most microseconds


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def window_key(services: list[str] | None, start: datetime, end: datetime, reason: str) -> str:
    """The window's identity: a hash of its services (sorted, each once), start, end and reason."""
    doc = {
        "services": "*" if services is None else sorted(set(services)),
        "start": _iso(start),
        "end": _iso(end),
        "reason": " ".join(reason.split()),
    }
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:KEY_LENGTH]


def silences(cfg: Config, now: datetime) -> list[dict[str, Any]]:
    """One silence body per (maintenance window that has not ended, service it covers), in config order.

    A service named twice in a window, or two windows saying the same thing,
    give one body.
    """
    out = []
    seen: set[tuple[str, str]] = set()
    for window in cfg.maintenance:
        if window.end <= now:
            continue
        key = window_key(window.services, window.start, window.end, window.reason)
        reason = " ".join(window.reason.split()) or "no reason given"
        covered = window.services if window.services is not None else list(cfg.services)
        for service in dict.fromkeys(covered):
            if (key, service) in seen:
                continue
            seen.add((key, service))
            out.append(
                {
                    "matchers": [{"name": "service", "value": service, "isRegex": False, "isEqual": True}],
                    "startsAt": _iso(window.start),
                    "endsAt": _iso(window.end),
                    "createdBy": CREATED_BY,
                    "comment": f"Maintenance: {reason} (slactl maintenance {key})",
                }
            )
    return out


def _instant(text: Any) -> datetime:
    if not isinstance(text, str):
        raise ValueError(f"not a time: {text!r}")
    return datetime.fromisoformat(_FRACTION.sub(r"\1", text.replace("Z", "+00:00"))).astimezone(UTC)


def _matchers(items: Any) -> frozenset[tuple[str, str, bool, bool]]:
    if not isinstance(items, list) or not all(isinstance(m, dict) for m in items):
        raise ValueError("matchers are not a list of objects")
    return frozenset((m["name"], m["value"], bool(m.get("isRegex")), bool(m.get("isEqual", True))) for m in items)


def _started_as(existing: dict[str, Any], body: dict[str, Any]) -> bool:
    """The existing silence starts when the body does, or was created after that start.

    Alertmanager moves a start in the past to the moment it creates the
    silence, and sets ``updatedAt`` to that same moment: a start after the
    body's start and no later than ``updatedAt`` is such a moved start.
    """
    start, wanted = _instant(existing.get("startsAt")), _instant(body["startsAt"])
    if start == wanted:
        return True
    updated = existing.get("updatedAt")
    return wanted < start and (updated is None or start <= _instant(updated) + timedelta(seconds=1))


def same(existing: Any, body: dict[str, Any]) -> bool:
    """An existing (not expired) slactl silence for the body's window, with its matchers and end.

    The window is told by the key in the comment.  A silence with another key
    but the same service, reason, start and end does the same (the window's
    services were edited); so does one of an earlier release (position in the
    comment) with the same service, start and end.  A malformed entry is never
    the same.
    """
    if not isinstance(existing, dict) or existing.get("createdBy") != body["createdBy"]:
        return False
    status = existing.get("status", {})
    if not isinstance(status, dict) or status.get("state") == "expired":
        return False
    comment = existing.get("comment")
    if not isinstance(comment, str):
        return False
    try:
        if _matchers(existing.get("matchers")) != _matchers(body["matchers"]):
            return False
        if _instant(existing.get("endsAt")) != _instant(body["endsAt"]):
            return False
        found, wanted = _KEY.match(comment), _KEY.match(body["comment"])
        if found is not None and wanted is not None:
            if found.group(2) == wanted.group(2):
                return True
            # Another key with this service, times and reason: the window's list of services
            # changed, and this service's silence is still the one it needs.
            return found.group(1) == wanted.group(1) and _started_as(existing, body)
        return _POSITION.search(comment) is not None and _started_as(existing, body)
    except (KeyError, TypeError, ValueError):
        return False
