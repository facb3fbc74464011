"""Helpers for the CloudWatch tests: GetMetricData answers shaped as AWS sends them.

Real ``GetMetricData`` pages list every query's result with its ``Id``,
``Label``, ``StatusCode`` (``Complete``, or ``PartialData`` when a ``NextToken``
follows) and parallel ``Timestamps``/``Values``, newest first unless the call
asks otherwise.  moto computes no percentile-rank statistic, so
:class:`RankAnswers` answers the ``PR(:x)`` queries of a call from the samples
the test put into moto, and lets moto answer the rest.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse
from botocore.stub import Stubber

from slactl.config import Config, parse
from slactl.sources import base
from slactl.sources.base import Injected
from slactl.sources.cloudwatch.source import CloudWatchAdapter

NS = "AWS/ApplicationELB"
LB = {"LoadBalancer": "app/web/1"}
TG = {"LoadBalancer": "app/web/1", "TargetGroup": "targetgroup/web/1"}
DAY0 = datetime(2026, 2, 10, tzinfo=UTC)  # the day the tests put data in
M0 = int(DAY0.timestamp() // 60)
_RANK = re.compile(r"^PR\(:([0-9.eE+-]+)\)$")


def dims(d: dict[str, str]) -> list[dict[str, str]]:
    return [{"Name": k, "Value": v} for k, v in d.items()]


def when(minute: int) -> datetime:
    return datetime.fromtimestamp(minute * 60, tz=UTC)


def metric_query(qid: str, label: str, metric: str, d: dict[str, str], stat: str) -> dict[str, Any]:
    """A MetricDataQuery as GetMetricData takes it (dimensions sorted by name)."""
    return {"Id": qid, "Label": label, "ReturnData": True, "MetricStat": {
        "Metric": {"Namespace": NS, "MetricName": metric, "Dimensions": dims(dict(sorted(d.items())))},
        "Period": 60, "Stat": stat}}


def result(qid: str, label: str, minutes: Iterable[int], values: Iterable[float],
           status: str = "Complete") -> dict[str, Any]:
    """One MetricDataResult; points are given in any order and sent newest first, as AWS does."""
    points = sorted(zip(minutes, values, strict=True), reverse=True)
    return {"Id": qid, "Label": label, "StatusCode": status, "Messages": [],
            "Timestamps": [when(m) for m, _ in points], "Values": [v for _, v in points]}


def rank(samples: list[float], bound: float) -> float:
    """PR(:bound) as CloudWatch defines it: the percentage of samples <= bound."""
    return 100.0 * sum(1 for s in samples if s <= bound) / len(samples)


def stubbed(tmp_path: Path, text: str) -> tuple[CloudWatchAdapter, Stubber, Config]:
    """An adapter over a Stubber-wrapped client, built the way ingest builds it."""
    cfg = parse(text, base_dir=tmp_path)
    client = boto3.client("cloudwatch", region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    adapter = base.build("aws", cfg, Injected(aws_client_factory=lambda _name, **_kw: client, environ={}))
    assert isinstance(adapter, CloudWatchAdapter)
    adapter.workers = 1  # Stubber answers in order
    return adapter, Stubber(client), cfg


class RankAnswers:
    """Answers the ``PR(:x)`` queries of GetMetricData calls; moto answers the others.

    ``samples`` maps (metric name, epoch minute) to the raw values the test put
    into moto for that minute.  Hooked into a real client's event system the way
    botocore's own Stubber is (``before-parameter-build`` sees the call,
    ``before-call`` returns the answer), so everything else about the call is
    the real client's.
    """

    def __init__(self, moto_url: str, samples: dict[tuple[str, int], list[float]]) -> None:
        self.samples = samples
        self.moto = boto3.client("cloudwatch", region_name="us-east-1", endpoint_url=moto_url,
                                 aws_access_key_id="testing", aws_secret_access_key="testing")
        self.calls: list[dict[str, Any]] = []

    def attach(self, client: Any) -> None:
        client.meta.events.register("before-parameter-build.cloudwatch.GetMetricData", self._remember)
        client.meta.events.register("before-call.cloudwatch.GetMetricData", self._answer)

    def _remember(self, params: dict[str, Any], context: dict[str, Any], **_kw: Any) -> None:
        context["rank_answers_params"] = dict(params)

    def _answer(self, context: dict[str, Any], **_kw: Any) -> tuple[AWSResponse, dict[str, Any]]:
        params = context["rank_answers_params"]
        self.calls.append(params)
        queries = params["MetricDataQueries"]
        plain = [q for q in queries if not _RANK.match(q["MetricStat"]["Stat"])]
        by_id: dict[str, dict[str, Any]] = {}
        if plain:
            got = self.moto.get_metric_data(MetricDataQueries=plain, StartTime=params["StartTime"],
                                            EndTime=params["EndTime"], ScanBy="TimestampDescending")
            by_id = {r["Id"]: r for r in got["MetricDataResults"]}
        a, b = int(params["StartTime"].timestamp() // 60), int(params["EndTime"].timestamp() // 60)
        results = []
        for q in queries:
            if q["Id"] in by_id:
                results.append(by_id[q["Id"]])
                continue
            bound = float(_RANK.match(q["MetricStat"]["Stat"]).group(1))  # type: ignore[union-attr]
            name = q["MetricStat"]["Metric"]["MetricName"]
            points = [(m, rank(s, bound)) for m in range(a, b) if (s := self.samples.get((name, m)))]
            results.append(result(q["Id"], q["Label"], [m for m, _ in points], [v for _, v in points]))
        parsed = {"MetricDataResults": results, "Messages": [],
                  "ResponseMetadata": {"HTTPStatusCode": 200, "HTTPHeaders": {}, "RetryAttempts": 0}}
        return AWSResponse("http://rank-answers.invalid", 200, {}, None), parsed
