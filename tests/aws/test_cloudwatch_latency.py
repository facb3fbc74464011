"""CloudWatch latency: percentile-rank answers become per-minute histogram buckets.

moto computes no percentile statistic, so the calls are answered by
``botocore.stub.Stubber`` with pages shaped as AWS sends them (newest first,
``PartialData`` + ``NextToken`` then ``Complete``); the expected buckets are
counted straight from the samples behind each answer.
"""

from __future__ import annotations

import math
import random
from datetime import timedelta

import numpy as np
import pytest
from botocore.stub import ANY
from hypothesis import given, settings
from hypothesis import strategies as st
from kits.cloudwatch import DAY0, LB, M0, metric_query, rank, result, stubbed, when

from slactl.config import Latency, MetricSpec, parse
from slactl.errors import ConfigError, SourceError
from slactl.sources.base import FetchRequest
from slactl.sources.cloudwatch.latency import bucket_counts, rank_stat
from slactl.sources.cloudwatch.source import spans

DEFAULT = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
ALB = "{namespace: AWS/ApplicationELB, metric: %s, dimensions: {LoadBalancer: app/web/1}, stat: Sum}"
HEAD = """
sources:
  aws: {type: cloudwatch, region: us-east-1, endpoint_url: "http://stubbed.invalid"}
tiers:
  standard: {uptime_target: 99.9}
services:
"""


def service(name: str, latency_extra: str = "", metric: str = "TargetResponseTime") -> str:
    return f"""  {name}:
    source: aws
    availability:
      errors: {ALB % "HTTPCode_Target_5XX_Count"}
      total: {ALB % "RequestCount"}
    latency:
      metric: {{namespace: AWS/ApplicationELB, metric: {metric}, dimensions: {{LoadBalancer: app/web/1}}}}
{latency_extra}"""


def samples_of_day(seed: int) -> dict[int, list[float]]:
    """Log-normal-ish latencies in about two thirds of the minutes, some exactly on a bound or 0."""
    rnd = random.Random(seed)
    out: dict[int, list[float]] = {}
    for k in range(1440):
        if rnd.random() < 0.33:
            continue
        values = [round(rnd.lognormvariate(math.log(0.08), 1.2), 4) for _ in range(rnd.randint(1, 40))]
        values += rnd.sample([0.0, 0.1, 0.25, 2.5, 11.0], rnd.randint(0, 2))
        out[M0 + k] = values
    return out


def counted(samples: dict[int, list[float]], bounds: tuple[float, ...]) -> dict[float, np.ndarray]:
    """The cumulative buckets per minute of the day, counted from the samples themselves."""
    out = {le: np.zeros(1440) for le in (*bounds, math.inf)}
    for m, values in samples.items():
        for le in out:
            out[le][m - M0] = sum(1 for v in values if v <= le)
    return out


def test_a_day_of_ranks_becomes_the_buckets_of_its_samples(tmp_path):
    adapter, stub, cfg = stubbed(tmp_path, HEAD + service("web"))
    samples = samples_of_day(1)
    stats = ["Sum", "Sum", "SampleCount"] + [f"PR(:{b:g})" for b in DEFAULT]
    roles = ["total", "errors", "latency count"] + [f"latency le={b:g}" for b in DEFAULT]
    metrics = ["RequestCount", "HTTPCode_Target_5XX_Count"] + ["TargetResponseTime"] * 12
    queries = [metric_query(f"q{i}", f"web {r}", m, LB, s)
               for i, (r, m, s) in enumerate(zip(roles, metrics, stats, strict=True))]

    def values(i: int, minutes: list[int]) -> list[float]:
        if i < 2:
            return [100.0 if i == 0 else 0.0] * len(minutes)
        if i == 2:
            return [float(len(samples[m])) for m in minutes]
        return [rank(samples[m], DEFAULT[i - 3]) for m in minutes]

    with_data = sorted(samples)
    newer, older = [m for m in with_data if m >= M0 + 720], [m for m in with_data if m < M0 + 720]
    asked = {"MetricDataQueries": queries, "StartTime": DAY0, "EndTime": DAY0 + timedelta(days=1)}
    stub.add_response("get_metric_data", {"MetricDataResults": [
        result(q["Id"], q["Label"], newer, values(i, newer), "PartialData") for i, q in enumerate(queries)],
        "NextToken": "t-2", "Messages": []}, asked)
    stub.add_response("get_metric_data", {"MetricDataResults": [
        result(q["Id"], q["Label"], older, values(i, older)) for i, q in enumerate(queries)],
        "Messages": []}, asked | {"NextToken": "t-2"})
    with stub:
        ms = adapter.fetch([FetchRequest("web", cfg.services["web"], M0, M0 + 1440)])[0][()]
    stub.assert_no_pending_responses()
    assert adapter.calls_made() == 2
    want = counted(samples, DEFAULT)
    assert sorted(ms.buckets) == sorted(want)
    for le, arr in want.items():
        np.testing.assert_array_equal(ms.buckets[le], arr, err_msg=f"le={le}")
    assert ms.buckets[math.inf].sum() == sum(len(v) for v in samples.values())
    assert ms.has_data.sum() == len(samples)  # availability is untouched by the latency queries


def test_custom_buckets_in_milliseconds(tmp_path):
    text = HEAD + service("api", "      buckets: [0.005, 0.25, 1]\n      unit: Milliseconds\n", "Latency")
    adapter, stub, cfg = stubbed(tmp_path, text)
    ms_samples = {M0: [3.0, 5.0, 5.5, 250.0, 900.0, 4000.0]}  # published in milliseconds
    stats = ["SampleCount", "PR(:5)", "PR(:250)", "PR(:1000)"]
    queries = [metric_query("q0", "api total", "RequestCount", LB, "Sum"),
               metric_query("q1", "api errors", "HTTPCode_Target_5XX_Count", LB, "Sum")]
    queries += [metric_query(f"q{i + 2}", f"api {r}", "Latency", LB, s) for i, (r, s) in enumerate(zip(
        ["latency count", "latency le=0.005", "latency le=0.25", "latency le=1"], stats, strict=True))]
    answers = [[1.0], [0.0], [6.0]] + [[rank(ms_samples[M0], b)] for b in (5.0, 250.0, 1000.0)]
    stub.add_response("get_metric_data", {"MetricDataResults": [
        result(q["Id"], q["Label"], [M0], v) for q, v in zip(queries, answers, strict=True)]},
        {"MetricDataQueries": queries, "StartTime": DAY0, "EndTime": DAY0 + timedelta(minutes=10)})
    with stub:
        ms = adapter.fetch([FetchRequest("api", cfg.services["api"], M0, M0 + 10)])[0][()]
    assert {le: arr[0] for le, arr in ms.buckets.items()} == {0.005: 2, 0.25: 4, 1.0: 5, math.inf: 6}
    assert all(arr[1:].sum() == 0 for arr in ms.buckets.values())


def test_partial_data_on_the_last_page_is_an_error_not_a_short_minute(tmp_path):
    adapter, stub, cfg = stubbed(tmp_path, HEAD + service("web", "      buckets: [0.1]\n"))
    stub.add_response("get_metric_data", {"MetricDataResults": [
        result("q0", "web total", [M0], [5.0]), result("q1", "web errors", [], []),
        result("q2", "web latency count", [M0], [5.0], "PartialData"),
        result("q3", "web latency le=0.1", [M0], [40.0])]})
    with stub, pytest.raises(SourceError, match=r"PartialData without a NextToken for service 'web' \(latency count"):
        adapter.fetch([FetchRequest("web", cfg.services["web"], M0, M0 + 60)])


def test_services_over_the_same_minutes_share_calls(tmp_path):
    """Whole services are packed up to 70 queries (a day's 100,800 points); a big one goes alone."""
    names = [f"s{i}" for i in range(6)]
    big = "      buckets: [" + ", ".join(f"{0.01 * (i + 1):g}" for i in range(100)) + "]\n"
    adapter, stub, cfg = stubbed(tmp_path, HEAD + "".join(service(n) for n in names) + service("big", big))
    sizes = [70] + [103] * len(spans(M0, M0 + 1440, 103)) + [14]  # the order the calls are made in
    for n in sizes:
        a_b = (M0, M0 + 1440) if n != 103 else None
        stub.add_response("get_metric_data", {"MetricDataResults": [
            result(f"q{i}", "x", [M0 + 7], [float(1 + i // 14)] if i % 14 == 2 else [100.0 if i % 14 == 0 else 0.0])
            for i in range(n)]}, {"MetricDataQueries": ANY, "StartTime": when(a_b[0]) if a_b else ANY,
                                   "EndTime": when(a_b[1]) if a_b else ANY})
    reqs = [FetchRequest(n, cfg.services[n], M0, M0 + 1440) for n in [*names, "big"]]
    with stub:
        got = adapter.fetch(reqs)
    stub.assert_no_pending_responses()
    assert adapter.calls_made() == len(sizes) == 4  # the big one (103 queries): 978-minute cuts
    # Each service got its own SampleCount back: 1..5 from the first call, 1 from the second.
    assert [g[()].buckets[math.inf][7] for g in got[:6]] == [1, 2, 3, 4, 5, 1]
    assert got[6][()].buckets[math.inf][7] == 1 and len(got[6][()].buckets) == 101
    assert all(g[()].has_data[7] and g[()].total[7] == 100 for g in got)


def test_bounds_are_written_as_plain_decimals_in_the_metric_unit():
    assert [rank_stat(b, 1) for b in (0.005, 1.0, 2.5, 1e-05, 0.1 + 0.2)] == [
        "PR(:0.005)", "PR(:1)", "PR(:2.5)", "PR(:0.00001)", "PR(:0.3)"]
    assert [rank_stat(b, 1000) for b in (0.005, 0.025, 2.5)] == ["PR(:5)", "PR(:25)", "PR(:2500)"]
    assert rank_stat(0.0001, 1e6) == "PR(:100)"


def test_rounding_clipping_and_monotone_counts():
    n = np.array([3.0, 10.0, 9.999999, 4.0, 5.0, np.nan, 0.0])
    ranks = [
        np.array([33.333333333333336, 60.0, 50.0, 25.0, np.nan, 50.0, 0.0]),
        np.array([66.66666666666667, 40.0, 100.0000001, 75.0, 100.0, 50.0, 0.0]),
    ]
    got = bucket_counts(n, ranks, (0.1, 0.2))
    assert got[0.1].tolist() == [1, 6, 5, 1, 0, 0, 0]
    assert got[0.2].tolist() == [2, 6, 10, 3, 0, 0, 0]  # 40% after 60% stays 6; over 100% clips to N
    assert got[math.inf].tolist() == [3, 10, 10, 4, 0, 0, 0]  # a minute missing a rank counts for nothing


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.sampled_from([0.0, 0.004, 0.005, 0.07, 0.1, 0.3, 2.5, 9.99, 10.0, 30.0])
                         | st.floats(0, 50, allow_nan=False), min_size=0, max_size=300), min_size=1, max_size=20))
def test_exact_counts_come_back_from_percentages(minutes):
    """Whatever the samples, PR × SampleCount rounds back to the exact count at every bound."""
    n = np.array([float(len(s)) if s else np.nan for s in minutes])
    ranks = [np.array([rank(s, b) if s else np.nan for s in minutes]) for b in DEFAULT]
    got = bucket_counts(n, ranks, DEFAULT)
    for le in (*DEFAULT, math.inf):
        assert got[le].tolist() == [float(sum(1 for v in s if v <= le)) for s in minutes]


def test_config_of_buckets_and_unit(tmp_path):
    lat = Latency(metric=MetricSpec(namespace="AWS/ApplicationELB", metric="TargetResponseTime"))
    assert lat.bounds == DEFAULT and lat.units_per_second == 1
    # Unset options stay out of the dump, so stored minutes' fingerprints do not change.
    assert "buckets" not in lat.model_dump() and "unit" not in Latency(histogram="h_bucket").model_dump()
    for extra, says in [
        ("      buckets: [0.1, 0.1]\n", "strictly increasing"),
        ("      buckets: [0, 1]\n", "> 0"),
        ("      buckets: [.inf]\n", "finite"),
        ("      buckets: []\n", "1 to 100"),
        ("      unit: Minutes\n", "Seconds"),
    ]:
        with pytest.raises(ConfigError, match=says) as info:
            parse(HEAD + service("web", extra), base_dir=tmp_path)
        assert "services.web.latency" in str(info.value)
    prom = HEAD.replace('type: cloudwatch, region: us-east-1, endpoint_url: "http://stubbed.invalid"',
                        "type: prometheus, url: http://127.0.0.1:9") + """  api:
    source: aws
    availability: {errors: 'x{code="5"}', total: x}
    latency: {histogram: h_bucket, buckets: [0.1]}
"""
    with pytest.raises(ConfigError, match="apply to a CloudWatch metric"):
        parse(prom, base_dir=tmp_path)
