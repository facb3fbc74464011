"""The same month from VictoriaMetrics as from Prometheus.

Debian's single-node ``victoria-metrics`` is started on loopback over an empty
data folder, the scenario of ``test_prometheus_pull`` is imported through
``/api/v1/import/prometheus`` (text exposition with millisecond timestamps), and
``slactl report monthly`` must give every service the same figures as against
the real Prometheus; the hand-checked month of ``test_prometheus_figures`` must
come out exact from VictoriaMetrics too.  VictoriaMetrics differs in the details slactl depends on
(ranges are left-open, ``resets`` looks at the sample before the window, start
and end are rounded to the step unless caching is off), so this is a real check.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
import test_prometheus_figures as figures
from kits.prometheus import free_loopback_port
from test_prometheus_pull import fused, prom, report, scenario_series, write_config  # noqa: F401 (fixtures)

pytestmark = pytest.mark.prometheus

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: no proxy


def _label_value(v: str) -> str:
    return v.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _import(url: str, lines: list[str]) -> None:
    """Import text-exposition lines (millisecond timestamps) and make them searchable now."""
    for i in range(0, len(lines), 200_000):
        body = ("\n".join(lines[i : i + 200_000]) + "\n").encode()
        req = urllib.request.Request(f"{url}/api/v1/import/prometheus", data=body, method="POST")
        with _OPENER.open(req, timeout=120) as resp:
            assert resp.status in (200, 204)
    with _OPENER.open(f"{url}/internal/force_flush", timeout=30) as resp:
        assert resp.status == 200


def _from_openmetrics(path: Path) -> list[str]:
    """``kits.prometheus``'s OpenMetrics file (seconds) as text exposition lines (milliseconds)."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        head, ts = line.rsplit(" ", 1)
        sec, _, frac = ts.partition(".")
        out.append(f"{head} {int(sec) * 1000 + int((frac + '000')[:3])}")
    return out


@pytest.fixture(scope="module")
def make_victoria(tmp_path_factory):
    """Factory: a fresh single-node VictoriaMetrics on loopback holding ``lines``; returns its URL."""
    binary = shutil.which("victoria-metrics")
    if binary is None:
        pytest.skip("victoria-metrics not on PATH (Debian package victoria-metrics)")
    procs: list[tuple[subprocess.Popen, object]] = []

    def make(lines: list[str]) -> str:
        work = tmp_path_factory.mktemp("victoria")
        url = f"http://127.0.0.1:{free_loopback_port()}"
        log = open(work / "victoria.log", "wb")  # noqa: SIM115 (closed at teardown)
        proc = subprocess.Popen(
            [binary, f"-storageDataPath={work / 'data'}", f"-httpListenAddr={url[7:]}", "-retentionPeriod=100y"],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        procs.append((proc, log))
        for _ in range(200):  # up to 20 s
            try:
                with _OPENER.open(f"{url}/health", timeout=1) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None:
                pytest.fail(f"victoria-metrics exited: {(work / 'victoria.log').read_text()[-2000:]}")
            time.sleep(0.1)
        else:
            pytest.fail("victoria-metrics did not become healthy")
        _import(url, lines)
        return url

    yield make
    for proc, log in procs:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=20)
        log.close()  # type: ignore[attr-defined]


def test_the_report_from_victoriametrics_equals_the_one_from_prometheus(make_victoria, fused, tmp_path):  # noqa: F811
    lines = []
    for _kind, name, labels, samples in scenario_series():
        sel = ",".join(f'{k}="{_label_value(v)}"' for k, v in sorted(labels.items()))
        lines.extend(f"{name}{{{sel}}} {v:g} {round(t * 1000)}" for t, v in samples)
    rc, doc = report(write_config(tmp_path, make_victoria(lines)))
    assert rc == 0
    assert doc["services"] == fused[0]["services"]
    assert doc == fused[0]  # every other field too


def test_the_hand_checked_month_from_victoriametrics(make_victoria, tmp_path):
    """The corner cases of the figures test (resets inside minutes, gaps, odd scrapes) from VictoriaMetrics."""
    scenario = figures.Scenario()
    url = make_victoria(_from_openmetrics(scenario.openmetrics().write(tmp_path / "month.om")))
    rc, data = figures.run_report(tmp_path, scenario.config(url), figures.MONTH)
    assert rc == 0
    got = json.loads(data)
    expected = scenario.expected()
    for service in figures.SERVICES:
        figures.assert_service(got["services"][service], expected[service])
