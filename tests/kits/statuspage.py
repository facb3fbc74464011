"""Shared scenario of the status page tests: the built-in ``sample`` source at fixed times.

``scenario(dir)`` writes a config (the demo's, with known maintenance windows)
and incident posts: one attached to a detected outage, one ongoing, one that
matches nothing, and a set of hostile ones.  Everything is reproducible: the
sample data is a pure function of its seed and every build uses a fixed ``--at``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

from slactl.app.demo import demo_config
from slactl.app.statuspage import build_site, publish_site, status_page
from slactl.config import Config, load
from slactl.figures.status import PageIncident
from slactl.store.sql import Store

AT = datetime(2026, 2, 10, 12, 0, tzinfo=UTC)  # the db upgrade is running, an API incident is open
NOW = datetime(2026, 11, 1, tzinfo=UTC)


def iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def write_config(folder: Path, *, days: int = 90, timezone: str = "UTC", maintenance: list | None = None) -> Path:
    """The demo config with our own maintenance windows and page settings."""
    folder.mkdir(parents=True, exist_ok=True)
    raw = yaml.safe_load(demo_config("2026-02", 42))
    raw["timezone"] = timezone
    raw["maintenance"] = maintenance if maintenance is not None else [
        {"start": "2026-01-17T02:00:00Z", "end": "2026-01-17T04:00:00Z", "services": ["db"], "reason": "Storage migration"},
        {"start": "2026-02-10T11:00:00Z", "end": "2026-02-10T13:00:00Z", "services": ["db"], "reason": "Database engine upgrade"},
        {"start": "2026-02-14T02:00:00Z", "end": "2026-02-14T03:30:00Z", "reason": "Network equipment replacement"},
    ]
    raw["status_page"] = {"title": "Generic Corp Status", "incidents_dir": "incidents", "days": days}
    raw["publish"] = {"status_page": {"dir": "public"}, "reports": {"dir": "reports"}}
    path = folder / "slactl.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    (folder / "incidents").mkdir(exist_ok=True)
    return path


def post(folder: Path, name: str, front: dict, body: str = "") -> Path:
    path = folder / "incidents" / name
    path.write_text("---\n" + yaml.safe_dump(front, sort_keys=False) + "---\n" + body, encoding="utf-8")
    return path


HOSTILE = {
    "scripty.md": "---\ntitle: \"<script>alert('t')</script> Login errors\"\nseverity: minor\nservices: [auth]\n"
    "started: 2026-01-05T09:00:00Z\nresolved: 2026-01-05T09:30:00Z\nupdates:\n"
    "  - {at: 2026-01-05T09:30:00Z, status: resolved, text: \"<img src=x onerror=alert(1)> fixed [click](javascript:alert(1))\"}\n"
    "---\n<script>alert('body')</script>\n\n[x](javascript:alert(1)) [y](JaVaScRiPt:alert(2)) <javascript:alert(3)>\n"
    "[d](data:text/html;base64,PHNjcmlwdD4=) ![pixel](https://tracker.invalid/p.png) [ok](https://example.com/pm)\n"
    "<iframe src=\"https://evil.invalid\"></iframe>\n",
    "broken.md": "---\ntitle: [unclosed\nseverity: major\n---\nbody\n",
    "nofront.md": "Just some text without front matter.\n",
    "badstatus.md": "---\ntitle: Odd\nseverity: minor\nstarted: 2026-01-06T10:00:00Z\n"
    "updates:\n  - {at: 2026-01-06T10:00:00Z, status: panicking, text: help}\n---\n",
    "typo.md": "---\ntitle: Typo\nseverity: minor\nstarted: 2026-01-06T10:00:00Z\nservices: [apii]\n---\n",
}


@dataclass
class Scenario:
    config: Path
    cfg: Config
    attached: PageIncident  # the detected incident the attached post covers


def scenario(folder: Path, *, hostile: bool = True) -> Scenario:
    """Config, store (warmed) and posts of the shared scenario."""
    config = write_config(folder)
    cfg = load(config)
    store = Store(cfg.store_url)
    try:
        page = status_page(cfg, store, AT, NOW).page
    finally:
        store.close()
    detected = [i for i in page.incidents if i.services == ("api",) and i.resolved_at is not None]
    target = detected[-1]  # the oldest resolved API outage of the window
    start = target.started_at
    post(
        folder,
        "api-deploy.md",
        {
            "title": "Elevated API error rates",
            "severity": "major",
            "services": ["api"],
            "started": iso(start - timedelta(minutes=2)),
            "resolved": iso(target.resolved_at + timedelta(minutes=5)),
            "updates": [
                {"at": iso(start + timedelta(minutes=3)), "status": "investigating", "text": "We are looking into API errors."},
                {"at": iso(start + timedelta(minutes=8)), "status": "identified", "text": "A bad deploy; rolling back."},
                {"at": iso(target.resolved_at + timedelta(minutes=5)), "status": "resolved", "text": "Rolled back."},
            ],
        },
        "## What happened\n\nA configuration change shipped with a typo. See the [runbook](https://example.com/rb).\n",
    )
    post(
        folder,
        "webhooks.md",
        {
            "title": "Delayed webhook deliveries",
            "severity": "minor",
            "services": ["web"],
            "started": "2026-02-10T10:30:00Z",
            "updates": [
                {"at": "2026-02-10T10:40:00Z", "status": "investigating", "text": "Webhooks are delayed by up to 10 minutes."},
                {"at": "2026-02-10T11:20:00Z", "status": "monitoring", "text": "A fix is out; **watching** the queue."},
                {"at": "2026-02-10T13:00:00Z", "status": "resolved", "text": "Queue drained (published after AT)."},
            ],
        },
    )
    if hostile:
        for name, text in HOSTILE.items():
            (folder / "incidents" / name).write_text(text, encoding="utf-8")
        (folder / "incidents" / "huge.md").write_bytes(b"---\ntitle: Huge\n---\n" + b"x" * (5 * 1024 * 1024))
    return Scenario(config, load(config), target)


def build(config: Path, out: Path, at: datetime = AT) -> tuple[dict[str, bytes], list[str]]:
    """Build the scenario's site as of ``at`` into ``out``; return its files and warnings."""
    cfg = load(config)
    store = Store(cfg.store_url)
    try:
        files, warnings = build_site(cfg, store, at, NOW)
    finally:
        store.close()
    publish_site(cfg, files, out=out)
    return files, warnings
