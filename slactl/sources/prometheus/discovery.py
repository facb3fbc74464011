"""Finding candidate SLIs on a live Prometheus, for ``slactl init``.

The one place prometheus-api-client (and the requests beneath it) is used, the
``init`` extra: discovery runs once, by hand, so the client users know for
exactly this (metric names, label values, instant queries) is worth more here
than the hot path's hand-tuned one.  It asks a handful of aggregated instant
queries (never one per series), so a large server answers as quickly as a small
one:

- counters ``*_total`` with an HTTP status-code label → ratio services
  (errors: 5xx codes), with a ``*_seconds_bucket`` histogram of the same job and
  name stem as their latency;
- ``probe_success`` (blackbox exporter) → one probe service per job and target;
- ``up`` of every job that has neither → a probe service per job.

The server is not trusted.  The whole discovery has one deadline (``--timeout``),
kept even against a server that sends a byte a second: the work runs in a
helper thread and the command stops waiting when time is up, because a read
timeout restarts with every byte.  PrometheusConnect asks through a session of
ours (:func:`_bounded_session`) that streams every answer in: no answer may be
larger than :data:`MAX_BODY` bytes, counted while it streams in, nor hold more
than :data:`MAX_VALUES` strings and objects, and it is checked against the
shape of the Prometheus API before PrometheusConnect decodes it, so a bad
answer is one line naming the server, the request and the problem.  Busy
answers (429, 502, 503, 504) are asked again by that session while time is
left; PrometheusConnect's own retries are off.  A series whose names cannot be
written as a selector that reads back the same is skipped and said, not allowed
to spoil the rest.
"""

from __future__ import annotations

import re
import threading
import time
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import msgspec

from slactl.config.emit import Unwritable, one_line, selector
from slactl.config.values import url_problem
from slactl.errors import SourceError, UsageError

if TYPE_CHECKING:  # imported when init runs: a missing extra is a usage error, not an ImportError
    import requests
    from prometheus_api_client.prometheus_connect import PrometheusConnect

# Label names that carry an HTTP status code, in order of preference.
CODE_LABELS = ("code", "status_code", "status", "response_code", "http_status")
_HTTP_CODE = re.compile(r"[1-5](\d\d|xx)")
# Counters every Go exporter has that count scrapes of /metrics, not anyone's requests.
NOT_SLIS = {"promhttp_metric_handler_requests_total"}
INSTALL_HINT = "slactl init needs the `init` extra: pip install 'slactl[init]'"
MAX_BODY = 64 * 2**20  # bytes of one answer, decompressed; a discovery answer is a few hundred KiB
# Strings and objects in one answer: 64 MiB of `"a",` would be 13 million Python
# strings, a gigabyte of memory, so their number is bounded before decoding.
MAX_VALUES = 2_000_000
_CHUNK = 2**16
_RETRY_STATUS = {429, 502, 503, 504}
_T = TypeVar("_T")


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


@dataclass
class Discovery:
    """What discovery proposes, and one line for each series it had to leave out."""

    found: list[Found] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


@dataclass
class Server:
    """A Prometheus HTTP API to ask, with the budget the whole discovery has."""

    url: str
    timeout: float
    max_body: int = MAX_BODY
    deadline: float = 0.0  # time.monotonic() by which discovery must be done; set when it starts
    session: requests.Session = field(init=False)  # reads every answer under the limits above
    prom: PrometheusConnect = field(init=False)  # asks through `session`

    def left(self) -> float:
        return self.deadline - time.monotonic()


def client(
    url: str, *, headers: dict[str, str] | None = None, verify: bool = True, timeout: float = 60,
    max_body: int = MAX_BODY,
) -> Server:  # fmt: skip
    """The server at ``url``; a missing extra is a usage error naming the install command."""
    try:
        from prometheus_api_client.prometheus_connect import PrometheusConnect
        from requests.adapters import Retry
    except ImportError:
        raise UsageError(INSTALL_HINT) from None
    if url_problem(url) is not None:  # the same rule as `sources.*.url`, where the URL is written
        raise UsageError(f"--prometheus {one_line(url)!r}: give an http:// or https:// URL with a host")
    server = Server(url.rstrip("/"), timeout, max_body)
    server.session = _bounded_session(server)
    server.session.verify = verify  # PrometheusConnect sets it only on a session of its own
    server.prom = PrometheusConnect(
        url=server.url, headers=dict(headers or {}), disable_ssl=not verify, session=server.session,
        retry=Retry(0, read=False),  # requests' own default: no retries below ours (_send)
        timeout=timeout,  # type: ignore[arg-type]  # annotated int; a float is what requests takes
    )  # fmt: skip
    return server


# --------------------------------------------------------------------------- answers


def _bounded_session(server: Server) -> requests.Session:
    """A requests.Session for PrometheusConnect that reads every answer under ``server``'s limits.

    Defined here, when init runs, because requests comes with the ``init`` extra.
    """
    import requests

    class BoundedSession(requests.Session):
        def request(self, method: str, url: Any, *args: Any, **kwargs: Any) -> requests.Response:
            return _send(server, super().request, method, url, args, kwargs)

    return BoundedSession()


def _send(
    server: Server, send: Callable[..., requests.Response], method: str, url: Any, args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> requests.Response:  # fmt: skip
    """One request of PrometheusConnect's, its answer read, checked and stored in the response.

    The body streams in under the size cap and the deadline; a busy answer is
    asked again while time is left; the answer must be one the Prometheus API
    gives to this request (:func:`_check`).  Every failure is a SourceError
    naming the server and the request.  The response handed back holds the
    body read here, so PrometheusConnect's ``response.json()`` decodes it.
    """
    import requests

    what = _what(str(url), kwargs.get("params"))
    kwargs["stream"] = True
    asked = kwargs.get("timeout")
    for attempt in range(3):
        left = server.left()
        if left <= 0:
            raise _late(server)
        kwargs["timeout"] = min(left, asked) if isinstance(asked, int | float) else left
        try:
            resp = send(method, url, *args, **kwargs)
            try:
                status = resp.status_code
                body = _read(server, resp, what)
            finally:
                resp.close()
        except requests.RequestException as exc:
            if server.left() <= 0:
                raise _late(server) from None
            raise SourceError(
                f"cannot reach Prometheus at {server.url} ({type(exc).__name__}); check the URL and that the server is up"
            ) from None
        if status in _RETRY_STATUS and attempt < 2 and server.left() > 2**attempt:
            time.sleep(2**attempt)  # a busy server: ask again, as long as the deadline allows
            continue
        _check(server, str(url), status, body, what)
        resp._content = bytes(body)
        resp._content_consumed = True
        return resp
    raise AssertionError("unreachable")


def _what(url: str, params: object) -> str:
    """The request, in the words of an error message."""
    path = urllib.parse.urlsplit(url).path
    if path.endswith("/api/v1/query") and isinstance(params, Mapping) and "query" in params:
        return f"the query {params['query']!r}"
    if path.endswith("/api/v1/label/__name__/values"):
        return "the list of metric names"
    if label := re.search(r"/api/v1/label/([^/]+)/values$", path):
        return f"the values of the label {urllib.parse.unquote(label.group(1))!r}"
    return f"the request for {path or '/'}"


def _read(server: Server, resp: requests.Response, what: str) -> bytearray:
    """The body, refused as soon as it outgrows ``max_body`` or the deadline passes."""
    body = bytearray()
    for chunk in resp.iter_content(_CHUNK):
        body += chunk
        if len(body) > server.max_body:
            raise SourceError(
                f"Prometheus at {server.url} answered {what} with more than {server.max_body / 2**20:g} MiB; "
                "check that the URL is a Prometheus server"
            )
        if server.left() <= 0:
            raise _late(server)
    return body


class _Row(msgspec.Struct):
    metric: dict[str, str]


class _Vector(msgspec.Struct):
    result: list[_Row]


class _Envelope(msgspec.Struct):
    status: str = ""
    error: str = ""
    errorType: str = ""
    data: msgspec.Raw = msgspec.Raw(b"")


_envelope = msgspec.json.Decoder(_Envelope).decode
_vector = msgspec.json.Decoder(_Vector).decode
_names = msgspec.json.Decoder(list[str]).decode


def _shape(url: str) -> Callable[[bytes], object] | None:
    """The decoder of ``data`` in the API's answer to ``url``: the shape discovery relies on."""
    path = urllib.parse.urlsplit(url).path
    if path.endswith("/api/v1/query"):
        return _vector
    if re.search(r"/api/v1/label/[^/]+/values$", path):
        return _names
    return None


def _check(server: Server, url: str, status: int, body: bytearray, what: str) -> None:
    """A successful answer of the API's shape passes; an error answer, or one that is not API JSON, is a SourceError."""
    values = body.count(b"{") + body.count(b'"') // 2  # at least every object and string decoding would make
    if values > MAX_VALUES:
        raise SourceError(
            f"Prometheus at {server.url} answered {what} with more than {MAX_VALUES:,} values; "
            "check that the URL is a Prometheus server"
        )
    try:
        env = _envelope(body)
    except msgspec.DecodeError as exc:
        said = f"HTTP {status}: {one_line(body[:4096].decode('utf-8', 'replace'), 200)}" if status >= 400 else f"invalid JSON ({exc})"
        raise SourceError(
            f"Prometheus at {server.url} answered {what} with {said}; check that the URL is a Prometheus server"
        ) from None
    except msgspec.ValidationError as exc:
        raise _malformed(server, what, str(exc)) from None
    if env.status != "success" or status >= 400:
        said = f"{env.errorType}: {env.error}" if env.error else f"status {env.status!r}"
        raise SourceError(f"Prometheus at {server.url} refused {what} (HTTP {status}): {one_line(said, 300)}")
    data = bytes(env.data)
    if not data:
        raise _malformed(server, what, "the answer has no `data`")
    decode = _shape(url)
    try:
        if decode is not None:
            decode(data)
    except msgspec.MsgspecError as exc:
        raise _malformed(server, what, _in_data(exc)) from None


def _malformed(server: Server, what: str, problem: str) -> SourceError:
    return SourceError(
        f"Prometheus at {server.url} sent a malformed answer to {what}: {one_line(problem, 200)}; "
        "check that the URL is a Prometheus server"
    )


def _in_data(exc: msgspec.MsgspecError) -> str:
    """msgspec's message about ``data``, with its path from the answer's root."""
    text = str(exc)
    return text.replace("`$", "`$.data", 1) if " - at `$" in text else f"{text} - at `$.data`"


def _late(server: Server) -> SourceError:
    return SourceError(
        f"Prometheus at {server.url} did not finish answering within {server.timeout:g} s; "
        "check that the server is healthy, or give more time with --timeout"
    )


def _ask(server: Server, what: str, call: Callable[[], _T]) -> _T:
    """One call of PrometheusConnect's; what it raises becomes one line naming the server and ``what``.

    The session has turned every failure it can see into a SourceError already;
    this converts what prometheus-api-client itself raises: its exception for an
    answer other than 200, requests' errors, and a KeyError, TypeError or
    ValueError from ``data`` not of the shape it expects.
    """
    import requests
    from prometheus_api_client.exceptions import PrometheusApiClientException

    try:
        return call()
    except PrometheusApiClientException as exc:  # e.g. a 2xx other than 200, which it does not take
        raise SourceError(f"Prometheus at {server.url} refused {what}: {one_line(str(exc), 300)}") from None
    except (KeyError, TypeError, ValueError) as exc:  # requests' JSONDecodeError is a ValueError too
        raise _malformed(server, what, f"{type(exc).__name__}: {exc}") from None
    except requests.RequestException as exc:
        if server.left() <= 0:
            raise _late(server) from None
        raise SourceError(
            f"cannot reach Prometheus at {server.url} ({type(exc).__name__}); check the URL and that the server is up"
        ) from None


def _query(server: Server, promql: str) -> list[dict[str, str]]:
    """One instant query's series labels."""
    return _ask(server, f"the query {promql!r}", lambda: [row["metric"] for row in server.prom.custom_query(promql)])


def _metric_names(server: Server) -> list[str]:
    return _ask(server, "the list of metric names", lambda: list(server.prom.all_metrics()))


# --------------------------------------------------------------------------- discovery


def discover(server: Server) -> Discovery:
    """Candidate services on ``server``, in a stable order, within ``server.timeout`` seconds in all.

    The work runs in a daemon thread: a server trickling a byte a second keeps
    every read alive, so only the waiting side can keep the deadline.  A thread
    left behind is stuck in a read of an answer it can no longer deliver, and
    ends with the process.
    """
    server.deadline = time.monotonic() + server.timeout
    outcome: list[Discovery | BaseException] = []

    def work() -> None:
        try:
            outcome.append(_discover(server))
        except BaseException as exc:  # handed to the waiting thread
            outcome.append(exc)
        finally:
            server.session.close()

    worker = threading.Thread(target=work, name="slactl-init-discovery", daemon=True)
    worker.start()
    worker.join(max(0.0, server.left()))
    if worker.is_alive() or not outcome:
        raise _late(server)
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    return outcome[0]


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


def _unwritable(metric: str, labels: tuple[tuple[str, str], ...]) -> str | None:
    """Why a selector of ``metric`` with these equality matchers cannot be written, or None."""
    try:
        selector(metric, [(k, "=", v) for k, v in labels])
    except Unwritable as exc:
        return str(exc)
    return None


def _skip(out: Discovery, metric: str, labels: tuple[tuple[str, str], ...], why: str) -> None:
    shown = ",".join(f"{k}={v!r}" for k, v in labels)
    out.skipped.append(f"skipped {one_line(f'{metric}{{{shown}}}', 160)}: {why}")


def _discover(server: Server) -> Discovery:
    out = Discovery()
    names = set(_metric_names(server))  # also the connectivity check
    histograms = {
        (m.get("__name__", ""), m.get("job", ""))
        for m in _query(server, 'count by (__name__, job) ({__name__=~".+_seconds_bucket"})')
    } if any(n.endswith("_seconds_bucket") for n in names) else set()
    histograms = {(h, j) for h, j in histograms if _unwritable(h, (("job", j),) if j else ()) is None}
    ratio: dict[tuple[str, str], tuple[str, set[str]]] = {}
    counters = any(n.endswith("_total") and n not in NOT_SLIS for n in names)
    for label in CODE_LABELS if counters else ():
        for m in _query(server, f'count by (__name__, job, {label}) ({{__name__=~".+_total", {label}!=""}})'):
            name, job, code = m.get("__name__", ""), m.get("job", ""), m.get(label, "")
            if name in NOT_SLIS or not _HTTP_CODE.fullmatch(code):
                continue  # e.g. gRPC codes or "success": not an HTTP status
            label_used, codes = ratio.setdefault((name, job), (label, set()))
            if label_used == label:
                codes.add(code)
    labels: tuple[tuple[str, str], ...]
    for (name, job), (label, codes) in sorted(ratio.items()):
        labels = (("job", job),) if job else ()
        why = _unwritable(name, labels)
        if why:
            _skip(out, name, labels, why)
            continue
        out.found.append(Found("ratio", job, name, labels, label, tuple(sorted(codes)), _histogram_for(name, job, histograms)))
    probed: set[str] = set()
    probes = _query(server, "count by (job, instance) (probe_success)") if "probe_success" in names else []
    for m in sorted(probes, key=_order):
        job, instance = m.get("job", ""), m.get("instance", "")
        labels = tuple((k, v) for k, v in (("job", job), ("instance", instance)) if v)
        why = _unwritable("probe_success", labels)
        if why:
            _skip(out, "probe_success", labels, why)
            continue
        probed.add(job)
        out.found.append(Found("probe", job, "probe_success", labels))
    measured = {f.job for f in out.found if f.kind == "ratio"} | probed
    for m in sorted(_query(server, "count by (job) (up)"), key=_order):
        job = m.get("job", "")
        if not job or job in measured:
            continue
        why = _unwritable("up", (("job", job),))
        if why:
            _skip(out, "up", (("job", job),), why)
            continue
        measured.add(job)
        out.found.append(Found("probe", job, "up", (("job", job),)))
    return out


def _order(labels: dict[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(labels.items()))
