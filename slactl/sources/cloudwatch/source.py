"""The CloudWatch source: per-minute SLI inputs from ``GetMetricData`` (period 60 s).

Each service's metric specs become ``MetricStat`` queries; answers are aligned to
epoch minutes (a datapoint's timestamp is the start of its period) and anything
outside the requested minutes is dropped.

* Ratio form: ``errors`` and ``total`` with their ``stat`` (default ``Sum``). A
  minute has data when ``total`` has a datapoint; a missing ``errors`` datapoint
  is 0 errors (CloudWatch omits counts that are zero, e.g. HTTPCode_Target_5XX_Count).
* Probe form: the minute is good (1.0) when the statistic is ``>= up_when_at_least``
  (default 1), else bad (0.0): ``probe_sum = good``, ``probe_count = 1``.
* Latency (``latency.metric``): ``SampleCount`` and one percentile-rank
  statistic ``PR(:le)`` per bucket bound become per-minute cumulative buckets,
  the shape a Prometheus histogram gives (see :mod:`.cloudwatch_latency`).

Calls: services asking for the same minutes share calls.  A call carries whole
services' queries up to 70 (70 × 1440 = 100,800, the datapoints a call returns
before it pages), so a day of five services with the default 11 latency buckets
(14 queries each) is one call; a service with more queries than that has calls
of its own, at most 500 queries each, cut into ``100800 // queries`` minutes.
Answers that still page are followed through ``NextToken``.  1-minute data is
kept by CloudWatch for 15 days only: the store must ingest minutes before then.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3
import numpy as np
from botocore.config import Config as BotoConfig
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    CredentialRetrievalError,
    HTTPClientError,
    NoAuthTokenError,
    NoCredentialsError,
    ParamValidationError,
    PartialCredentialsError,
    ProfileNotFound,
    SSOError,
    TokenRetrievalError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError

from slactl.config import CloudWatchSource, Config, MetricSpec
from slactl.errors import ConfigError, QueryError, SourceError
from slactl.model import GroupKey, MinuteSeries
from slactl.sources.base import FetchRequest, FetchResult, Injected, register
from slactl.sources.cloudwatch.latency import bucket_counts, latency_stats

PERIOD_S = 60
DAY = 1440
MAX_QUERIES = 500  # MetricDataQuery structures per GetMetricData call
MAX_POINTS = 100_800  # datapoints per call before CloudWatch pages
MAX_PAGES = 1000  # a runaway NextToken loop is a bug somewhere, not more data
PER_DAY_CALL = MAX_POINTS // DAY  # queries whose whole day fits one call's datapoints
THROTTLING = {"Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException"}
BAD_CREDENTIALS = {
    "InvalidClientTokenId", "UnrecognizedClientException", "ExpiredToken", "ExpiredTokenException",
    "SignatureDoesNotMatch", "InvalidSignatureException", "IncompleteSignature", "AuthFailure",
}
CREDENTIAL_ERRORS = (
    NoCredentialsError, PartialCredentialsError, CredentialRetrievalError,
    TokenRetrievalError, NoAuthTokenError, SSOError,
)
_MEMBER = re.compile(r"MetricDataQueries\.member\.(\d+)")


@dataclass(frozen=True)
class Query:
    """One ``MetricStat`` query, with who asked for it so errors can name it."""

    service: str
    role: str  # errors | total | probe | latency count | latency le=X
    spec: MetricSpec
    stat: str

    def api(self, qid: str) -> dict[str, Any]:
        dims = [{"Name": k, "Value": v} for k, v in sorted(self.spec.dimensions.items())]
        metric = {"Namespace": self.spec.namespace, "MetricName": self.spec.metric, "Dimensions": dims}
        stat = {"Metric": metric, "Period": PERIOD_S, "Stat": self.stat}
        return {"Id": qid, "MetricStat": stat, "Label": f"{self.service} {self.role}", "ReturnData": True}

    def describe(self) -> str:
        dims = ",".join(f"{k}={v}" for k, v in sorted(self.spec.dimensions.items()))
        return f"{self.role} {self.spec.namespace} {self.spec.metric}{{{dims}}} {self.stat}"


def spans(start: int, end: int, n_queries: int) -> list[tuple[int, int]]:
    """Cut ``[start, end)`` so ``queries × minutes <= MAX_POINTS``; edges on multiples of the size.

    With one or two queries a span is one UTC day (1440 minutes, 2,880 points).
    """
    size = max(1, min(DAY, MAX_POINTS // max(1, n_queries)))
    out, a = [], start
    while a < end:
        b = min(end, (a // size + 1) * size)
        out.append((a, b))
        a = b
    return out


@dataclass(frozen=True)
class Job:
    """One span of minutes for a batch of queries, each named by (plan, query index)."""

    refs: list[tuple[int, int]]
    start: int
    end: int


def _jobs(plans: list[tuple[list[Query], int, int]]) -> list[Job]:
    """The calls to make: plans over the same minutes share calls, whole services at a time.

    Services are packed while the batch stays within a day's datapoints of one
    call (:data:`PER_DAY_CALL` queries); a bigger service gets batches of its own
    of at most :data:`MAX_QUERIES`.  Each batch is then cut by :func:`spans`.
    """
    by_range: dict[tuple[int, int], list[int]] = {}
    for p, (qs, start, end) in enumerate(plans):
        if qs and start < end:
            by_range.setdefault((start, end), []).append(p)
    batches: list[tuple[list[tuple[int, int]], int, int]] = []
    for (start, end), members in by_range.items():
        shared: list[tuple[int, int]] = []
        for p in members:
            refs = [(p, i) for i in range(len(plans[p][0]))]
            if len(refs) > PER_DAY_CALL:
                batches += [(refs[f : f + MAX_QUERIES], start, end) for f in range(0, len(refs), MAX_QUERIES)]
                continue
            if len(shared) + len(refs) > PER_DAY_CALL:
                batches.append((shared, start, end))
                shared = []
            shared += refs
        if shared:
            batches.append((shared, start, end))
    return [Job(refs, a, b) for refs, start, end in batches for a, b in spans(start, end, len(refs))]


def _when(minute: int) -> datetime:
    return datetime.fromtimestamp(minute * 60, tz=UTC)


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


class CloudWatchAdapter:
    """A :class:`~slactl.sources.base.Source` over one region's CloudWatch (or a compatible endpoint)."""

    def __init__(self, name: str, cfg: CloudWatchSource, config: Config, injected: Injected) -> None:
        self.name = name
        self.cfg = cfg
        self.config = config
        self.injected = injected
        env: Mapping[str, str] = injected.environ if injected.environ is not None else os.environ
        # The standard AWS knobs win over our defaults, as an AWS user expects.
        self.max_attempts = int(env.get("AWS_MAX_ATTEMPTS") or 5)
        self.retry_mode = env.get("AWS_RETRY_MODE") or "standard"
        self.workers = 4  # concurrent calls; well under the default 50 GetMetricData calls/s
        self._client: Any = None
        self._calls = 0
        self._calls_lock = threading.Lock()

    # ------------------------------------------------------------------ Source

    def fetch(self, requests: list[FetchRequest]) -> FetchResult:
        plans = [self._queries(r) for r in requests]
        answers = self._read_all([(qs, r.start, r.end) for qs, r in zip(plans, requests, strict=True)])
        return [self._series(r, arrays) for r, arrays in zip(requests, answers, strict=True)]

    def calls_made(self) -> int:
        """GetMetricData calls (pages included) this adapter has made: for tests and docs."""
        return self._calls

    def close(self) -> None:
        if self._client is not None and hasattr(self._client, "close"):
            self._client.close()
        self._client = None

    # ------------------------------------------------------------------ shaping

    def _queries(self, req: FetchRequest) -> list[Query]:
        av = req.spec.availability
        specs = [("total", av.total), ("errors", av.errors)] if av.kind == "ratio" else [("probe", av.probe)]
        out = []
        for role, spec in specs:
            if not isinstance(spec, MetricSpec):
                raise ConfigError(
                    "a CloudWatch source needs a metric spec {namespace, metric, dimensions, stat}",
                    path=self.config.source_file, key=f"services.{req.service}.availability.{role}",
                )
            out.append(Query(req.service, role, spec, spec.stat))
        lat = req.spec.latency
        if lat is not None and lat.metric is not None:
            out += [Query(req.service, role, lat.metric, stat) for role, stat in latency_stats(lat)]
        return out

    def _series(self, req: FetchRequest, arrays: list[np.ndarray]) -> dict[GroupKey, MinuteSeries]:
        kind = req.spec.availability.kind
        n = max(0, req.end - req.start)
        ms = MinuteSeries.empty(kind, req.start, n)
        n_av = 2 if kind == "ratio" else 1
        lat = req.spec.latency
        if lat is not None and lat.metric is not None:
            ms.buckets = bucket_counts(arrays[n_av], arrays[n_av + 1 :], lat.bounds)
        arrays = arrays[:n_av]
        if kind == "ratio":
            total, errors = arrays
            ms.has_data = ~np.isnan(total)
            ms.total = np.where(ms.has_data, total, 0.0)
            ms.errors = np.where(ms.has_data & ~np.isnan(errors), errors, 0.0)
        else:
            (value,) = arrays
            probe = req.spec.availability.probe
            assert isinstance(probe, MetricSpec)
            least = 1.0 if probe.up_when_at_least is None else probe.up_when_at_least
            ms.has_data = ~np.isnan(value)
            good = np.where(ms.has_data, value, -np.inf) >= least
            ms.probe_sum = np.where(ms.has_data & good, 1.0, 0.0)
            ms.probe_count = ms.has_data.astype(np.float64)
        return {(): ms}  # no group_by for CloudWatch

    # ------------------------------------------------------------------ reading

    def _read_all(self, plans: list[tuple[list[Query], int, int]]) -> list[list[np.ndarray]]:
        """Per plan, one array per query over ``[start, end)``: the value, NaN where none."""
        out = [[np.full(max(0, end - start), np.nan) for _ in qs] for qs, start, end in plans]
        jobs = _jobs(plans)
        if not jobs:
            return out
        client = self._get_client()

        def run(job: Job) -> dict[int, list[tuple[int, float]]]:
            return self._call(client, [plans[p][0][i] for p, i in job.refs], job.start, job.end)

        if self.workers > 1 and len(jobs) > 1:
            with ThreadPoolExecutor(max_workers=self.workers) as pool:
                results: Iterator[dict[int, list[tuple[int, float]]]] = pool.map(run, jobs)
                answers = list(results)
        else:
            answers = [run(j) for j in jobs]
        for job, got in zip(jobs, answers, strict=True):
            for k, points in got.items():
                p, i = job.refs[k]
                arr, start = out[p][i], plans[p][1]
                for minute, value in points:
                    if job.start <= minute < job.end:  # drop anything outside the asked-for minutes
                        arr[minute - start] = value
        return out

    def _call(self, client: Any, batch: list[Query], a: int, b: int) -> dict[int, list[tuple[int, float]]]:
        """One span of one batch, following ``NextToken``: query index → (epoch minute, value)."""
        ids = {f"q{i}": i for i in range(len(batch))}
        params: dict[str, Any] = {  # ScanBy left at AWS's default (newest first): order does not matter here
            "MetricDataQueries": [q.api(qid) for qid, q in zip(ids, batch, strict=True)],
            "StartTime": _when(a),
            "EndTime": _when(b),
        }
        got: dict[int, list[tuple[int, float]]] = {i: [] for i in ids.values()}
        token: str | None = None
        for _ in range(MAX_PAGES):
            with self._calls_lock:
                self._calls += 1
            try:
                resp = client.get_metric_data(**params, **({"NextToken": token} if token else {}))
            except (ClientError, BotoCoreError) as exc:
                raise self._error(exc, batch) from exc
            for res in resp.get("MetricDataResults") or []:
                i = ids.get(res.get("Id", ""))
                if i is None:
                    continue
                status = res.get("StatusCode", "Complete")
                if status in ("Forbidden", "InternalError"):
                    notes = "; ".join(f"{m.get('Code')}: {m.get('Value')}" for m in res.get("Messages") or [])
                    cls = QueryError if status == "Forbidden" else SourceError
                    raise cls(f"{self._where()} answered {status} for {self._what([batch[i]])}"
                              + (f": {_one_line(notes)}" if notes else ""))
                for ts, value in zip(res.get("Timestamps") or [], res.get("Values") or [], strict=False):
                    got[i].append((int(ts.timestamp() // 60), float(value)))
            token = resp.get("NextToken")
            if not token:
                partial = [batch[i] for r in resp.get("MetricDataResults") or []
                           if r.get("StatusCode") == "PartialData" and (i := ids.get(r.get("Id", ""))) is not None]
                if partial:  # more data exists but no way to get it: never store that as the whole minute
                    raise SourceError(f"{self._where()} answered PartialData without a NextToken for "
                                      f"{self._what(partial)}; try again later")
                return got
        raise SourceError(f"{self._where()} kept paging past {MAX_PAGES} pages for {self._what(batch)}")

    # ------------------------------------------------------------------ client and errors

    def _get_client(self) -> Any:
        if self._client is not None:
            return self._client
        factory = self.injected.aws_client_factory
        if factory is not None:
            self._client = factory("cloudwatch", region_name=self.cfg.region, endpoint_url=self.cfg.endpoint_url)
            return self._client
        key = f"sources.{self.name}"
        try:
            session = boto3.session.Session(profile_name=self.cfg.profile)
            self._client = session.client(
                "cloudwatch",
                region_name=self.cfg.region,
                endpoint_url=self.cfg.endpoint_url,
                config=BotoConfig(
                    retries={"max_attempts": self.max_attempts, "mode": self.retry_mode},
                    connect_timeout=5,
                    read_timeout=30,
                    max_pool_connections=max(10, self.workers),
                ),
            )
        except ProfileNotFound as exc:
            raise ConfigError(f"AWS profile not found: {exc}", path=self.config.source_file, key=f"{key}.profile") from exc
        except (BotoCoreError, ValueError) as exc:
            raise ConfigError(f"cannot make a CloudWatch client: {_one_line(exc)}",
                              path=self.config.source_file, key=key) from exc
        return self._client

    def _where(self) -> str:
        at = f" at {self.cfg.endpoint_url}" if self.cfg.endpoint_url else ""
        return f"source '{self.name}' (CloudWatch {self.cfg.region}{at})"

    def _what(self, queries: list[Query]) -> str:
        by_service: dict[str, list[str]] = {}
        for q in queries:
            by_service.setdefault(q.service, []).append(q.describe())
        shown = []
        for service, described in by_service.items():
            more = f" and {len(described) - 4} more" if len(described) > 4 else ""
            shown.append(f"service '{service}' ({', '.join(described[:4])}{more})")
        return "; ".join(shown) or "service '?'"

    def _error(self, exc: Exception, batch: list[Query]) -> SourceError:
        """A vendor exception as the SourceError/QueryError the CLI turns into one line."""
        where, attempts = self._where(), f"after {self.max_attempts} attempts"
        hint = f"sources.{self.name}.profile or AWS_PROFILE, or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
        if isinstance(exc, ClientError):
            err = exc.response.get("Error", {})
            code, msg = err.get("Code", "?"), _one_line(err.get("Message", ""))
            status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
            member = _MEMBER.search(msg)
            if member and 0 < int(member.group(1)) <= len(batch):
                batch = [batch[int(member.group(1)) - 1]]
            what = self._what(batch)
            if code in THROTTLING:
                return SourceError(f"{where} kept throttling GetMetricData for {what} {attempts} ({code}); "
                                   "try again later or ask AWS for a higher GetMetricData quota")
            if status >= 500:
                return SourceError(f"{where} failed for {what} {attempts}: {code}: {msg}")
            if code in BAD_CREDENTIALS:
                return QueryError(f"{where} rejected the AWS credentials for {what}: {code}: {msg}; check {hint}")
            return QueryError(f"{where} refused GetMetricData for {what}: {code}: {msg}")
        what = self._what(batch)
        if isinstance(exc, CREDENTIAL_ERRORS):
            return SourceError(f"{where} has no usable AWS credentials for {what}: {_one_line(exc)}; set {hint}")
        if isinstance(exc, ParamValidationError):
            return QueryError(f"{where} cannot ask for {what}: {_one_line(exc)}")
        if isinstance(exc, BotoConnectionError | HTTPClientError | ConnectionClosedError):
            return SourceError(f"{where} cannot connect for {what} {attempts}: {_one_line(exc)}; "
                               f"check sources.{self.name}.region/endpoint_url and the network")
        return SourceError(f"{where} failed for {what}: {type(exc).__name__}: {_one_line(exc)}")


@register("cloudwatch")
def _factory(name: str, cfg: Any, config: Config, injected: Injected) -> CloudWatchAdapter:
    return CloudWatchAdapter(name, cfg, config, injected)
