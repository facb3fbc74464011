"""A small async client of the Prometheus HTTP API (``/api/v1/query`` and ``query_range``).

Only the documented HTTP API is used, so Thanos, Mimir and VictoriaMetrics work
as well as Prometheus.  Requests run concurrently up to ``max_concurrency``;
timeouts, connection failures, 429 and 5xx are retried a bounded number of times
with exponential backoff; any other 4xx fails at once with a message naming the
service and the selector, because no retry can fix a refused query.
"""

from __future__ import annotations

import asyncio
import os
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import httpx
import msgspec
import numpy as np

from slactl.config import PrometheusSource
from slactl.errors import QueryError, SourceError
from slactl.promql.connection import connection
from slactl.redact import is_credential_header, redact

Semantics = Literal["closed", "left_open"]
LabelKey = tuple[tuple[str, str], ...]

# A minute is evaluated at its last millisecond: t + 59.999 s.
EVAL_OFFSET_S = 59.999
MAX_POINTS = 11_000  # Prometheus refuses more points per series in one query_range


@dataclass
class Series:
    """One series of a range answer, by epoch minute of each point."""

    labels: dict[str, str]
    minutes: np.ndarray  # int64 epoch minutes
    values: np.ndarray  # float64


class _RangeSeries(msgspec.Struct):
    metric: dict[str, str] = {}
    # Kept raw: parsed straight into numpy, so a month of points never exists as
    # millions of small Python objects (which the garbage collector would scan).
    values: msgspec.Raw = msgspec.Raw(b"[]")


class _RangeData(msgspec.Struct):
    result: list[_RangeSeries] = []


class _Body(msgspec.Struct):
    status: str = ""
    error: str = ""
    errorType: str = ""
    data: msgspec.Raw = msgspec.Raw(b"null")


_decode_body = msgspec.json.Decoder(_Body).decode
_decode_range = msgspec.json.Decoder(_RangeData).decode
_decode_any = msgspec.json.Decoder().decode


def _points(raw: msgspec.Raw) -> np.ndarray:
    """``[[t, "v"], ...]`` as an (n, 2) float array; "NaN" and "+Inf" parse too."""
    flat = bytes(raw).translate(None, b'[]"')
    if not flat.strip():
        return np.empty((0, 2))
    return np.array(flat.split(b","), dtype=np.float64).reshape(-1, 2)


def label_key(labels: dict[str, str]) -> LabelKey:
    return tuple(sorted((k, v) for k, v in labels.items() if k != "__name__"))


class PromAPI:
    """Async client bound to one configured source; use as ``async with``."""

    def __init__(
        self,
        name: str,
        cfg: PrometheusSource,
        *,
        base_dir: Path,
        transport: httpx.AsyncBaseTransport | None = None,
        environ: dict[str, str] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.name = name
        self.cfg = cfg
        self._sleep = sleep
        env = os.environ if environ is None else environ
        self.shown_url = redact(cfg.url)
        conn = connection(name, cfg, base_dir=base_dir, environ=env)  # auth and TLS: the one PromQL room
        headers = conn.headers
        auth = httpx.BasicAuth(*conn.basic_auth) if conn.basic_auth else None
        verify: Any = conn.verify if isinstance(conn.verify, bool) else ssl.create_default_context(cafile=str(conn.verify))
        self._client_args: dict[str, Any] = dict(
            base_url=cfg.url,
            headers=headers,
            auth=auth,
            verify=verify,
            timeout=httpx.Timeout(cfg.timeout_seconds),
            transport=transport,
            limits=httpx.Limits(max_connections=cfg.max_concurrency),
        )
        self._client: httpx.AsyncClient | None = None
        self._sem = asyncio.Semaphore(cfg.max_concurrency)
        self._semantics: Semantics | None = None if cfg.range_semantics == "auto" else cfg.range_semantics

    async def __aenter__(self) -> PromAPI:
        self._client = httpx.AsyncClient(**self._client_args)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._client is not None:
            await self._client.aclose()

    # ------------------------------------------------------------------ transport

    async def _post(self, path: str, form: dict[str, str], context: str) -> msgspec.Raw:
        """POST a form, retrying what may pass; return the answer's ``data``, undecoded."""
        assert self._client is not None, "use PromAPI as an async context manager"
        attempts = self.cfg.retries + 1
        last: str = ""
        for attempt in range(attempts):
            if attempt:
                await self._sleep(min(0.5 * 2 ** (attempt - 1), 8.0))
            try:
                async with self._sem:
                    resp = await self._client.post(path, data=form)
            except httpx.TimeoutException:
                last = f"timed out after {self.cfg.timeout_seconds:g}s"
                continue
            except httpx.TransportError as exc:
                last = f"cannot connect ({type(exc).__name__}: {exc})"
                continue
            if resp.status_code == 429 or resp.status_code >= 500:
                last = f"HTTP {resp.status_code}: {_error_text(resp)}"
                continue
            if resp.status_code >= 400:
                raise QueryError(
                    f"source '{self.name}' ({self.shown_url}) refused the query for {context}: "
                    f"HTTP {resp.status_code}: {_error_text(resp)}"
                )
            try:
                body = _decode_body(resp.content)
            except (msgspec.DecodeError, msgspec.ValidationError):
                last = "answer is not Prometheus API JSON"
                continue
            if body.status != "success":
                raise QueryError(f"source '{self.name}' refused the query for {context}: {body.errorType} {body.error}")
            return body.data
        raise SourceError(
            f"source '{self.name}' ({self.shown_url}) failed for {context}: {last} "
            f"(after {attempts} attempt{'s' if attempts > 1 else ''}); check sources.{self.name}.url "
            "and that the server is up"
        )

    # ------------------------------------------------------------------ queries

    async def instant(self, expr: str, at: float, context: str) -> list[dict[str, Any]]:
        data = _decode_any(await self._post("/api/v1/query", {"query": expr, "time": _ts(at)}, context))
        return (data or {}).get("result") or []

    async def range_minutes(self, expr: str, start: int, end: int, context: str) -> dict[LabelKey, Series]:
        """``expr`` evaluated at the last millisecond of each minute in ``[start, end)``.

        Cut into chunks of at most ``chunk_minutes`` points (Prometheus refuses
        more than 11,000 per series) fetched concurrently, then stitched per series.
        """
        chunk = min(self.cfg.chunk_minutes, MAX_POINTS - 1)
        spans = [(a, min(a + chunk, end)) for a in range(start, end, chunk)]

        async def one(a: int, b: int) -> list[tuple[dict[str, str], np.ndarray]]:
            form = {
                "query": expr,
                "start": _ts(a * 60 + EVAL_OFFSET_S),
                "end": _ts((b - 1) * 60 + EVAL_OFFSET_S),
                "step": "60",
            }
            raw = await self._post("/api/v1/query_range", form, context)
            try:
                data = _decode_range(raw)
                return [(item.metric, _points(item.values)) for item in data.result]
            except (msgspec.DecodeError, msgspec.ValidationError, ValueError) as exc:
                raise SourceError(f"source '{self.name}' sent an unreadable answer for {context}: {exc}") from exc

        parts: dict[LabelKey, list[tuple[dict[str, str], np.ndarray]]] = {}
        for answer in await gather(*(one(a, b) for a, b in spans)):
            for metric, points in answer:
                parts.setdefault(label_key(metric), []).append((metric, points))
        out: dict[LabelKey, Series] = {}
        for key, pieces in parts.items():
            points = np.concatenate([p for _, p in pieces]) if len(pieces) > 1 else pieces[0][1]
            minutes = np.floor(points[:, 0] / 60).astype(np.int64)
            out[key] = Series(pieces[0][0], minutes, points[:, 1].copy())
        return out

    async def semantics(self) -> Semantics:
        """Whether range selectors include their left edge (Prometheus 2.x) or not (3.x).

        Asked of the server itself with a subquery over a constant, so it holds for
        any engine behind the API: a closed ``[1m:1m]`` window at an aligned time
        holds two steps, a left-open one holds one.
        """
        if self._semantics is None:
            result = await self.instant("count_over_time(vector(1)[1m:1m])", 1_700_000_040, "a range-semantics probe")
            count = float(result[0]["value"][1]) if result else 1.0
            self._semantics = "closed" if count >= 2 else "left_open"
        return self._semantics


async def gather(*aws: Awaitable[Any]) -> list[Any]:
    """Run concurrently; on the first failure cancel the rest and raise that failure.

    ``asyncio.gather`` would leave the siblings running (and querying) after one
    has failed; a refused query should stop the whole pull at once.
    """
    try:
        async with asyncio.TaskGroup() as tg:
            tasks = [tg.create_task(aw) for aw in aws]  # type: ignore[arg-type]
    except BaseExceptionGroup as group:
        first = group.exceptions[0]
        while isinstance(first, BaseExceptionGroup):
            first = first.exceptions[0]
        raise first from None
    return [t.result() for t in tasks]


def window(semantics: Semantics, seconds: int) -> str:
    """A range covering exactly the ``seconds`` before an evaluation time, excluding its start."""
    return f"[{seconds}s]" if semantics == "left_open" else f"[{seconds * 1000 - 1}ms]"


def _ts(seconds: float) -> str:
    return f"{seconds:.3f}"


WITHHELD = "(the answer's body repeats the request's credentials, so it is not shown)"


def _error_text(resp: httpx.Response) -> str:
    """What the server said went wrong, unless it echoes the credentials we sent (some proxies do)."""
    try:
        body = resp.json()
        text = f"{body.get('errorType', '')} {body.get('error', '')}".strip() or resp.text[:200]
    except ValueError:
        text = resp.text[:200].strip() or resp.reason_phrase
    return WITHHELD if _reflects_credentials(resp) else redact(text)


def _reflects_credentials(resp: httpx.Response) -> bool:
    body = resp.text
    try:
        sent = resp.request.headers
    except RuntimeError:  # a response built without its request (tests)
        sent = httpx.Headers()
    for name, value in sent.items():
        if is_credential_header(name) and any(len(v) >= 4 and v in body for v in (value, value.split(None, 1)[-1])):
            return True
    return redact(body) != body

