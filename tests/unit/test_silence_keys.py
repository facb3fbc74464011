"""Silences are keyed by what a maintenance window says, never by where it stands in the config.

The bodies and :func:`slactl.rules.silences.same` without an Alertmanager: the
key survives reordering, inserting and a service named twice; it changes with
the services, start, end or reason; silences of the earlier position-keyed
comment match by matchers, start and end; malformed entries never match.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import yaml

from slactl.config import parse
from slactl.rules.silences import same, silences, window_key

NOW = datetime(2026, 2, 1, tzinfo=UTC)
BASE = {
    "sources": {"prom": {"type": "prometheus", "url": "http://127.0.0.1:9"}},
    "tiers": {"standard": {"uptime_target": 99.9}},
    "services": {
        "api0": {"source": "prom", "availability": {"probe": 'up{job="api0"}'}},
        "api1": {"source": "prom", "availability": {"probe": 'up{job="api1"}'}},
    },
}
A = {"start": "2036-03-01T02:00:00Z", "end": "2036-03-01T04:00:00Z", "services": ["api0", "api1"], "reason": "Upgrade"}
B = {"start": "2036-04-01T00:00:00Z", "end": "2036-04-01T00:30:00Z", "reason": "Network  change"}
C = {"start": "2036-02-01T00:00:00Z", "end": "2036-02-01T01:00:00Z", "services": ["api1"], "reason": "Certificates"}


def bodies(*windows: dict) -> list[dict]:
    text = yaml.safe_dump({**BASE, "maintenance": list(windows)})
    return silences(parse(text, base_dir=Path(".")), NOW)


def keyed(items: list[dict]) -> set[tuple[str, str]]:
    return {(b["matchers"][0]["value"], b["comment"]) for b in items}


def test_reordering_and_inserting_keep_every_comment():
    before = keyed(bodies(A, B))
    after = keyed(bodies(C, B, A))
    assert before < after and len(after - before) == 1
    assert all(c.startswith("Maintenance: ") and "maintenance[" not in c for _, c in after)


def test_a_service_named_twice_and_a_window_written_twice_give_one_body():
    twice = {**A, "services": ["api1", "api0", "api0"]}
    got = bodies(twice, A)
    assert sorted(b["matchers"][0]["value"] for b in got) == ["api0", "api1"]
    assert keyed(got) == keyed(bodies(A))


def test_the_key_is_the_content():
    start, end = datetime(2036, 3, 1, 2, tzinfo=UTC), datetime(2036, 3, 1, 4, tzinfo=UTC)
    key = window_key(["b", "a", "a"], start, end, "Upgrade")
    assert key == window_key(["a", "b"], start, end, " Upgrade ")
    assert len({key, window_key(["a"], start, end, "Upgrade"), window_key(None, start, end, "Upgrade"),
                window_key(["a", "b"], start, end, "Other"), window_key(["a", "b"], end, end, "Upgrade"),
                window_key(["a", "b"], start, start, "Upgrade")}) == 6  # fmt: skip


def existing(body: dict, **changes: object) -> dict:
    return {**body, "id": "x", "status": {"state": "pending"}, "updatedAt": "2026-02-01T00:00:00.000Z", **changes}


def test_same_compares_key_matchers_and_end():
    body = bodies(A)[0]
    assert same(existing(body), body)
    assert same(existing(body, startsAt="2036-03-01T02:30:00.123456789Z"), body)  # the key says the start
    assert not same(existing(body, status={"state": "expired"}), body)
    assert not same(existing(body, endsAt="2036-03-01T05:00:00.000Z"), body)
    assert not same(existing(body, createdBy="someone"), body)
    other = bodies({**A, "reason": "Other"})[0]
    assert not same(existing(other), body)
    # The window's services edited: api0's silence (same times and reason) still does the job.
    fewer = bodies({**A, "services": ["api0"]})[0]
    assert fewer["comment"] != body["comment"] and same(existing(fewer), body)
    assert not same(existing(fewer, startsAt="2036-03-01T02:30:00.000Z"), body)


def test_position_keyed_silences_of_earlier_releases_match_by_matchers_start_and_end():
    body = bodies(C, A)[1]
    old = existing(body, comment="Maintenance: Upgrade (slactl maintenance[0])")
    assert same(old, body)
    assert not same({**old, "startsAt": "2036-03-01T01:00:00.000Z"}, body)
    assert not same({**old, "startsAt": "2036-03-01T03:00:00.000Z"}, body)  # later, yet not moved by Alertmanager
    # A window under way when the old release pushed it: Alertmanager moved its start to that moment.
    moved = {**old, "startsAt": "2036-03-01T03:00:00.000Z", "updatedAt": "2036-03-01T03:00:00.000Z"}
    assert same(moved, body)
    assert not same({**old, "comment": "Maintenance: Upgrade"}, body)  # not slactl's


def test_malformed_entries_never_match():
    body = bodies(A)[0]
    for entry in (None, 3, "silence", [], {}, existing(body, endsAt=None), existing(body, matchers="x"),
                  existing(body, matchers=[1]), existing(body, status="active"), existing(body, comment=None),
                  existing(body, endsAt="not a time")):  # fmt: skip
        assert not same(entry, body), entry
    del_end = existing(body)
    del del_end["endsAt"]
    assert not same(del_end, body)
