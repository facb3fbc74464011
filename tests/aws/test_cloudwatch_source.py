"""The CloudWatch source: the full report through the CLI against a real moto server.

moto stores datapoints at any timestamp (no 15-day window, no retention), so a
past month works with ``SLACTL_NOW`` pinned.  It computes no percentile-rank
statistic (``PR(:x)`` makes it answer HTTP 500), so :class:`kits.cloudwatch.RankAnswers`
answers those queries from the very samples put into moto, and moto answers the
rest (``Sum``, ``Minimum``, ``SampleCount``).  Paging and refusals are in
``test_cloudwatch_stubbed.py``; the latency arithmetic in
``test_cloudwatch_latency.py``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import numpy as np
import pytest
from kits.cloudwatch import DAY0, LB, M0, NS, TG, RankAnswers, dims
from kits.prometheus import free_loopback_port

from slactl.cli.main import main

MONTH = "2026-02"
BOUNDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)  # the documented default
TARGETS = {"p50": 0.05, "p95": 0.2, "p99": 0.5}


def requests_in(k: int) -> tuple[int, int]:
    """Two RequestCount datapoints put in minute ``k`` of the day (CloudWatch sums them)."""
    return 40 + k % 7, 60 + k % 11


def errors_in(k: int) -> int:
    """HTTPCode_Target_5XX_Count of minute ``k``: background, a 12-minute outage and a lone bad minute."""
    n = sum(requests_in(k))
    if 600 <= k < 612:
        return n // 2
    if k == 900:
        return n // 10  # good ratio 0.9 < 0.95: down
    if k == 1000:
        return n * 3 // 100  # 0.97: still up
    return 1 if k % 97 == 0 else 0


WEB_GAP = range(300, 305)  # no RequestCount at all: no_data, even though 5XX has a point
HOST_GAP = range(800, 810)


def hosts_in(k: int) -> tuple[float, float] | None:
    """Two HealthyHostCount samples of minute ``k``; the service needs at least 2 (Minimum)."""
    if k in HOST_GAP:
        return None
    if 700 <= k < 720:
        return 3.0, 1.0
    if 720 <= k < 725:
        return 2.0, 3.0  # exactly the threshold: up
    return 3.0, 3.0


def latency_in(k: int) -> list[float]:
    """TargetResponseTime samples of minute ``k`` (every 4th minute, to keep moto quick).

    Some sit exactly on a bound (0.1, 0.25, 2.5: counted in that bucket), one is
    0 (counted in the first bucket), and the outage is slow, past the last bound.
    """
    if k % 4:
        return []
    out = [0.004 + (k % 9) * 0.002, 0.03 + (k % 7) * 0.01, 0.1, 0.05 * (1 + k % 5)]
    if 600 <= k < 612:
        out += [2.5, 7.0, 12.0]
    if k % 100 == 0:
        out.append(0.0)
    if k % 36 == 0:
        out.append(0.25 + (k % 3) * 0.3)
    return out


def quantile(q: float, samples: list[float]) -> tuple[float, float, float | None]:
    """Prometheus' histogram_quantile over the default bounds, written out: (value, lower, upper)."""
    cum = [sum(1 for s in samples if s <= b) for b in BOUNDS] + [len(samples)]
    rank = q * len(samples)
    i = next(i for i, c in enumerate(cum) if c >= rank)
    if i == len(BOUNDS):
        return BOUNDS[-1], BOUNDS[-1], None
    lower, below = (0.0, 0) if i == 0 else (BOUNDS[i - 1], cum[i - 1])
    return lower + (BOUNDS[i] - lower) * (rank - below) / (cum[i] - below), lower, BOUNDS[i]


def at(k: int, second: int) -> datetime:
    return DAY0 + timedelta(minutes=k, seconds=second)


def iso(m: int) -> str:
    return datetime.fromtimestamp(m * 60, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def expected(good: dict[int, float]) -> dict[str, Any]:
    """SPEC 2 on per-minute good ratios of the month (absent = no data, policy ignore)."""
    total = 28 * 1440
    down = {m for m, g in good.items() if g < 0.95}
    runs = [(m, next(e for e in range(m, m + total) if e not in down)) for m in sorted(down) if m - 1 not in down]
    up = len(good) - len(down)
    return {
        "minutes": {"total": total, "up": up, "down": len(down), "no_data": total - len(good), "excluded": 0},
        "uptime_percent": 100 * up / (up + len(down)),
        "incidents": [
            {"start": iso(a), "end": iso(b), "duration_minutes": b - a,
             "severity": "minor" if b - a < 15 else "major" if b - a < 60 else "critical"}
            for a, b in runs
        ],
    }


# --------------------------------------------------------------------------- moto


@pytest.fixture(autouse=True)
def aws_env(monkeypatch, tmp_path):
    """Dummy credentials and no user AWS files, proxies or instance metadata."""
    for var in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_MAX_ATTEMPTS", "AWS_RETRY_MODE",
                "HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "SLACTL_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("SLACTL_NOW", "2026-03-02T00:00:00Z")


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    """A moto server process on a free loopback port, holding the test's day of ALB metrics."""
    exe = shutil.which("moto_server", path=str(Path(sys.executable).parent)) or shutil.which("moto_server")
    if exe is None:
        pytest.skip("moto_server not installed (pip install 'moto[server]')")
    url = f"http://127.0.0.1:{(port := free_loopback_port())}"
    proc = subprocess.Popen([exe, "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.monotonic() + 20
    try:
        while True:
            if proc.poll() is not None:
                pytest.fail(f"moto_server exited: {proc.stderr.read().decode() if proc.stderr else ''}")
            try:
                opener.open(f"{url}/moto-api/", timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("moto_server did not answer within 20 s")
                time.sleep(0.1)
        _put_day(url)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _put_day(url: str) -> None:
    cw = boto3.client("cloudwatch", region_name="us-east-1", endpoint_url=url,
                      aws_access_key_id="testing", aws_secret_access_key="testing")
    data: list[tuple[str, dict[str, str], datetime, Any]] = []
    for k in range(1440):
        if k not in WEB_GAP:
            a, b = requests_in(k)
            data += [("RequestCount", LB, at(k, 10), a), ("RequestCount", LB, at(k, 40), b)]
        if errors_in(k) or k == 302:
            data.append(("HTTPCode_Target_5XX_Count", LB, at(k, 20), float(errors_in(k) or 5)))
        hosts = hosts_in(k)
        if hosts is not None:
            data += [("HealthyHostCount", TG, at(k, 15), hosts[0]), ("HealthyHostCount", TG, at(k, 45), hosts[1])]
        if latency_in(k):
            data.append(("TargetResponseTime", LB, at(k, 30), latency_in(k)))
    # Just after the month: must not leak into it (moto also answers for EndTime's own period).
    after = datetime(2026, 3, 1, 0, 0, 30, tzinfo=UTC)
    data += [("RequestCount", LB, after, 10.0), ("HTTPCode_Target_5XX_Count", LB, after, 10.0)]
    for i in range(0, len(data), 500):
        cw.put_metric_data(Namespace=NS, MetricData=[
            {"MetricName": n, "Dimensions": dims(d), "Timestamp": t, **({"Values": v} if isinstance(v, list) else {"Value": v})}
            for n, d, t, v in data[i : i + 500]
        ])


CONFIG = """
sources:
  aws: {{type: cloudwatch, region: us-east-1, endpoint_url: "{url}"{extra}}}
tiers:
  standard: {{uptime_target: 99.9}}
latency_targets_seconds: {{p50: 0.05, p95: 0.2, p99: 0.5}}
services:
  web:
    source: aws
    availability:
      errors: {{namespace: AWS/ApplicationELB, metric: HTTPCode_Target_5XX_Count, dimensions: {{LoadBalancer: app/web/1}}, stat: Sum}}
      total: {{namespace: AWS/ApplicationELB, metric: RequestCount, dimensions: {{LoadBalancer: app/web/1}}, stat: Sum}}
    latency:
      metric: {{namespace: AWS/ApplicationELB, metric: TargetResponseTime, dimensions: {{LoadBalancer: app/web/1}}}}
  hosts:
    source: aws
    availability:
      probe: {{namespace: AWS/ApplicationELB, metric: HealthyHostCount, stat: Minimum, up_when_at_least: 2,
              dimensions: {{LoadBalancer: app/web/1, TargetGroup: targetgroup/web/1}}}}
"""


def write_config(tmp_path: Path, url: str, extra: str = "") -> Path:
    path = tmp_path / "slactl.yaml"
    path.write_text(CONFIG.format(url=url, extra=extra))
    return path


def run(cfg: Path, out: Path) -> int:
    return main(["--config", str(cfg), "report", "monthly", "--month", MONTH, "--out", str(out)])


def one_line(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.fixture
def ranks(moto_url, monkeypatch) -> RankAnswers:
    """Every CloudWatch client slactl makes gets its PR(:x) queries answered from the put samples."""
    answers = RankAnswers(moto_url, {("TargetResponseTime", M0 + k): s for k in range(1440) if (s := latency_in(k))})
    real = boto3.session.Session.client

    def client(self: boto3.session.Session, *args: Any, **kwargs: Any) -> Any:
        made = real(self, *args, **kwargs)
        if (args[0] if args else kwargs.get("service_name")) == "cloudwatch":
            answers.attach(made)
        return made

    monkeypatch.setattr(boto3.session.Session, "client", client)
    return answers


def test_report_from_moto_matches_the_put_values(moto_url, ranks, tmp_path, capsys):
    assert run(write_config(tmp_path, moto_url), out := tmp_path / "out") == 0, capsys.readouterr().err
    services = json.loads((out / f"report-{MONTH}.json").read_text())["services"]

    web = {M0 + k: 1 - errors_in(k) / sum(requests_in(k)) for k in range(1440) if k not in WEB_GAP}
    want = expected(web)
    got = services["web"]
    assert got["minutes"] == want["minutes"]
    assert got["minutes"]["down"] == 13
    assert got["uptime_percent"] == pytest.approx(want["uptime_percent"])
    assert got["incidents"] == want["incidents"]
    assert [i["duration_minutes"] for i in got["incidents"]] == [12, 1]
    errors = sum(errors_in(k) for k in range(1440) if k not in WEB_GAP)
    assert got["error_ratio"] == pytest.approx(errors / sum(sum(requests_in(k)) for k in range(1440) if k not in WEB_GAP))

    # Latency: the percentiles of the put samples, through buckets at the default bounds.
    samples = [s for k in range(1440) for s in latency_in(k)]
    for key, target in TARGETS.items():
        value, lower, upper = quantile(float(key[1:]) / 100, samples)
        assert got["latency_seconds"][key] == pytest.approx(value, rel=1e-12), key
        assert got["latency_bounds_seconds"][key] == pytest.approx([lower, upper]), key
        truth = sorted(samples)[int(np.ceil(float(key[1:]) / 100 * len(samples))) - 1]  # nearest rank
        assert lower <= truth and (upper is None or truth <= upper), key
        verdict = got["latency_targets"][key]
        assert verdict["target"] == target and verdict["met"] == (value <= target), key
        if "certain" in verdict:
            assert verdict["certain"] == ((upper is not None and upper <= target) or lower > target), key

    # One call a day for both services (15 queries: 2 + SampleCount + 11 ranks, then the probe).
    assert len(ranks.calls) == 28
    assert {len(c["MetricDataQueries"]) for c in ranks.calls} == {15}
    stats = [q["MetricStat"]["Stat"] for q in ranks.calls[0]["MetricDataQueries"]]
    assert stats == ["Sum", "Sum", "SampleCount"] + [f"PR(:{b:g})" for b in BOUNDS] + ["Minimum"]

    hosts = {M0 + k: float(min(h) >= 2) for k in range(1440) if (h := hosts_in(k)) is not None}
    want = expected(hosts)
    got = services["hosts"]
    assert got["minutes"] == want["minutes"] and got["minutes"]["down"] == 20
    assert got["uptime_percent"] == pytest.approx(want["uptime_percent"])
    assert got["incidents"] == want["incidents"] == [
        {"start": "2026-02-10T11:40:00Z", "end": "2026-02-10T12:00:00Z", "duration_minutes": 20, "severity": "major"}
    ]
    assert got["error_ratio"] is None


def test_unreachable_endpoint_is_exit_1_naming_the_source(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")  # the standard AWS knob: keep the backoff short
    dead = f"http://127.0.0.1:{free_loopback_port()}"
    out = tmp_path / "out"
    assert run(write_config(tmp_path, dead), out) == 1
    line = one_line(capsys.readouterr().err)
    assert "source 'aws'" in line and dead in line and "cannot connect" in line
    assert not out.exists() or not any(out.iterdir())


def test_missing_credentials_are_one_clear_line(moto_url, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    assert run(write_config(tmp_path, moto_url), tmp_path / "out") == 1
    line = one_line(capsys.readouterr().err)
    assert "source 'aws'" in line and "credentials" in line and "AWS_ACCESS_KEY_ID" in line


def test_unknown_profile_is_a_config_error(moto_url, tmp_path, capsys):
    assert run(write_config(tmp_path, moto_url, extra=", profile: nobody"), tmp_path / "out") == 2
    line = one_line(capsys.readouterr().err)
    assert "sources.aws.profile" in line and "nobody" in line


