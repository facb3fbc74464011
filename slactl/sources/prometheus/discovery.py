"""Finding candidate SLIs on a live Prometheus, for ``slactl init``.

The one place prometheus-api-client is used (the ``init`` extra): discovery
runs once, by hand, so a convenient synchronous client is worth more here than
the hot path's hand-tuned one.  It asks a handful of aggregated instant queries
(never one per series), so a large server answers as quickly as a small one:

- counters ``*_total`` with an HTTP status-code label → ratio services
  (errors: 5xx codes), with a ``*_seconds_bucket`` histogram of the same job and
  name stem as their latency;
- ``probe_success`` (blackbox exporter) → one probe service per job and target;
- ``up`` of every job that has neither → a probe service per job.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from slactl.errors import SourceError, UsageError

# Label names that carry an HTTP status code, in order of preference.
CODE_LABELS = ("code", "status_code", "status", "response_code", "http_status")
_HTTP_CODE = re.compile(r"[1-5](\d\d|xx)")
# Counters every Go exporter has that count scrapes of /metrics, not anyone's requests.
NOT_SLIS = {"promhttp_metric_handler_requests_total"}
INSTALL_HINT = "slactl init needs the `init` extra: pip install 'slactl[init]'"


@dataclass(frozen=True)
class Found:
    """One candidate service, in the words of the series found."""

    kind: str  # "ratio" or "probe"
    job: str
    metric: str  # the counter or gauge it is read from
    labels: tuple[tuple[str, str], ...]  # equality matchers that pick its series
    code_label: str = ""  # ratio: the status-code label
    codes: tuple[str, ...] = ()  # ratio: the codes seen
    histogram: str = ""  # ratio: a *_seconds_bucket metric of the same job, if any


def client(url: str, *, headers: dict[str, str] | None = None, verify: bool = True, timeout: float = 30) -> Any:
    """A PrometheusConnect; a missing extra is a usage error naming the install command."""
    try:
        from prometheus_api_client import PrometheusConnect
    except ImportError:
        raise UsageError(INSTALL_HINT) from None
    if not re.match(r"https?://[^/]", url):
        raise UsageError(f"--prometheus {url!r}: give an http:// or https:// URL")
    return PrometheusConnect(url=url.rstrip("/"), headers=headers, disable_ssl=not verify, timeout=timeout)


def _query(prom: Any, promql: str) -> list[dict[str, Any]]:
    """One instant query."""
    return list(_ask(prom, promql, lambda: prom.custom_query(promql)))


def _ask(prom: Any, what: str, call: Any) -> Any:
    """Run one client call; vendor errors become SourceError naming the server."""
    import requests
    from prometheus_api_client.exceptions import PrometheusApiClientException

    try:
        return call()
    except requests.RequestException as exc:
        raise SourceError(
            f"cannot reach Prometheus at {prom.url} ({type(exc).__name__}); check the URL and that the server is up"
        ) from None
    except (PrometheusApiClientException, ValueError, KeyError) as exc:
        raise SourceError(f"Prometheus at {prom.url} refused {what!r}: {exc}") from None


def _stem(counter: str) -> str:
    """``prometheus_http_requests_total`` → ``prometheus_http``: what its histogram shares."""
    base = counter.removesuffix("_total")
    for suffix in ("_requests", "_request", "_calls", "_responses"):
        if base.endswith(suffix):
            return base.removesuffix(suffix)
    return base


def _histogram_for(counter: str, job: str, histograms: set[tuple[str, str]]) -> str:
    stem = _stem(counter)
    same_job = sorted(h for h, j in histograms if j == job and h.startswith(stem + "_"))
    timed = [h for h in same_job if "duration" in h or "latency" in h] or same_job
    return min(timed, key=len) if timed else ""


def discover(prom: Any) -> list[Found]:
    """Candidate services on the server behind ``prom``, in a stable order."""
    names = set(_ask(prom, "metric names", prom.all_metrics))  # also the connectivity check
    histograms = {
        (r["metric"].get("__name__", ""), r["metric"].get("job", ""))
        for r in _query(prom, 'count by (__name__, job) ({__name__=~".+_seconds_bucket"})')
    } if any(n.endswith("_seconds_bucket") for n in names) else set()
    ratio: dict[tuple[str, str], tuple[str, set[str]]] = {}
    counters = any(n.endswith("_total") and n not in NOT_SLIS for n in names)
    for label in CODE_LABELS if counters else ():
        rows = _query(prom, f'count by (__name__, job, {label}) ({{__name__=~".+_total", {label}!=""}})')
        for r in rows:
            m = r["metric"]
            name, job, code = m.get("__name__", ""), m.get("job", ""), m.get(label, "")
            if name in NOT_SLIS or not _HTTP_CODE.fullmatch(code):
                continue  # e.g. gRPC codes or "success": not an HTTP status
            label_used, codes = ratio.setdefault((name, job), (label, set()))
            if label_used == label:
                codes.add(code)
    found: list[Found] = []
    for (name, job), (label, codes) in sorted(ratio.items()):
        found.append(
            Found("ratio", job, name, (("job", job),) if job else (), label, tuple(sorted(codes)),
                  _histogram_for(name, job, histograms))  # fmt: skip
        )
    probed: set[str] = set()
    probes = _query(prom, "count by (job, instance) (probe_success)") if "probe_success" in names else []
    for r in sorted(probes, key=_order):
        job, instance = r["metric"].get("job", ""), r["metric"].get("instance", "")
        probed.add(job)
        labels = tuple((k, v) for k, v in (("job", job), ("instance", instance)) if v)
        found.append(Found("probe", job, "probe_success", labels))
    measured = {f.job for f in found if f.kind == "ratio"} | probed
    for r in sorted(_query(prom, "count by (job) (up)"), key=_order):
        job = r["metric"].get("job", "")
        if job and job not in measured:
            found.append(Found("probe", job, "up", (("job", job),)))
    return found


def _order(row: dict[str, Any]) -> tuple[str, ...]:
    return tuple(sorted(row["metric"].items()))
