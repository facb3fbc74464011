"""Incidents on the status page: detected runs of down minutes, merged with hand-written posts.

A detected incident is a cluster of overlapping down runs of several services;
its impact is its severity by length.  A post absorbs the detected clusters it
overlaps, but only the runs of the services it names: the other services' runs
in the same cluster stay a detected incident of their own, so a post about
``api`` never speaks for ``web``.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from slactl.app.measure import ServiceMinutes
from slactl.config import Config
from slactl.model import minute_of
from slactl.render.posts import Post
from slactl.sli import states
from slactl.sli.severity import severity

RECENT = 5  # minutes: a run that ended this recently is still being monitored


def stable_id(*parts: object) -> str:
    """A short id from names and times, so ids stay the same from build to build."""
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()
    return digest[:12]


def minute_time(minute: int) -> datetime:
    return datetime.fromtimestamp(minute * 60, tz=UTC)


def detected(cfg: Config, minutes: dict[str, ServiceMinutes], start: int, end: int) -> list[dict[str, Any]]:
    """Runs of down minutes of every service, overlapping runs of several services made one."""
    runs = []
    for name, sm in minutes.items():
        for a, b in states.incidents(sm.states, start, cfg.services[name].incident_merge_gap_minutes):
            runs.append((a, b, name))
    clusters: list[dict[str, Any]] = []
    for a, b, name in sorted(runs):
        if clusters and a <= clusters[-1]["end"]:
            c = clusters[-1]
            c["end"] = max(c["end"], b)
            c["runs"].append((name, a, b))
        else:
            clusters.append({"start": a, "end": b, "runs": [(name, a, b)]})
    for c in clusters:
        c["services"] = sorted({r[0] for r in c["runs"]}, key=list(cfg.services).index)
        c["ongoing"] = c["end"] >= end
    return clusters


def _what(cfg: Config, services: list[str]) -> str:
    probes = all(cfg.services[s].availability.kind == "probe" for s in services)
    names = ", ".join(cfg.display_name(s) for s in services)
    return f"{'failing health checks' if probes else 'elevated error rates'} on {names}"


def _auto_updates(cfg: Config, c: dict[str, Any], end: int) -> list[dict[str, Any]]:
    """A detected incident's updates: found at its first down minute, recovered at its end."""
    names, mins = ", ".join(cfg.display_name(s) for s in c["services"]), c["end"] - c["start"]
    ups = [{"status": "investigating", "at": minute_time(c["start"]), "body": f"Automated monitoring detected {_what(cfg, c['services'])}."}]
    if not c["ongoing"]:
        done = c["end"] <= end - RECENT  # recovered minutes ago: still watching
        body = f"{names} recovered after {mins} minute{'s' if mins != 1 else ''}." + ("" if done else " We are monitoring.")
        ups.append({"status": "resolved" if done else "monitoring", "at": minute_time(c["end"]), "body": body})
    return ups


def _visible(post: Post, at: datetime) -> tuple[list[dict[str, Any]], datetime | None]:
    """A post's updates published by ``at``, and when it was resolved as of ``at``."""
    ups: list[dict[str, Any]] = [{"status": u.status, "at": u.at, "body": u.text, "html": u.html} for u in post.updates if u.at <= at]
    resolved = post.resolved if post.resolved is not None and post.resolved <= at else None
    if resolved is None and ups and ups[-1]["status"] in ("resolved", "postmortem"):
        resolved = next(u["at"] for u in ups if u["status"] in ("resolved", "postmortem"))
    return ups, resolved


def _incident(
    cfg: Config, at: datetime, end: int, post: Post | None, found: list[dict[str, Any]]
) -> dict[str, Any]:
    """One incident: a post with the detected runs it overlaps, or a detected run alone."""
    runs = [r for c in found for r in c["runs"]]
    services = {r[0] for r in runs}
    starts = [minute_time(c["start"]) for c in found]
    if post is not None:
        updates, resolved = _visible(post, at)
        if not updates:  # a post with only a body: say what its times say
            updates = [{"status": "investigating", "at": post.started, "body": post.title, "html": ""}]
            if resolved is not None:
                updates.append({"status": "resolved", "at": resolved, "body": "This incident has been resolved."})
        services |= set(post.services)
        status = updates[-1]["status"]
        if resolved is not None and status not in ("resolved", "postmortem"):
            status = "resolved"
        ident, name, impact = stable_id("post", post.slug), post.title, post.severity
        started = min([post.started, *starts])
    else:
        c = found[0]
        updates = _auto_updates(cfg, c, end)
        status = updates[-1]["status"]
        resolved = minute_time(c["end"]) if status == "resolved" else None
        sev = cfg.incidents.severity
        impact = severity(c["end"] - c["start"], sev.major_minutes, sev.critical_minutes)
        ident, started = stable_id("detected", c["start"]), starts[0]
        what = _what(cfg, c["services"])
        name = what[0].upper() + what[1:]
    for i, u in enumerate(updates):
        u["id"] = stable_id(ident, i, u["at"].isoformat(), u["status"])
    monitoring = next((u["at"] for u in updates if u["status"] == "monitoring"), None)
    return {
        "id": ident,
        "name": name,
        "status": status,
        "impact": impact,
        "file": post.file if post else None,
        "detected": bool(found),
        "services": [s for s in cfg.services if s in services],
        "service_names": [cfg.display_name(s) for s in cfg.services if s in services],
        # what an open post may set the state of: the services it names (all it touches if none)
        "post_services": list(post.services) if post is not None and post.services else None,
        "down": [{"service": s, "start": minute_time(a), "end": minute_time(b), "minutes": b - a} for s, a, b in runs],
        "started_at": started,
        "created_at": min(started, updates[0]["at"]),
        "updated_at": max(u["at"] for u in updates),
        "monitoring_at": monitoring,
        "resolved_at": resolved,
        "updates": sorted(updates, key=lambda u: u["at"], reverse=True),
        "body_html": post.body_html if post else "",
    }


def merge_incidents(
    cfg: Config, posts: list[Post], detected: list[dict[str, Any]], at: datetime, start: int, end: int
) -> list[dict[str, Any]]:
    """Posts absorb the detected incidents they overlap (in time and service); the rest stand alone."""
    claimed: set[int] = set()
    out = []
    at_minute = minute_of(at)
    for post in sorted(posts, key=lambda p: (p.started, p.file)):
        if post.started > at:
            continue  # not written yet at ``at``
        _, resolved = _visible(post, at)
        p_start = minute_of(post.started)
        p_end = max(-(-int(resolved.timestamp()) // 60) if resolved else at_minute + 1, p_start + 1)
        if p_end <= start:
            continue  # resolved before the window
        found = []
        for i, c in enumerate(detected):
            if i in claimed or not (c["start"] < p_end and p_start < c["end"]):
                continue
            if post.services and not set(post.services) & set(c["services"]):
                continue
            claimed.add(i)
            if post.services and not set(c["services"]) <= set(post.services):
                # The post speaks for the services it names; the other services'
                # runs in the same cluster stay a detected incident of their own.
                mine, rest = _split_cluster(cfg, c, set(post.services), end)
                found.append(mine)
                detected.append(rest)
                continue
            found.append(c)
        out.append(_incident(cfg, at, end, post, found))
    out += [_incident(cfg, at, end, None, [c]) for i, c in enumerate(detected) if i not in claimed]
    return sorted(out, key=lambda x: (x["started_at"], x["id"]), reverse=True)


def _split_cluster(
    cfg: Config, c: dict[str, Any], named: set[str], end: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A detected cluster cut into the runs of ``named`` services and the rest."""
    parts = []
    for runs in ([r for r in c["runs"] if r[0] in named], [r for r in c["runs"] if r[0] not in named]):
        a, b = min(r[1] for r in runs), max(r[2] for r in runs)
        svcs = sorted({r[0] for r in runs}, key=list(cfg.services).index)
        parts.append({"start": a, "end": b, "runs": runs, "services": svcs, "ongoing": b >= end})
    return parts[0], parts[1]


