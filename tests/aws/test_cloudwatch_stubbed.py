"""The CloudWatch source's availability path against Stubber answers shaped like AWS's.

moto never pages and never refuses, so paging (``NextToken``, ``PartialData``),
day cuts and the mapping of refusals to slactl's errors are checked here against
``botocore.stub.Stubber`` answers shaped as real ``GetMetricData`` pages.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from botocore.stub import ANY
from kits.cloudwatch import DAY0, M0, result, stubbed

from slactl.errors import QueryError, SourceError
from slactl.sources.base import FetchRequest
from slactl.sources.cloudwatch.source import spans

CONFIG = """
sources:
  aws: {type: cloudwatch, region: us-east-1, endpoint_url: "http://stubbed.invalid"}
tiers:
  standard: {uptime_target: 99.9}
services:
  web:
    source: aws
    availability:
      errors: {namespace: AWS/ApplicationELB, metric: HTTPCode_Target_5XX_Count, dimensions: {LoadBalancer: app/web/1}, stat: Sum}
      total: {namespace: AWS/ApplicationELB, metric: RequestCount, dimensions: {LoadBalancer: app/web/1}, stat: Sum}
  hosts:
    source: aws
    availability:
      probe: {namespace: AWS/ApplicationELB, metric: HealthyHostCount, stat: Minimum, up_when_at_least: 2,
              dimensions: {LoadBalancer: app/web/1, TargetGroup: targetgroup/web/1}}
"""


def test_next_token_pages_are_joined_and_outside_points_dropped(tmp_path):
    adapter, stub, cfg = stubbed(tmp_path, CONFIG)
    req = FetchRequest("web", cfg.services["web"], M0, M0 + 60)
    # Newest first, as AWS pages by default: the first page holds the later half
    # (and a point past the asked-for end), the second the earlier one.
    newer, older = list(range(M0 + 30, M0 + 61)), list(range(M0, M0 + 30))
    stub.add_response("get_metric_data", {
        "MetricDataResults": [result("q0", "web total", newer, [200.0] * 31, "PartialData"),
                              result("q1", "web errors", [M0 + 40], [2.0], "PartialData")],
        "NextToken": "page-2", "Messages": [],
    }, {"MetricDataQueries": ANY, "StartTime": DAY0, "EndTime": DAY0 + timedelta(minutes=60)})  # no NextToken yet
    stub.add_response("get_metric_data", {
        "MetricDataResults": [result("q0", "web total", older, [100.0] * 30),
                              result("q1", "web errors", [M0 + 5], [60.0])],
        "Messages": [{"Code": "Info", "Value": "complete"}],
    }, {"MetricDataQueries": ANY, "StartTime": DAY0,
        "EndTime": DAY0 + timedelta(minutes=60), "NextToken": "page-2"})
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
    text = CONFIG.replace("up_when_at_least: 2,", "")
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

    adapter, stub, cfg = stubbed(tmp_path, CONFIG)
    for a, b in spans(start, M0 + 1455, 2):
        stub.add_response("get_metric_data", {"MetricDataResults": [
            result("q0", "web total", [a], [10.0]), result("q1", "web errors", [], [])]},
            {"MetricDataQueries": ANY, "StartTime": datetime.fromtimestamp(a * 60, tz=UTC),
             "EndTime": datetime.fromtimestamp(b * 60, tz=UTC)})
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
    adapter, stub, cfg = stubbed(tmp_path, CONFIG)
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
    adapter, stub, cfg = stubbed(tmp_path, CONFIG)
    denied = result("q1", "web errors", [], [], "Forbidden") | {
        "Messages": [{"Code": "Forbidden", "Value": "no access to AWS/ApplicationELB"}]}
    stub.add_response("get_metric_data", {"MetricDataResults": [result("q0", "web total", [M0], [1.0]), denied]})
    with stub, pytest.raises(QueryError, match=r"Forbidden for service 'web' \(errors .*HTTPCode_Target_5XX_Count"):
        adapter.fetch([FetchRequest("web", cfg.services["web"], M0, M0 + 60)])



def test_services_sharing_a_call_are_each_named_in_errors(tmp_path):
    adapter, stub, cfg = stubbed(tmp_path, CONFIG)
    reqs = [FetchRequest(n, cfg.services[n], M0, M0 + 60) for n in ("web", "hosts")]
    denied = result("q2", "hosts probe", [], [], "Forbidden") | {
        "Messages": [{"Code": "Forbidden", "Value": "no access"}]}
    stub.add_response("get_metric_data", {"MetricDataResults": [
        result("q0", "web total", [M0], [1.0]), result("q1", "web errors", [], []), denied]},
        {"MetricDataQueries": ANY, "StartTime": DAY0, "EndTime": DAY0 + timedelta(minutes=60)})
    with stub, pytest.raises(QueryError, match=r"Forbidden for service 'hosts' \(probe .*HealthyHostCount") as info:
        adapter.fetch(reqs)
    assert "'web'" not in str(info.value)

    adapter, stub, cfg = stubbed(tmp_path, CONFIG)
    stub.add_client_error("get_metric_data", service_error_code="Throttling", service_message="Rate exceeded",
                          http_status_code=400)
    with stub, pytest.raises(SourceError) as info:
        adapter.fetch(reqs)
    assert "service 'web' (total" in str(info.value) and "service 'hosts' (probe" in str(info.value)
    assert adapter.calls_made() == 1  # both services were in that one call
