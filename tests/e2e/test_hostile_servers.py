"""slactl against servers that trickle or never stop: every command ends in time, in bounded memory, in one line.

Each case runs the ``slactl`` program against a :class:`~kits.hostile_http.HostileServer`
on loopback and measures the process: its wall time against the deadline it was
given, and its peak RSS (the kernel's ``ru_maxrss`` of that child) against 500 MB.
Covered: ``report`` (a Prometheus source), ``alerts silences push`` (Alertmanager),
``dashboards push`` (Grafana) and the scheduler's ingest job (``scheduler run --once``).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
import yaml
from kits.hostile_http import HostileServer, Measured, run_measured
from kits.prometheus import free_loopback_port

MAX_RSS = 500 * 2**20
START = 10.0  # seconds a slactl process may need beyond its deadline: starting Python, importing, writing
SLACTL = [sys.executable, "-m", "slactl"]
TRICKLES = ["trickle", "trickle-head"]
FLOODS = ["endless", "gzip-bomb"]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("SLACTL_CONFIG", "SLACTL_DEBUG", "SLACTL_NOW")}
    return {**env, "GRAFANA_TOKEN": "glsa_test_token", **extra}


def _config(tmp: Path, url: str, **extra: object) -> Path:
    raw = {
        "store": f"sqlite:///{tmp / 'slactl.db'}",
        "sources": {"prom": {"type": "prometheus", "url": url}},
        "tiers": {"standard": {"uptime_target": 99.9}},
        "services": {"api": {"source": "prom", "availability": {"probe": 'up{job="api"}'}}},
        "maintenance": [{"start": "2036-03-01T02:00:00Z", "end": "2036-03-01T04:00:00Z", "reason": "Upgrade"}],
        "publish": {"status_page": {"dir": str(tmp / "public")}, "reports": {"dir": str(tmp / "reports")}},
        **extra,
    }
    path = tmp / "slactl.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def _one_line(done: Measured) -> str:
    lines = done.stderr.strip().splitlines()
    assert "Traceback" not in done.stderr, done.stderr
    assert len(lines) == 1, done.stderr
    return lines[0]


def _report(tmp: Path, url: str, timeout: int) -> Measured:
    cfg = _config(tmp, url)
    args = ["--config", str(cfg), "report", "monthly", "--month", "2026-01", "--out", str(tmp / "out"), "--timeout", str(timeout)]
    return run_measured([*SLACTL, *args], env=_env(), limit=timeout + 60)


def _silences(tmp: Path, url: str, timeout: int) -> Measured:
    cfg = _config(tmp, "http://127.0.0.1:9")
    args = ["--config", str(cfg), "alerts", "silences", "push", "--alertmanager", url, "--timeout", str(timeout)]
    return run_measured([*SLACTL, *args], env=_env(), limit=timeout + 60)


def _dashboards(tmp: Path, url: str, timeout: int) -> Measured:
    folder = tmp / "dashboards"
    folder.mkdir()
    (folder / "one.json").write_text(json.dumps({"uid": "slactl-one", "title": "One", "panels": []}))
    args = ["dashboards", "push", "--grafana-url", url, "--dir", str(folder), "--timeout", str(timeout)]
    return run_measured([*SLACTL, *args], env=_env(), cwd=tmp, limit=timeout + 60)


def _scheduler(tmp: Path, url: str, pull_timeout: int) -> Measured:
    schedule = {"pull_timeout": f"{pull_timeout}s", "metrics_listen": f"127.0.0.1:{free_loopback_port()}"}
    cfg = _config(tmp, url, schedule=schedule)
    # --once runs ingest, the status page and the monthly close, each of which pulls what the store lacks.
    return run_measured([*SLACTL, "--config", str(cfg), "scheduler", "run", "--once"], env=_env(), limit=4 * pull_timeout + 60)


# ----------------------------------------------------------------------------- a trickle ends at the deadline


@pytest.mark.parametrize("mode", TRICKLES)
def test_report_ends_at_its_timeout_against_a_trickle(tmp_path, mode):
    with HostileServer(mode, interval=0.5) as srv:
        done = _report(tmp_path, srv.url, timeout=4)
    assert done.code == 1
    line = _one_line(done)
    assert f"source 'prom' ({srv.url})" in line and ("did not finish within 4s" in line or "ran out of time" in line)
    assert done.seconds < 4 + START


@pytest.mark.parametrize("mode", TRICKLES)
def test_silences_push_ends_at_its_timeout_against_a_trickle(tmp_path, mode):
    with HostileServer(mode, interval=0.5) as srv:
        done = _silences(tmp_path, srv.url, timeout=4)
    assert done.code == 1
    line = _one_line(done)
    assert f"Alertmanager at {srv.url}: the command ran out of its 4s at GET /api/v2/silences" in line
    assert done.seconds < 4 + START


@pytest.mark.parametrize("mode", TRICKLES)
def test_dashboards_push_ends_at_its_timeout_against_a_trickle(tmp_path, mode):
    with HostileServer(mode, interval=0.5) as srv:
        done = _dashboards(tmp_path, srv.url, timeout=4)
    assert done.code == 1
    assert f"Grafana at {srv.url}: the command ran out of its 4s at GET /api/folders/" in _one_line(done)
    assert done.seconds < 4 + START


def test_the_scheduler_ingest_ends_at_its_pull_timeout_against_a_trickle(tmp_path):
    with HostileServer("trickle", interval=0.5) as srv:
        done = _scheduler(tmp_path, srv.url, pull_timeout=4)
    assert done.code == 1, done.stderr
    failed = next(line for line in done.stderr.splitlines() if "job ingest failed" in line)
    assert "source 'prom'" in failed and ("did not finish within 4s" in failed or "ran out of time" in failed)
    assert "Traceback" not in done.stderr
    assert done.seconds < 3 * (4 + 2) + START  # ingest, the status page, the close's report: each bounded


# ----------------------------------------------------------------------------- an endless body is cut at the limit


@pytest.mark.parametrize("mode", FLOODS)
def test_report_refuses_an_endless_answer_in_bounded_memory(tmp_path, mode):
    with HostileServer(mode) as srv:
        done = _report(tmp_path, srv.url, timeout=120)
    assert done.code == 1
    line = _one_line(done)
    assert f"source 'prom' ({srv.url}) sent more than 256 MiB for a range-semantics probe" in line
    assert "raise sources.prom.max_response_bytes" in line
    assert done.peak_rss < MAX_RSS, f"peak RSS {done.peak_rss / 2**20:.0f} MiB"


@pytest.mark.parametrize("mode", FLOODS)
def test_silences_push_refuses_an_endless_answer_in_bounded_memory(tmp_path, mode):
    with HostileServer(mode) as srv:
        done = _silences(tmp_path, srv.url, timeout=120)
    assert done.code == 1
    assert f"Alertmanager at {srv.url} sent more than 16 MiB answering GET /api/v2/silences" in _one_line(done)
    assert done.peak_rss < MAX_RSS, f"peak RSS {done.peak_rss / 2**20:.0f} MiB"


@pytest.mark.parametrize("mode", FLOODS)
def test_dashboards_push_refuses_an_endless_answer_in_bounded_memory(tmp_path, mode):
    with HostileServer(mode) as srv:
        done = _dashboards(tmp_path, srv.url, timeout=120)
    assert done.code == 1
    assert f"Grafana at {srv.url} sent more than 16 MiB answering GET /api/folders/" in _one_line(done)
    assert done.peak_rss < MAX_RSS, f"peak RSS {done.peak_rss / 2**20:.0f} MiB"


def test_the_scheduler_ingest_refuses_an_endless_answer_in_bounded_memory(tmp_path):
    with HostileServer("endless") as srv:
        done = _scheduler(tmp_path, srv.url, pull_timeout=120)
    assert done.code == 1, done.stderr
    assert "job ingest failed: source 'prom'" in done.stderr and "sent more than 256 MiB" in done.stderr
    assert done.peak_rss < MAX_RSS, f"peak RSS {done.peak_rss / 2**20:.0f} MiB"


def test_a_smaller_limit_is_honoured(tmp_path):
    with HostileServer("endless") as srv:
        cfg = _config(tmp_path, srv.url)
        raw = yaml.safe_load(cfg.read_text())
        raw["sources"]["prom"]["max_response_bytes"] = 4 * 2**20
        cfg.write_text(yaml.safe_dump(raw))
        args = ["--config", str(cfg), "report", "monthly", "--month", "2026-01", "--out", str(tmp_path / "out")]
        done = run_measured([*SLACTL, *args], env=_env(), limit=120)
    assert done.code == 1
    assert "sent more than 4 MiB" in _one_line(done)


# ----------------------------------------------------------------------------- what an error answer says


def test_an_html_error_page_from_alertmanager_is_one_line(tmp_path):
    page = b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<h1>502 Bad Gateway</h1>\r\n</body>\r\n</html>\r\n"
    with HostileServer("fixed", status=502, body=page, content_type="text/html") as srv:
        done = _silences(tmp_path, srv.url, timeout=30)
    assert done.code == 1
    assert _one_line(done).endswith("(HTTP 502: HTML error page: 502 Bad Gateway)")


@pytest.mark.parametrize(
    ("listed", "said"),
    [(b'[1, "x"]', "silence 0 of /api/v2/silences is not an object but a number"),
     (b'[{"id": "a", "startsAt": "2036-03-01T02:00:00.000Z", "matchers": []}]', "silence 0 of /api/v2/silences has no endsAt")],
)  # fmt: skip
def test_silences_alertmanager_should_not_list_are_one_line_exit_1(tmp_path, listed, said):
    with HostileServer("fixed", body=listed) as srv:
        done = _silences(tmp_path, srv.url, timeout=30)
    assert done.code == 1
    assert said in _one_line(done)
