"""The report command against a real Prometheus when things go wrong, as a user meets it.

Each failure gives its exit code and one clear line, and nothing is written half.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
from kits.flaky import FlakyProxy
from kits.prometheus import OpenMetrics, free_loopback_port

from slactl.cli.main import main

T0 = datetime(2026, 2, 1, tzinfo=timezone.utc).timestamp()
DAYS = 2


@pytest.fixture(scope="module")
def prom(make_prometheus) -> str:
    """Two days of a healthy counter at 60 s from 2026-02-01, with a 10-minute outage."""
    om = OpenMetrics()
    total, errors, t, e = [], [], 0.0, 0.0
    for k in range(-5, DAYS * 1440):
        ts = T0 + 30 + 60 * k
        t += 100
        e += 50 if 600 <= k < 610 else 0  # errors observed in minutes 10:00-10:09
        total.append((ts, t))
        errors.append((ts, e))
    om.counter("http_requests_total", {"service": "api"}, total)
    om.counter("http_errors_total", {"service": "api"}, errors)
    return make_prometheus(om)


def config(tmp_path: Path, url: str, *, retries: int = 3, extra: str = "") -> Path:
    path = tmp_path / "slactl.yaml"
    path.write_text(
        f"""
sources:
  prom: {{type: prometheus, url: "{url}", retries: {retries}, timeout_seconds: 5{extra}}}
tiers:
  standard: {{uptime_target: 99.9}}
services:
  api:
    source: prom
    availability:
      errors: http_errors_total{{service="api"}}
      total: http_requests_total{{service="api"}}
"""
    )
    return path


def run(cfg: Path, out: Path, month: str = "2026-02") -> int:
    return main(["--config", str(cfg), "report", "monthly", "--month", month, "--out", str(out)])


def one_line(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def test_report_then_store_serves_it_without_the_source(prom, tmp_path, capsys):
    out = tmp_path / "out"
    assert run(config(tmp_path, prom), out) == 0
    first = (out / "report-2026-02.json").read_bytes()
    report = json.loads(first)["services"]["api"]
    assert report["minutes"]["down"] == 10
    assert report["incidents"] == [
        {"start": "2026-02-01T10:00:00Z", "end": "2026-02-01T10:10:00Z", "duration_minutes": 10, "severity": "minor"}
    ]
    assert sorted(p.name for p in out.iterdir()) == [
        "report-2026-02.html", "report-2026-02.json", "report-2026-02.md"]
    # The store now holds the month: the same report comes out with the source gone.
    dead = f"http://127.0.0.1:{free_loopback_port()}"
    assert run(config(tmp_path, dead, retries=0), out) == 0
    assert (out / "report-2026-02.json").read_bytes() == first


def test_auth_and_headers_reach_the_server(prom, tmp_path, monkeypatch):
    monkeypatch.setenv("PROM_TOKEN", "s3cr3t")
    monkeypatch.setenv("PROM_PASSWORD", "pw")
    with FlakyProxy(prom) as proxy:
        extra = ', bearer_token_env: PROM_TOKEN, headers: {X-Scope-OrgID: team-a}'
        assert run(config(tmp_path, proxy.url, extra=extra), tmp_path / "out") == 0
    assert proxy.headers and all(h["authorization"] == "Bearer s3cr3t" for h in proxy.headers)
    assert all(h["x-scope-orgid"] == "team-a" for h in proxy.headers)
    fresh = tmp_path / "fresh-store"
    fresh.mkdir()
    with FlakyProxy(prom) as proxy:
        extra = ", basic_auth: {username: slactl, password_env: PROM_PASSWORD}"
        assert run(config(fresh, proxy.url, extra=extra), tmp_path / "out2") == 0
    assert all(h["authorization"] == "Basic c2xhY3RsOnB3" for h in proxy.headers)


def test_missing_secret_env_is_a_config_error(prom, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("PROM_TOKEN", raising=False)
    assert run(config(tmp_path, prom, extra=", bearer_token_env: PROM_TOKEN"), tmp_path / "out") == 2
    line = one_line(capsys.readouterr().err)
    assert "PROM_TOKEN" in line and "sources.prom.bearer_token_env" in line


def test_unreachable_prometheus_exit_1_and_nothing_written(tmp_path, capsys):
    dead = f"http://127.0.0.1:{free_loopback_port()}"
    out = tmp_path / "out"
    assert run(config(tmp_path, dead, retries=1), out) == 1
    line = one_line(capsys.readouterr().err)
    assert "source 'prom'" in line and dead in line and "cannot connect" in line
    assert not out.exists() or not any(out.iterdir())


def test_500_then_200_is_retried(prom, tmp_path, capsys):
    with FlakyProxy(prom, script=[500, 503]) as proxy:
        out = tmp_path / "out"
        assert run(config(tmp_path, proxy.url), out) == 0
    assert [code for _, code in proxy.seen[:2]] == [500, 503]
    assert all(code == 200 for _, code in proxy.seen[2:])
    assert json.loads((out / "report-2026-02.json").read_text())["services"]["api"]["minutes"]["down"] == 10


def test_persistent_500_gives_up_after_bounded_retries(prom, tmp_path, capsys):
    with FlakyProxy(prom, always=500) as proxy:
        out = tmp_path / "out"
        assert run(config(tmp_path, proxy.url, retries=2), out) == 1
    line = one_line(capsys.readouterr().err)
    assert "HTTP 500" in line and "after 3 attempts" in line
    assert len(proxy.seen) <= 3 * 8  # bounded: attempts × requests in flight
    assert not out.exists() or not any(out.iterdir())


def test_4xx_fails_at_once_naming_service_and_selector(prom, tmp_path, capsys):
    with FlakyProxy(prom, always=400) as proxy:
        out = tmp_path / "out"
        # Semantics given, so the first request is a data query, not the probe.
        assert run(config(tmp_path, proxy.url, extra=", range_semantics: closed"), out) == 1
    line = one_line(capsys.readouterr().err)
    assert "refused the query" in line and "service 'api'" in line
    # No retry for a refused query: at most one request per query already in flight.
    assert 1 <= len(proxy.seen) <= 8


def test_month_with_no_data_warns_and_reports_nulls(prom, tmp_path, capsys):
    out = tmp_path / "out"
    assert run(config(tmp_path, prom), out, month="2025-06") == 0
    err = capsys.readouterr().err
    assert "warning: service 'api' has no data in 2025-06" in one_line(err)
    api = json.loads((out / "report-2025-06.json").read_text())["services"]["api"]
    assert api["uptime_percent"] is None and api["coverage_percent"] == 0.0
    assert api["minutes"] == {"total": 43200, "up": 0, "down": 0, "no_data": 43200, "excluded": 0}
    assert api["mttr_minutes"] is None and api["error_ratio"] is None


@pytest.mark.parametrize(("month", "problem"), [("2026-13", "YYYY-MM"), ("2099-01", "has not started")])
def test_bad_month_is_usage_error(prom, tmp_path, capsys, month, problem):
    assert run(config(tmp_path, prom), tmp_path / "out", month=month) == 2
    assert problem in one_line(capsys.readouterr().err)
