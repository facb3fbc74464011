"""The built site: Statuspage v2 JSON shape, Atom feed, escaping of hostile posts, determinism, CLI."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import feedparser
import jsonschema
import pytest
from kits.statuspage import AT, build, scenario

from slactl.app.statuspage import stable_id
from slactl.cli.main import main

TS = {"type": "string", "pattern": r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$"}
TS_OR_NULL = {"anyOf": [TS, {"type": "null"}]}
ID = {"type": "string", "pattern": "^[0-9a-z]{12}$"}
COMPONENT_STATUS = ["operational", "degraded_performance", "partial_outage", "major_outage", "under_maintenance"]


def _obj(props: dict, **extra) -> dict:
    return {"type": "object", "required": list(props), "properties": props, **extra}


PAGE = _obj({"id": ID, "name": {"type": "string"}, "url": {"type": "string"}, "time_zone": {"type": "string"}, "updated_at": TS})
COMPONENT = _obj(
    {
        "id": ID, "name": {"type": "string"}, "status": {"enum": COMPONENT_STATUS},
        "description": {"type": ["string", "null"]}, "position": {"type": "integer"},
        "created_at": TS, "updated_at": TS, "showcase": {"type": "boolean"},
        "start_date": {"type": ["string", "null"], "pattern": r"^\d{4}-\d\d-\d\d$"},
        "group_id": {"type": ["string", "null"]}, "group": {"type": "boolean"}, "page_id": ID,
        "only_show_if_degraded": {"type": "boolean"},
    }
)
UPDATE = _obj(
    {
        "id": ID, "incident_id": ID, "body": {"type": "string"}, "created_at": TS, "updated_at": TS, "display_at": TS,
        "status": {"enum": ["investigating", "identified", "monitoring", "resolved", "postmortem",
                            "scheduled", "in_progress", "verifying", "completed"]},
        "affected_components": {"type": ["array", "null"], "items": _obj(
            {"code": ID, "name": {"type": "string"}, "old_status": {"enum": COMPONENT_STATUS},
             "new_status": {"enum": COMPONENT_STATUS}})},
    }
)
INCIDENT_FIELDS = {
    "id": ID, "name": {"type": "string"}, "created_at": TS, "updated_at": TS, "monitoring_at": TS_OR_NULL,
    "resolved_at": TS_OR_NULL, "started_at": TS, "shortlink": {"type": "string"}, "page_id": ID,
    "components": {"type": "array", "items": COMPONENT},
    "incident_updates": {"type": "array", "minItems": 1, "items": UPDATE},
}
INCIDENT = _obj({**INCIDENT_FIELDS, "status": {"enum": ["investigating", "identified", "monitoring", "resolved", "postmortem"]},
                 "impact": {"enum": ["none", "minor", "major", "critical"]}})
MAINTENANCE = _obj({**INCIDENT_FIELDS, "status": {"enum": ["scheduled", "in_progress", "verifying", "completed"]},
                    "impact": {"const": "maintenance"}, "scheduled_for": TS, "scheduled_until": TS})
SUMMARY = _obj(
    {
        "page": PAGE,
        "status": _obj({"indicator": {"enum": ["none", "minor", "major", "critical"]}, "description": {"type": "string"}}),
        "components": {"type": "array", "items": COMPONENT},
        "incidents": {"type": "array", "items": INCIDENT},
        "scheduled_maintenances": {"type": "array", "items": MAINTENANCE},
    }
)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    folder = tmp_path_factory.mktemp("statuspage")
    sc = scenario(folder)
    files, warnings = build(sc.config, folder / "site")
    return sc, folder / "site", files, warnings


def load(site_dir: Path, name: str) -> dict:
    return json.loads((site_dir / "api/v2" / name).read_text())


def test_summary_json_has_the_statuspage_v2_shape(site):
    _, out, _, _ = site
    summary = load(out, "summary.json")
    jsonschema.validate(summary, SUMMARY)
    assert list(summary) == ["page", "components", "incidents", "scheduled_maintenances", "status"]
    assert summary["page"]["name"] == "Generic Corp Status" and summary["page"]["updated_at"] == "2026-02-10T12:00:00.000Z"
    members = [c for c in summary["components"] if not c["group"]]
    assert [c["name"] for c in members] == ["Public API", "Web app", "Sign-in", "Database"]
    # db: maintenance running; web: the open webhook post (minor) says degraded.
    assert {c["name"]: c["status"] for c in members} == {
        "Public API": "operational", "Web app": "degraded_performance", "Sign-in": "operational",
        "Database": "under_maintenance"}
    # Display groups become Statuspage component groups, worst member status first.
    groups = {c["name"]: c for c in summary["components"] if c["group"]}
    assert list(groups) == ["Platform", "Identity", "Data"]
    assert groups["Platform"]["components"] == [members[0]["id"], members[1]["id"]]
    assert groups["Platform"]["status"] == "degraded_performance"
    assert all(m["group_id"] == groups["Platform"]["id"] for m in members[:2])
    # Only unresolved incidents, only upcoming or running maintenance.
    assert [i["name"] for i in summary["incidents"]] == ["Delayed webhook deliveries"]
    assert summary["incidents"][0]["status"] == "monitoring" and summary["incidents"][0]["impact"] == "minor"
    assert [(m["name"], m["status"]) for m in summary["scheduled_maintenances"]] == [
        ("Database engine upgrade", "in_progress"), ("Network equipment replacement", "scheduled")]
    assert summary["status"] == {"indicator": "minor", "description": "Minor Service Outage"}
    for name, schema in (("status.json", None), ("components.json", COMPONENT), ("incidents.json", INCIDENT),
                         ("scheduled-maintenances.json", MAINTENANCE), ("incidents/unresolved.json", INCIDENT),
                         ("scheduled-maintenances/upcoming.json", MAINTENANCE)):
        doc = load(out, name)
        jsonschema.validate(doc["page"], PAGE)
        items = next((v for k, v in doc.items() if k != "page" and isinstance(v, list)), [])
        for item in items:
            jsonschema.validate(item, schema)


def test_a_post_replaces_the_detected_incident_it_overlaps(site):
    sc, out, _, _ = site
    incidents = load(out, "incidents.json")["incidents"]
    post = next(i for i in incidents if i["id"] == stable_id("post", "api-deploy"))
    assert post["name"] == "Elevated API error rates" and post["status"] == "resolved" and post["impact"] == "major"
    assert [u["status"] for u in post["incident_updates"]] == ["resolved", "identified", "investigating"]
    assert post["incident_updates"][-1]["affected_components"][0]["new_status"] == "partial_outage"
    assert post["incident_updates"][0]["affected_components"][0]["new_status"] == "operational"
    assert stable_id("detected", int(sc.attached.started_at.timestamp() // 60)) not in {i["id"] for i in incidents}
    detected = [i for i in incidents if i["name"].startswith(("Elevated error rates", "Failing health checks"))]
    assert len(detected) >= 5  # the sample data's outages of 90 days
    assert all(i["status"] == "resolved" and i["resolved_at"] for i in detected)


def test_hostile_posts_are_escaped_or_left_out_by_name(site):
    _, out, files, warnings = site
    left_out = {re.search(r"incidents/([\w.]+)", w).group(1) for w in warnings}
    assert left_out == {"broken.md", "nofront.md", "badstatus.md", "typo.md", "huge.md"}
    assert any("huge.md: larger than 256 KiB" in w for w in warnings)
    assert any("badstatus.md: updates.0.status" in w for w in warnings)
    html = (out / "index.html").read_text()
    low = html.lower()
    assert "<script" not in low and "<iframe" not in low and "<img" not in low and "<style" not in low
    assert "javascript:" not in re.sub(r"&lt;.*?&gt;|\[[^\]]*\]\([^)]*\)", "", low)  # only as escaped text
    assert "&lt;script&gt;alert(&#39;t&#39;)&lt;/script&gt; Login errors" in html
    for href in re.findall(r'(?:href|src)="([^"]*)"', html):
        assert re.match(r"^(#|assets/|api/|history\.atom|https://|mailto:|data:image/svg)", href), href
    assert all(b"<script" not in data.lower() for data in files.values())
    names = {i["name"] for i in json.loads(files["api/v2/incidents.json"])["incidents"]}
    assert "<script>alert('t')</script> Login errors" in names  # JSON escapes it as \u003c, the data is intact


def test_history_atom_is_a_valid_feed(site):
    _, out, _, _ = site
    feed = feedparser.parse((out / "history.atom").read_bytes())
    assert feed.bozo == 0, feed.get("bozo_exception")
    assert feed.version == "atom10"
    assert feed.feed.title == "Generic Corp Status: incident history"
    incidents = load(out, "incidents.json")["incidents"]
    maint = [m for m in load(out, "scheduled-maintenances.json")["scheduled_maintenances"] if m["status"] != "scheduled"]
    assert len(feed.entries) == len(incidents) + len(maint)
    assert len({e.id for e in feed.entries}) == len(feed.entries)
    titles = {e.title for e in feed.entries}
    assert {"Elevated API error rates", "Delayed webhook deliveries", "Database engine upgrade"} <= titles
    hostile = next(e for e in feed.entries if "Login errors" in e.title)
    assert hostile.title == "<script>alert('t')</script> Login errors"  # text, as the feed reader shows it
    assert all("<script" not in e.summary.lower() and e.link.startswith("index.html#incident-") for e in feed.entries)
    assert all(e.updated_parsed and e.published_parsed for e in feed.entries)


def test_same_data_and_at_give_the_same_bytes_and_ids_are_stable(site, tmp_path):
    sc, _, files, _ = site
    again, _ = build(sc.config, tmp_path / "again")
    assert again == files
    later, _ = build(sc.config, tmp_path / "later", AT + timedelta(hours=1))
    ids = lambda fs: {c["name"]: c["id"] for c in json.loads(fs["api/v2/summary.json"])["components"]}  # noqa: E731
    assert ids(later) == ids(files)
    inc = lambda fs: {i["name"]: i["id"] for i in json.loads(fs["api/v2/incidents.json"])["incidents"]}  # noqa: E731
    assert inc(later)["Elevated API error rates"] == inc(files)["Elevated API error rates"]
    # The webhook post was resolved at 13:00: an hour later it has left summary.json.
    assert json.loads(later["api/v2/summary.json"])["incidents"] == []


def test_cli_build_and_publish(site, tmp_path, capsys):
    sc, _, files, _ = site
    out = tmp_path / "cli"
    args = ["--config", str(sc.config), "status-page", "build", "--out", str(out), "--at", "2026-02-10T12:00:00Z"]
    assert main(args) == 0
    captured = capsys.readouterr()
    assert "index.html" in captured.out and "broken.md" in captured.err
    assert (out / "index.html").read_bytes() == files["index.html"]
    assert main(["--config", str(sc.config), "status-page", "build", "--out", str(out), "--at", "soon"]) == 2
    assert "--at must be an ISO 8601 time" in capsys.readouterr().err
    assert main(["--config", str(sc.config), "status-page", "publish", "--at", "2026-02-10T12:00:00Z"]) == 0
    assert "published to" in capsys.readouterr().out
    public = sc.config.parent / "public"
    assert (public / "api/v2/summary.json").read_bytes() == files["api/v2/summary.json"]
