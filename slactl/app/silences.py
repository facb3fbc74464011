"""``slactl alerts silences``: maintenance windows as Alertmanager silences, written or pushed.

``push`` lists the silences Alertmanager already holds and creates only those
no existing one matches (:func:`slactl.rules.silences.same`), so running it
again — from cron, or after every config change — creates nothing new.  A
window is matched by its content (services, start, end, reason), not by its
place in the config, so reordering or inserting windows creates nothing new
either.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from slactl.config import Config
from slactl.publish.alertmanager import Alertmanager
from slactl.publish.files import write_atomic
from slactl.rules.silences import same, silences


def write(cfg: Config, out: Path, now: datetime) -> list[dict[str, Any]]:
    """Write the silence bodies as one JSON array to ``out``."""
    bodies = silences(cfg, now)
    write_atomic(out, (json.dumps(bodies, indent=2) + "\n").encode("utf-8"))
    return bodies


@dataclass
class Pushed:
    created: list[str] = field(default_factory=list)  # ids of the new silences
    kept: int = 0  # bodies an existing silence already covered


def push(cfg: Config, url: str, now: datetime, *, transport: Any = None, timeout: float | None = None) -> Pushed:
    """Create every silence Alertmanager does not hold yet, within ``timeout`` seconds in all (None: the default)."""
    result = Pushed()
    with Alertmanager(url, transport=transport, **({} if timeout is None else {"timeout": timeout})) as am:
        existing: list[Any] = list(am.silences())
        for body in silences(cfg, now):
            if any(same(s, body) for s in existing):
                result.kept += 1
                continue
            result.created.append(am.create(body))
            existing.append({**body, "status": {"state": "pending"}})
    return result
