"""``slactl init`` against a real Prometheus scraping itself and a real blackbox exporter.

The server holds two backfilled days of last month under the same series names
it scrapes live (its own HTTP request counter and latency histogram, a blackbox
probe, the exporter's ``up``).  Discovery sees the live series; the config it
writes must validate and report last month with the figures the backfill implies.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from kits.prometheus import OpenMetrics, PrometheusServer, backfill, free_loopback_port

from slactl.cli.main import main

BUCKETS = ["0.1", "0.2", "0.4", "1", "3", "8", "20", "60", "120", "+Inf"]
ERROR_MINUTES = range(600, 610)  # 10:00-10:09 of the first day: half the requests fail
# 100 observations a minute, cumulative per bucket: p50 in (0, 0.1], p95 in (0.1, 0.2], p99 in (0.2, 0.4].
PER_MINUTE = [80, 95, 100, 100, 100, 100, 100, 100, 100, 100]
PROBE_DOWN = range(900, 905)  # 15:00-15:04 of the first day: the probe fails
MINUTES = 2 * 1440 + 3  # two days, from 3 minutes before the first
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _last_month() -> tuple[str, float]:
    first = datetime.now(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    prev = (first - timedelta(days=1)).replace(day=1)
    return f"{prev:%Y-%m}", (prev + timedelta(days=3)).timestamp()


def _history(t0: float, bb_instance: str) -> OpenMetrics:
    """Two days at 60 s: requests with an error burst, latency buckets, probe and up gauges."""
    om = OpenMetrics()
    ok, bad, buckets, probe, up = [], [], {le: [] for le in BUCKETS}, [], []
    n_ok = n_bad = 0.0
    counts = dict.fromkeys(BUCKETS, 0.0)
    for k in range(-3, MINUTES - 3):
        ts = t0 + 60 * k + 30
        n_ok += 100
        n_bad += 100 if k in ERROR_MINUTES else 0
        ok.append((ts, n_ok))
        bad.append((ts, n_bad))
        for le, cumulative in zip(BUCKETS, PER_MINUTE, strict=True):
            counts[le] += cumulative
            buckets[le].append((ts, counts[le]))
        probe.append((ts, 0.0 if k in PROBE_DOWN else 1.0))
        up.append((ts, 1.0))
    base = {"job": "prometheus", "instance": "127.0.0.1:9090", "handler": "/api/v1/query"}
    om.counter("prometheus_http_requests_total", {**base, "code": "200"}, ok)
    om.counter("prometheus_http_requests_total", {**base, "code": "503"}, bad)
    for le in BUCKETS:
        om.gauge("prometheus_http_request_duration_seconds_bucket", {**base, "le": le}, buckets[le])
    om.gauge("probe_success", {"job": "blackbox", "instance": bb_instance}, probe)
    om.gauge("up", {"job": "blackbox-exporter", "instance": bb_instance.split("/")[2]}, up)
    return om


class SelfScrapingPrometheus(PrometheusServer):
    """Scrapes itself (its port is known only at spawn), the exporter and a probe through it."""

    def __init__(self, tsdb: Path, bb_port: int, probe_target: str) -> None:
        super().__init__(tsdb, scrape_interval="1s")
        self.bb_port, self.probe_target = bb_port, probe_target

    def _spawn(self) -> None:
        self.extra_config = f"""
scrape_configs:
  - job_name: prometheus
    static_configs: [{{targets: ["127.0.0.1:{self.port}"]}}]
  - job_name: blackbox-exporter
    static_configs: [{{targets: ["127.0.0.1:{self.bb_port}"]}}]
  - job_name: blackbox
    metrics_path: /probe
    params: {{module: [http_2xx]}}
    static_configs: [{{targets: ["{self.probe_target}"]}}]
    relabel_configs:
      - {{source_labels: [__address__], target_label: __param_target}}
      - {{source_labels: [__param_target], target_label: instance}}
      - {{target_label: __address__, replacement: "127.0.0.1:{self.bb_port}"}}
"""
        self._write_config()
        super()._spawn()


def _get(url: str) -> bytes:
    with _OPENER.open(url, timeout=5) as resp:
        return resp.read()


def _wait(what: str, check, seconds: float = 45) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def _has(url: str, promql: str) -> bool:
    body = json.loads(_get(f"{url}/api/v1/query?{urllib.parse.urlencode({'query': promql})}"))
    return bool(body["data"]["result"])


@pytest.fixture(scope="module")
def live(tmp_path_factory, prometheus_binaries):
    exporter = shutil.which("prometheus-blackbox-exporter")
    if exporter is None:
        if os.environ.get("CI"):
            pytest.fail("prometheus-blackbox-exporter not on PATH (run `make debs`)")
        pytest.skip("prometheus-blackbox-exporter not on PATH (run `make debs`)")
    work = tmp_path_factory.mktemp("init-live")
    bb_port = free_loopback_port()
    (work / "blackbox.yml").write_text(
        "modules:\n  http_2xx:\n    prober: http\n    timeout: 2s\n    http: {preferred_ip_protocol: ip4}\n"
    )
    bb = subprocess.Popen(
        [exporter, f"--config.file={work / 'blackbox.yml'}", f"--web.listen-address=127.0.0.1:{bb_port}"],
        stdout=subprocess.DEVNULL, stderr=open(work / "blackbox.log", "wb"),  # noqa: SIM115
    )  # fmt: skip
    month, t0 = _last_month()
    target = f"http://127.0.0.1:{bb_port}/metrics"
    prom = None
    try:
        _wait("the blackbox exporter", lambda: _get(f"http://127.0.0.1:{bb_port}/metrics"))
        backfill(_history(t0, target).write(work / "history.om"), work / "tsdb")
        prom = SelfScrapingPrometheus(work / "tsdb", bb_port, target).start()
        url = prom.url
        for promql in ('prometheus_http_requests_total{code!=""}', "probe_success", 'up{job="blackbox-exporter"}'):
            _wait(promql, lambda q=promql: _has(url, q))
        yield url, month, t0, target
    finally:
        if prom is not None:
            prom.stop()
        bb.terminate()
        bb.wait(timeout=10)


def test_init_writes_a_config_that_validates_and_reports_last_month(live, tmp_path, capsys):
    url, month, t0, target = live
    cfg_path = tmp_path / "slactl.yaml"
    assert main(["init", "--prometheus", url, "--out", str(cfg_path)]) == 0, capsys.readouterr().err
    assert "3 candidate services" in capsys.readouterr().out
    cfg = yaml.safe_load(cfg_path.read_text())
    by_metric = {}
    for name, svc in cfg["services"].items():
        av = svc["availability"]
        by_metric[(av.get("total") or av["probe"]).split("{")[0]] = (name, svc)
    assert set(by_metric) == {"prometheus_http_requests_total", "probe_success", "up"}
    name, ratio = by_metric["prometheus_http_requests_total"]
    assert ratio["availability"]["errors"] == 'prometheus_http_requests_total{job="prometheus",code=~"5.."}'
    assert ratio["latency"]["histogram"] == 'prometheus_http_request_duration_seconds_bucket{job="prometheus"}'
    probe_name, probe = by_metric["probe_success"]
    assert probe["availability"]["probe"] == f'probe_success{{job="blackbox",instance="{target}"}}'
    up_name, up = by_metric["up"]
    assert up["availability"]["probe"] == 'up{job="blackbox-exporter"}'

    assert main(["--config", str(cfg_path), "validate"]) == 0
    assert "ok (3 services, 1 source, 0 customers)" in capsys.readouterr().out
    out = tmp_path / "reports"
    assert main(["--config", str(cfg_path), "report", "monthly", "--month", month, "--out", str(out)]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[-1].startswith(f"{month}: 3 services, tiers met 1 of 3, 2 incidents, ")
    report = json.loads((out / f"report-{month}.json").read_text())["services"]
    assert report[name]["minutes"]["down"] == len(ERROR_MINUTES)
    assert report[name]["minutes"]["up"] == MINUTES - len(ERROR_MINUTES)
    assert report[name]["latency_seconds"]["p50"] is not None
    assert report[name]["latency_bounds_seconds"]["p99"] == [0.2, 0.4]
    assert report[probe_name]["minutes"]["down"] == len(PROBE_DOWN)
    assert report[up_name]["minutes"]["down"] == 0 and report[up_name]["minutes"]["up"] == MINUTES


def test_init_dry_run_prints_and_refuses_to_overwrite(live, tmp_path, capsys):
    url = live[0]
    assert main(["init", "--prometheus", url, "--dry-run"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("# slactl starter configuration") and "services:" in text
    existing = tmp_path / "slactl.yaml"
    existing.write_text("keep me\n")
    assert main(["init", "--prometheus", url, "--out", str(existing)]) == 2
    assert "exists; give another file or --force" in capsys.readouterr().err
    assert existing.read_text() == "keep me\n"


def test_init_against_nothing_is_exit_1(tmp_path, capsys):
    dead = f"http://127.0.0.1:{free_loopback_port()}"
    assert main(["init", "--prometheus", dead, "--out", str(tmp_path / "x.yaml")]) == 1
    err = capsys.readouterr().err.strip()
    assert err == f"slactl: error: cannot reach Prometheus at {dead} (ConnectionError); check the URL and that the server is up"
    assert not (tmp_path / "x.yaml").exists()
