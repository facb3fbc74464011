"""``slactl alerts silences`` against Debian's real ``prometheus-alertmanager`` on loopback.

The test starts Alertmanager (no clustering, its own storage folder, a free
port), pushes the silences of a config twice and reads them back through the
v2 API: one per window and service, nothing new on the second push, ended
windows left out, and the body written by ``--out`` equal to what was pushed.
Windows are known by their content: reordering or inserting windows, naming a
service twice, or upgrading from the position-keyed comments of earlier
releases leaves exactly one silence per window and service.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
import yaml
from kits.prometheus import free_loopback_port

from slactl.cli.main import main

BINARY = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
pytestmark = pytest.mark.skipif(BINARY is None, reason="prometheus-alertmanager not installed")
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
_KEY = re.compile(r"(?<=slactl maintenance )[0-9a-f]{12}(?=\)$)")

CONFIG = """
sources:
  prom: {type: prometheus, url: "http://127.0.0.1:9"}
tiers:
  standard: {uptime_target: 99.9}
services:
  api:
    source: prom
    availability: {errors: 'http_requests_total{service="api",code=~"5.."}', total: 'http_requests_total{service="api"}'}
  db:
    source: prom
    availability: {probe: 'pg_up{service="db"}'}
maintenance:
  - {start: 2026-01-01T00:00:00Z, end: 2026-01-01T01:00:00Z, services: [db], reason: Long gone}
  - {start: 2036-03-01T02:00:00Z, end: 2036-03-01T04:00:00Z, services: [db], reason: Database engine upgrade}
  - {start: 2036-04-01T00:00:00Z, end: 2036-04-01T00:30:00Z, reason: "Network\\nchange"}
"""


@pytest.fixture
def alertmanager(tmp_path):
    port = free_loopback_port()
    (tmp_path / "am.yml").write_text("route:\n  receiver: none\nreceivers:\n  - name: none\n")
    log = open(tmp_path / "am.log", "wb")  # noqa: SIM115 (closed below)
    proc = subprocess.Popen(
        [
            BINARY,
            f"--config.file={tmp_path / 'am.yml'}",
            f"--web.listen-address=127.0.0.1:{port}",
            f"--storage.path={tmp_path / 'am-data'}",
            "--cluster.listen-address=",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):  # at most ~30 s
            if proc.poll() is not None:
                raise AssertionError("alertmanager exited: " + (tmp_path / "am.log").read_text()[-2000:])
            try:
                with _OPENER.open(f"{url}/-/ready", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                time.sleep(0.2)
        else:
            raise AssertionError("alertmanager did not get ready: " + (tmp_path / "am.log").read_text()[-2000:])
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()


def _silences(url: str) -> list[dict]:
    with _OPENER.open(f"{url}/api/v2/silences", timeout=10) as resp:
        return [s for s in json.loads(resp.read()) if s["status"]["state"] != "expired"]


def test_push_creates_each_silence_once_and_out_writes_the_same_bodies(alertmanager, tmp_path, capsys, monkeypatch):
    cfg = tmp_path / "slactl.yaml"
    cfg.write_text(CONFIG)
    monkeypatch.setenv("SLACTL_NOW", "2026-02-01T00:00:00Z")
    assert main(["--config", str(cfg), "alerts", "silences", "push", "--alertmanager", alertmanager]) == 0
    assert "created 3 silences, 0 already present" in capsys.readouterr().out
    first = _silences(alertmanager)
    got = sorted((s["matchers"][0]["value"], s["endsAt"][:16], _KEY.sub("KEY", s["comment"]), s["createdBy"])
                 for s in first)  # fmt: skip
    assert got == [
        ("api", "2036-04-01T00:30", "Maintenance: Network change (slactl maintenance KEY)", "slactl"),
        ("db", "2036-03-01T04:00", "Maintenance: Database engine upgrade (slactl maintenance KEY)", "slactl"),
        ("db", "2036-04-01T00:30", "Maintenance: Network change (slactl maintenance KEY)", "slactl"),
    ]
    # One key per window, shared by the silences of its services.
    assert len({s["comment"] for s in first}) == 2
    assert all(s["matchers"] == [{"name": "service", "value": s["matchers"][0]["value"], "isRegex": False,
                                  "isEqual": True}] for s in first)
    assert {s["status"]["state"] for s in first} == {"pending"}

    # Pushing again creates nothing.
    assert main(["--config", str(cfg), "alerts", "silences", "push", "--alertmanager", alertmanager]) == 0
    assert "created 0 silences, 3 already present" in capsys.readouterr().out
    assert sorted(s["id"] for s in _silences(alertmanager)) == sorted(s["id"] for s in first)

    # --out writes the bodies that were pushed.
    out = tmp_path / "silences.json"
    assert main(["--config", str(cfg), "alerts", "silences", "--out", str(out)]) == 0
    bodies = json.loads(out.read_text())
    assert [(b["matchers"][0]["value"], b["startsAt"], b["endsAt"]) for b in bodies] == [
        ("db", "2036-03-01T02:00:00.000Z", "2036-03-01T04:00:00.000Z"),
        ("api", "2036-04-01T00:00:00.000Z", "2036-04-01T00:30:00.000Z"),
        ("db", "2036-04-01T00:00:00.000Z", "2036-04-01T00:30:00.000Z"),
    ]


def test_an_unreachable_alertmanager_is_one_line_exit_1(tmp_path, capsys):
    cfg = tmp_path / "slactl.yaml"
    cfg.write_text(CONFIG)
    dead = f"http://127.0.0.1:{free_loopback_port()}"
    assert main(["--config", str(cfg), "alerts", "silences", "push", "--alertmanager", dead]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "cannot reach Alertmanager" in err


def test_out_is_required_without_push(tmp_path, capsys):
    cfg = tmp_path / "slactl.yaml"
    cfg.write_text(CONFIG)
    assert main(["--config", str(cfg), "alerts", "silences"]) == 2
    assert "--out" in capsys.readouterr().err
    assert not Path("silences.json").exists()


def test_push_through_a_url_with_a_password_shows_the_user_not_the_password(alertmanager, tmp_path, capsys, monkeypatch):
    """The success line names where it pushed, as every other line does: ``admin:***@``."""
    cfg = tmp_path / "slactl.yaml"
    cfg.write_text(CONFIG)
    monkeypatch.setenv("SLACTL_NOW", "2026-02-01T00:00:00Z")
    with_password = alertmanager.replace("http://", "http://admin:Am-Pw-6Hq2-SECRET@")
    assert main(["--config", str(cfg), "alerts", "silences", "push", "--alertmanager", with_password]) == 0
    out, err = capsys.readouterr()
    assert "Am-Pw-6Hq2-SECRET" not in out + err
    assert out.startswith("created ") and f"already present at {alertmanager.replace('http://', 'http://admin:***@')}" in out


WINDOWS = {
    "upgrade": {"start": "2036-03-01T02:00:00Z", "end": "2036-03-01T04:00:00Z", "services": ["db", "db", "api"],
                "reason": "Database engine upgrade"},
    "network": {"start": "2036-04-01T00:00:00Z", "end": "2036-04-01T00:30:00Z", "services": ["api"],
                "reason": "Network change"},
    "network-wider": {"start": "2036-04-01T00:00:00Z", "end": "2036-04-01T00:30:00Z", "services": ["db", "api"],
                      "reason": "Network change"},
    "same-times": {"start": "2036-04-01T00:00:00Z", "end": "2036-04-01T00:30:00Z", "services": ["api"],
                   "reason": "Switch swap"},
    "all": {"start": "2036-05-01T00:00:00Z", "end": "2036-05-01T06:00:00Z", "reason": "Datacentre move"},
    "ongoing": {"start": "2026-01-01T00:00:00Z", "end": "2036-06-01T00:00:00Z", "services": ["db"],
                "reason": "Read-only mode"},
    "inserted": {"start": "2036-02-01T00:00:00Z", "end": "2036-02-01T01:00:00Z", "services": ["api"],
                 "reason": "Certificate rotation"},
}  # fmt: skip


def _config_with(tmp_path: Path, names: list[str]) -> Path:
    doc = yaml.safe_load(CONFIG)
    doc["maintenance"] = [WINDOWS[n] for n in names]
    path = tmp_path / "slactl.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def _push(cfg: Path, url: str, capsys) -> str:
    assert main(["--config", str(cfg), "alerts", "silences", "push", "--alertmanager", url]) == 0
    return capsys.readouterr().out


def _per_window_and_service(url: str) -> dict[tuple[str, str, str, str], int]:
    counts: dict[tuple[str, str, str, str], int] = {}
    for s in _silences(url):
        key = (s["matchers"][0]["value"], s["endsAt"][:16], s["comment"].split(" (slactl")[0], s["createdBy"])
        counts[key] = counts.get(key, 0) + 1
    return counts


def test_reordering_inserting_and_naming_a_service_twice_create_no_duplicate(alertmanager, tmp_path, capsys,
                                                                             monkeypatch):  # fmt: skip
    monkeypatch.setenv("SLACTL_NOW", "2026-02-01T00:00:00Z")
    cfg = _config_with(tmp_path, ["upgrade", "network", "same-times", "all"])
    # db named twice in "upgrade": one silence for it; "all" covers api and db.
    assert "created 6 silences, 0 already present" in _push(cfg, alertmanager, capsys)
    first = _per_window_and_service(alertmanager)
    assert len(first) == 6 and set(first.values()) == {1}

    # Reordered, with a window inserted at the top: only the new window is created.
    cfg = _config_with(tmp_path, ["inserted", "all", "same-times", "network", "upgrade"])
    assert "created 1 silences, 6 already present" in _push(cfg, alertmanager, capsys)
    second = _per_window_and_service(alertmanager)
    assert len(second) == 7 and set(second.values()) == {1}
    assert "created 0 silences, 7 already present" in _push(cfg, alertmanager, capsys)
    assert len(_silences(alertmanager)) == 7

    # A window's services edited: the service it already covered keeps its silence.
    cfg = _config_with(tmp_path, ["inserted", "all", "same-times", "network-wider", "upgrade"])
    assert "created 1 silences, 7 already present" in _push(cfg, alertmanager, capsys)
    third = _per_window_and_service(alertmanager)
    assert len(third) == 8 and set(third.values()) == {1}


def test_silences_of_the_position_keyed_release_are_recognised(alertmanager, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SLACTL_NOW", "2026-02-01T00:00:00Z")
    # What earlier releases posted for [upgrade, network, ongoing]: the window's position in the
    # comment.  "ongoing" began before Alertmanager's clock: it moves that start to the moment of creation.
    old = []
    for i, name in enumerate(["upgrade", "network", "ongoing"]):
        w = WINDOWS[name]
        for service in w["services"]:
            old.append({
                "matchers": [{"name": "service", "value": service, "isRegex": False, "isEqual": True}],
                "startsAt": w["start"].replace("Z", ".000Z"), "endsAt": w["end"].replace("Z", ".000Z"),
                "createdBy": "slactl", "comment": f"Maintenance: {w['reason']} (slactl maintenance[{i}])",
            })  # fmt: skip
    for body in old:
        req = urllib.request.Request(f"{alertmanager}/api/v2/silences", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")  # fmt: skip
        with _OPENER.open(req, timeout=10) as resp:
            assert resp.status == 200
    held = _silences(alertmanager)
    assert len(held) == 5  # the old release posted db twice
    assert any(s["startsAt"] > "2026-01-02" for s in held if s["endsAt"].startswith("2036-06"))

    # The upgraded slactl, with a window inserted before them: only that one is new.
    cfg = _config_with(tmp_path, ["inserted", "upgrade", "network", "ongoing"])
    assert "created 1 silences, 4 already present" in _push(cfg, alertmanager, capsys)
    assert len(_silences(alertmanager)) == 6
