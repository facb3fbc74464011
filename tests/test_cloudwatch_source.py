"""The CloudWatch source: the full report against a real moto server, and shaped answers.

moto stores datapoints at any timestamp (no 15-day window, no retention), so a
past month works with ``SLACTL_NOW`` pinned; it does not compute percentile
statistics (``p99`` makes it answer HTTP 500) and never pages, so those paths
run against ``botocore.stub.Stubber`` answers shaped like real GetMetricData.
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
from botocore.stub import ANY, Stubber
from promkit import free_loopback_port

from slactl.cli.main import main
from slactl.config import parse
from slactl.errors import QueryError, SourceError
from slactl.sources import base
from slactl.sources.base import FetchRequest, Injected
from slactl.sources.cloudwatch import CloudWatchAdapter, spans  # also registers "cloudwatch"

MONTH = "2026-02"
DAY0 = datetime(2026, 2, 10, tzinfo=UTC)  # the day the test puts data in
M0 = int(DAY0.timestamp() // 60)
NS = "AWS/ApplicationELB"
LB = {"LoadBalancer": "app/web/1"}
TG = {"LoadBalancer": "app/web/1", "TargetGroup": "targetgroup/web/1"}


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


def dims(d: dict[str, str]) -> list[dict[str, str]]:
    return [{"Name": k, "Value": v} for k, v in d.items()]


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
    data: list[tuple[str, dict[str, str], datetime, float]] = []
    for k in range(1440):
        if k not in WEB_GAP:
            a, b = requests_in(k)
            data += [("RequestCount", LB, at(k, 10), a), ("RequestCount", LB, at(k, 40), b)]
        if errors_in(k) or k == 302:
            data.append(("HTTPCode_Target_5XX_Count", LB, at(k, 20), float(errors_in(k) or 5)))
        hosts = hosts_in(k)
        if hosts is not None:
            data += [("HealthyHostCount", TG, at(k, 15), hosts[0]), ("HealthyHostCount", TG, at(k, 45), hosts[1])]
    # Just after the month: must not leak into it (moto also answers for EndTime's own period).
    after = datetime(2026, 3, 1, 0, 0, 30, tzinfo=UTC)
    data += [("RequestCount", LB, after, 10.0), ("HTTPCode_Target_5XX_Count", LB, after, 10.0)]
    for i in range(0, len(data), 500):
        cw.put_metric_data(Namespace=NS, MetricData=[
            {"MetricName": n, "Dimensions": dims(d), "Timestamp": t, "Value": v} for n, d, t, v in data[i : i + 500]
        ])


CONFIG = """
sources:
  aws: {{type: cloudwatch, region: us-east-1, endpoint_url: "{url}"{extra}}}
tiers:
  standard: {{uptime_target: 99.9}}
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


def test_report_from_moto_matches_the_put_values(moto_url, tmp_path, capsys):
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
    assert got["latency_seconds"] == {"p50": None, "p95": None, "p99": None}  # no buckets from CloudWatch yet

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


# --------------------------------------------------------------------------- shaped answers


def stubbed(tmp_path: Path, text: str = "") -> tuple[CloudWatchAdapter, Stubber, Any]:
    """An adapter over a Stubber-wrapped client, built the way ingest builds it."""
    cfg = parse(text or CONFIG.format(url="http://stubbed.invalid", extra=""), base_dir=tmp_path)
    client = boto3.client("cloudwatch", region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    adapter = base.build("aws", cfg, Injected(aws_client_factory=lambda _name, **_kw: client))
    assert isinstance(adapter, CloudWatchAdapter)
    adapter.workers = 1  # Stubber answers in order
    return adapter, Stubber(client), cfg


def metric_query(qid: str, label: str, metric: str, d: dict[str, str], stat: str) -> dict[str, Any]:
    """A MetricDataQuery as GetMetricData takes it (dimensions sorted by name)."""
    return {"Id": qid, "Label": label, "ReturnData": True, "MetricStat": {
        "Metric": {"Namespace": NS, "MetricName": metric, "Dimensions": dims(dict(sorted(d.items())))},
        "Period": 60, "Stat": stat}}


def result(qid: str, label: str, minutes: list[int], values: list[float], status: str = "Complete") -> dict[str, Any]:
    return {"Id": qid, "Label": label, "StatusCode": status, "Messages": [],
            "Timestamps": [datetime.fromtimestamp(m * 60, tz=UTC) for m in minutes], "Values": values}


def test_percentiles_per_minute(tmp_path):
    adapter, stub, cfg = stubbed(tmp_path)
    req = FetchRequest("web", cfg.services["web"], M0, M0 + 60)
    minutes, ps = [M0, M0 + 1, M0 + 3], ("p50", "p95", "p99")
    values = [[0.021, 0.025, 0.030], [0.110, 0.120, 0.300], [0.250, 0.260, 0.900]]
    answer = {"MetricDataResults": [result(f"q{i}", f"web latency {p}", minutes, v)
                                    for i, (p, v) in enumerate(zip(ps, values, strict=True))], "Messages": []}
    stub.add_response("get_metric_data", answer, {
        "MetricDataQueries": [metric_query(f"q{i}", f"web latency {p}", "TargetResponseTime", LB, p)
                              for i, p in enumerate(ps)],
        "StartTime": DAY0, "EndTime": DAY0 + timedelta(minutes=60), "ScanBy": "TimestampAscending",
    })
    with stub:
        got = adapter.fetch_percentiles(req)
    stub.assert_no_pending_responses()
    assert list(got) == ["p50", "p95", "p99"]
    np.testing.assert_allclose(got["p95"][[0, 1, 3]], [0.110, 0.120, 0.300])
    assert np.isnan(got["p95"][2]) and np.isnan(got["p99"][4:]).all()


def test_next_token_pages_are_joined_and_outside_points_dropped(tmp_path):
    adapter, stub, cfg = stubbed(tmp_path)
    req = FetchRequest("web", cfg.services["web"], M0, M0 + 60)
    first, second = list(range(M0, M0 + 30)), list(range(M0 + 30, M0 + 61))  # M0+60 is past the end
    stub.add_response("get_metric_data", {
        "MetricDataResults": [result("q0", "web total", first, [100.0] * 30, "PartialData"),
                              result("q1", "web errors", [M0 + 5], [60.0], "PartialData")],
        "NextToken": "page-2", "Messages": [],
    }, {"MetricDataQueries": ANY, "StartTime": DAY0, "EndTime": DAY0 + timedelta(minutes=60),
        "ScanBy": "TimestampAscending"})  # no NextToken on the first page
    stub.add_response("get_metric_data", {
        "MetricDataResults": [result("q0", "web total", second, [200.0] * 31),
                              result("q1", "web errors", [M0 + 40], [2.0])],
        "Messages": [{"Code": "Info", "Value": "complete"}],
    }, {"MetricDataQueries": ANY, "StartTime": DAY0,
        "EndTime": DAY0 + timedelta(minutes=60), "ScanBy": "TimestampAscending", "NextToken": "page-2"})
    with stub:
        (groups,) = adapter.fetch([req])
    stub.assert_no_pending_responses()
    ms = groups[()]
    assert list(groups) == [()] and ms.kind == "ratio"
    assert ms.start == M0 and len(ms) == 60 and ms.has_data.all() and not ms.buckets
    assert ms.total.sum() == 30 * 100 + 30 * 200
    assert ms.errors[5] == 60 and ms.errors[40] == 2 and ms.errors.sum() == 62
    assert (ms.good_ratio() < 0.95).sum() == 1


def test_probe_threshold_defaults_to_one_and_gaps_are_no_data(tmp_path):
    text = CONFIG.format(url="http://x.invalid", extra="").replace("up_when_at_least: 2,", "")
    adapter, stub, cfg = stubbed(tmp_path, text)
    stub.add_response("get_metric_data", {"MetricDataResults": [
        result("q0", "hosts probe", [M0, M0 + 1, M0 + 2, M0 + 4], [0.0, 1.0, 2.5, 0.5])]})
    with stub:
        ms = adapter.fetch([FetchRequest("hosts", cfg.services["hosts"], M0, M0 + 5)])[0][()]
    assert ms.has_data.tolist() == [True, True, True, False, True]
    assert ms.probe_sum.tolist() == [0.0, 1.0, 1.0, 0.0, 0.0]
    assert ms.probe_count.tolist() == [1.0, 1.0, 1.0, 0.0, 1.0]


def test_a_month_is_cut_into_utc_days_and_the_limits_hold(tmp_path):
    start = M0 - 90  # 22:30 the day before
    assert spans(start, M0 + 1440 + 15, 2) == [(start, M0), (M0, M0 + 1440), (M0 + 1440, M0 + 1455)]
    for n in (1, 2, 70, 71, 500):
        sizes = [b - a for a, b in spans(0, 44640, n)]
        assert sum(sizes) == 44640 and max(sizes) * n <= 100_800
    assert max(b - a for a, b in spans(0, 44640, 500)) == 201

    adapter, stub, cfg = stubbed(tmp_path)
    for a, b in spans(start, M0 + 1455, 2):
        stub.add_response("get_metric_data", {"MetricDataResults": [
            result("q0", "web total", [a], [10.0]), result("q1", "web errors", [], [])]},
            {"MetricDataQueries": ANY, "StartTime": datetime.fromtimestamp(a * 60, tz=UTC),
             "EndTime": datetime.fromtimestamp(b * 60, tz=UTC), "ScanBy": "TimestampAscending"})
    with stub:
        ms = adapter.fetch([FetchRequest("web", cfg.services["web"], start, M0 + 1455)])[0][()]
    stub.assert_no_pending_responses()
    assert np.flatnonzero(ms.has_data).tolist() == [0, 90, 90 + 1440]


@pytest.mark.parametrize(
    ("code", "status", "message", "kind", "names", "not_named"),
    [
        ("AccessDenied", 403, "User: arn:aws:iam::123456789012:user/ci is not authorized to perform: "
         "cloudwatch:GetMetricData", QueryError, ["RequestCount", "HTTPCode_Target_5XX_Count"], []),
        ("InvalidParameterValue", 400, "The value p101 for parameter MetricDataQueries.member.2.MetricStat.Stat "
         "is not a valid statistic.", QueryError, ["HTTPCode_Target_5XX_Count"], ["RequestCount"]),
        ("ExpiredToken", 403, "The security token included in the request is expired", QueryError,
         ["credentials", "AWS_PROFILE"], []),
        ("Throttling", 400, "Rate exceeded", SourceError, ["throttling", "after 5 attempts"], []),
        ("InternalServiceError", 500, "oops", SourceError, ["InternalServiceError"], []),
    ],
)
def test_refusals_become_slactl_errors(tmp_path, code, status, message, kind, names, not_named):
    adapter, stub, cfg = stubbed(tmp_path)
    stub.add_client_error("get_metric_data", service_error_code=code, service_message=message,
                          http_status_code=status)
    with stub, pytest.raises(SourceError) as info:
        adapter.fetch([FetchRequest("web", cfg.services["web"], M0, M0 + 60)])
    assert type(info.value) is kind
    text = str(info.value)
    assert "source 'aws'" in text and "service 'web'" in text and "\n" not in text
    assert all(n in text for n in names), text
    assert not any(n in text for n in not_named), text
    assert isinstance(info.value.__cause__, Exception)


def test_forbidden_result_status_is_a_query_error(tmp_path):
    adapter, stub, cfg = stubbed(tmp_path)
    denied = result("q1", "web errors", [], [], "Forbidden") | {
        "Messages": [{"Code": "Forbidden", "Value": "no access to AWS/ApplicationELB"}]}
    stub.add_response("get_metric_data", {"MetricDataResults": [result("q0", "web total", [M0], [1.0]), denied]})
    with stub, pytest.raises(QueryError, match=r"Forbidden for service 'web' \(errors .*HTTPCode_Target_5XX_Count"):
        adapter.fetch([FetchRequest("web", cfg.services["web"], M0, M0 + 60)])

