"""Incidents on the status page: detected runs of down minutes, merged with hand-written posts.

Clustering down runs into detected incidents is a pure rule
(:func:`slactl.figures.status.clusters`); this module finds each service's runs
and merges the clusters with the posts.  A post absorbs the detected clusters
it overlaps, but only the runs of the services it names: the other services'
runs in the same cluster stay a detected incident of their own, so a post about
``api`` never speaks for ``web``.  Names and words come from the configuration.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from slactl.app.measure import ServiceMinutes
from slactl.config import Config
from slactl.figures.status import (
    RECENT,
    Cluster,
    DownRun,
    PageIncident,
    StatusUpdate,
    clusters,
    split_cluster,
)
from slactl.inputs.posts import Post
from slactl.model import minute_of
from slactl.sli import states
from slactl.sli.severity import severity

__all__ = ["RECENT", "detected", "merge_incidents", "minute_time", "stable_id"]


def stable_id(*parts: object) -> str:
    """A short id from names and times, so ids stay the same from build to build."""
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()
    return digest[:12]


def minute_time(minute: int) -> datetime:
    return datetime.fromtimestamp(minute * 60, tz=UTC)


def detected(cfg: Config, minutes: dict[str, ServiceMinutes], start: int, end: int) -> list[Cluster]:
    """Runs of down minutes of every service, overlapping runs of several services made one."""
    runs = [
        (a, b, name)
        for name, sm in minutes.items()
        for a, b in states.incidents(sm.states, start, cfg.services[name].incident_merge_gap_minutes)
    ]
    return clusters(runs, list(cfg.services), end)


def _what(cfg: Config, services: tuple[str, ...]) -> str:
    probes = all(cfg.services[s].availability.kind == "probe" for s in services)
    names = ", ".join(cfg.display_name(s) for s in services)
    return f"{'failing health checks' if probes else 'elevated error rates'} on {names}"


# An update before it gets its id: (status, at, body, markdown).
_Draft = tuple[str, datetime, str, bool]


def _auto_updates(cfg: Config, c: Cluster, end: int) -> list[_Draft]:
    """A detected incident's updates: found at its first down minute, recovered at its end."""
    names, mins = ", ".join(cfg.display_name(s) for s in c.services), c.end - c.start
    ups: list[_Draft] = [("investigating", minute_time(c.start), f"Automated monitoring detected {_what(cfg, c.services)}.", False)]
    if not c.ongoing:
        done = c.end <= end - RECENT  # recovered minutes ago: still watching
        body = f"{names} recovered after {mins} minute{'s' if mins != 1 else ''}." + ("" if done else " We are monitoring.")
        ups.append(("resolved" if done else "monitoring", minute_time(c.end), body, False))
    return ups


def _visible(post: Post, at: datetime) -> tuple[list[_Draft], datetime | None]:
    """A post's updates published by ``at``, and when it was resolved as of ``at``."""
    ups: list[_Draft] = [(u.status, u.at, u.text, True) for u in post.updates if u.at <= at]
    resolved = post.resolved if post.resolved is not None and post.resolved <= at else None
    if resolved is None and ups and ups[-1][0] in ("resolved", "postmortem"):
        resolved = next(u[1] for u in ups if u[0] in ("resolved", "postmortem"))
    return ups, resolved


def _incident(cfg: Config, at: datetime, end: int, post: Post | None, found: list[Cluster]) -> PageIncident:
    """One incident: a post with the detected runs it overlaps, or a detected run alone."""
    runs = [r for c in found for r in c.runs]
    services = {r[0] for r in runs}
    starts = [minute_time(c.start) for c in found]
    if post is not None:
        drafts, resolved = _visible(post, at)
        if not drafts:  # a post with only a body: say what its times say
            drafts = [("investigating", post.started, post.title, False)]
            if resolved is not None:
                drafts.append(("resolved", resolved, "This incident has been resolved.", False))
        services |= set(post.services)
        status = drafts[-1][0]
        if resolved is not None and status not in ("resolved", "postmortem"):
            status = "resolved"
        ident, name, impact = stable_id("post", post.slug), post.title, post.severity
        started = min([post.started, *starts])
    else:
        c = found[0]
        drafts = _auto_updates(cfg, c, end)
        status = drafts[-1][0]
        resolved = minute_time(c.end) if status == "resolved" else None
        sev = cfg.incidents.severity
        impact = severity(c.end - c.start, sev.major_minutes, sev.critical_minutes)
        ident, started = stable_id("detected", c.start), starts[0]
        what = _what(cfg, c.services)
        name = what[0].upper() + what[1:]
    updates = [
        StatusUpdate(stable_id(ident, i, when.isoformat(), st), st, when, body, markdown)
        for i, (st, when, body, markdown) in enumerate(drafts)
    ]
    return PageIncident(
        id=ident,
        name=name,
        status=status,
        impact=impact,
        file=post.file if post else None,
        detected=bool(found),
        services=tuple(s for s in cfg.services if s in services),
        service_names=tuple(cfg.display_name(s) for s in cfg.services if s in services),
        # what an open post may set the state of: the services it names (all it touches if none)
        post_services=tuple(post.services) if post is not None and post.services else None,
        down=tuple(DownRun(s, minute_time(a), minute_time(b), b - a) for s, a, b in runs),
        started_at=started,
        created_at=min(started, updates[0].at),
        updated_at=max(u.at for u in updates),
        monitoring_at=next((u.at for u in updates if u.status == "monitoring"), None),
        resolved_at=resolved,
        updates=tuple(sorted(updates, key=lambda u: u.at, reverse=True)),
        body=post.body if post and post.body.strip() else "",
    )


def merge_incidents(
    cfg: Config, posts: list[Post], detected: list[Cluster], at: datetime, start: int, end: int
) -> list[PageIncident]:
    """Posts absorb the detected incidents they overlap (in time and service); the rest stand alone."""
    detected = list(detected)
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
            if i in claimed or not (c.start < p_end and p_start < c.end):
                continue
            if post.services and not set(post.services) & set(c.services):
                continue
            claimed.add(i)
            if post.services and not set(c.services) <= set(post.services):
                # The post speaks for the services it names; the other services'
                # runs in the same cluster stay a detected incident of their own.
                mine, rest = split_cluster(c, set(post.services), list(cfg.services), end)
                found.append(mine)
                detected.append(rest)
                continue
            found.append(c)
        out.append(_incident(cfg, at, end, post, found))
    out += [_incident(cfg, at, end, None, [c]) for i, c in enumerate(detected) if i not in claimed]
    return sorted(out, key=lambda x: (x.started_at, x.id), reverse=True)
