"""``slactl alerts silences`` against Debian's real ``prometheus-alertmanager`` on loopback.

The test starts Alertmanager (no clustering, its own storage folder, a free
port), pushes the silences of a config twice and reads them back through the
v2 API: one per window and service, nothing new on the second push, ended
windows left out, and the body written by ``--out`` equal to what was pushed.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from kits.prometheus import free_loopback_port

from slactl.cli.main import main

BINARY = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
pytestmark = pytest.mark.skipif(BINARY is None, reason="prometheus-alertmanager not installed")
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))

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
    got = sorted((s["matchers"][0]["value"], s["endsAt"][:16], s["comment"], s["createdBy"]) for s in first)
    assert got == [
        ("api", "2036-04-01T00:30", "Maintenance: Network change (slactl maintenance[2])", "slactl"),
        ("db", "2036-03-01T04:00", "Maintenance: Database engine upgrade (slactl maintenance[1])", "slactl"),
        ("db", "2036-04-01T00:30", "Maintenance: Network change (slactl maintenance[2])", "slactl"),
    ]
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
