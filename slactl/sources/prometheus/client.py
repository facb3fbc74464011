"""A small async client of the Prometheus HTTP API (``/api/v1/query`` and ``query_range``).

Only the documented HTTP API is used, so Thanos, Mimir and VictoriaMetrics work
as well as Prometheus.  Requests run concurrently up to ``max_concurrency``;
timeouts, connection failures, 429, 5xx and partial answers are retried a
bounded number of times with exponential backoff, never past the pull's
deadline; any other 4xx fails at once with a message naming the service and the
selector, because no retry can fix a refused query.  A range query refused as
too large is split in time instead, down to a single minute.

Answers are streamed and bounded (:mod:`slactl.promql.connection`): a request
ends ``timeout_seconds`` after it started however slowly the server trickles; an
answer past ``max_response_bytes`` (all in flight: twice that) fails the pull.
"""

from __future__ import annotations

import asyncio
import os
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit

import httpx
import numpy as np

from slactl.config import PrometheusSource
from slactl.errors import QueryError, SourceError
from slactl.promql import connection as wire
from slactl.redact import redact
from slactl.sources.prometheus.matrix import (
    Answer,
    LabelKey,
    Samples,
    Steps,
    decode_instant,
    decode_range,
    label_key,
)

Semantics = Literal["closed", "left_open"]
T = TypeVar("T")

# A minute is evaluated at its last millisecond: t + 59.999 s.
EVAL_OFFSET_S = 59.999
MAX_POINTS = 11_000  # Prometheus refuses more points per series in one query_range
# Points (series x minutes) one range request may bring: about 25 MB of JSON, so
# ``max_concurrency`` answers in flight stay well under a gigabyte.
POINTS_IN_FLIGHT = 1_000_000

# Ask every engine for a complete, raw answer or an error: Thanos and Cortex-style
# stores honour ``partial_response``, VictoriaMetrics ``deny_partial_response``;
# ``nocache`` stops VictoriaMetrics from rounding start and end to the step
# (that would move each minute's evaluation time); ``max_source_resolution``
# keeps Thanos from answering from 5-minute or 1-hour downsampled blocks, which
# cannot give per-minute figures.  Prometheus ignores all four.
_PARTIAL_OFF = {
    "partial_response": "false",
    "deny_partial_response": "1",
    "nocache": "1",
    "max_source_resolution": "0s",
}

# How servers word "this query asks for too much at once" (a shorter range may pass):
# Prometheus' resolution and query.max-samples limits, Thanos/Mimir/Cortex size and
# chunk limits, VictoriaMetrics' -search.max* flags, gRPC message sizes.
_TOO_LARGE = (
    "exceeded maximum resolution",
    "too many samples",
    "max-samples",
    "max_samples",
    "maxsamples",
    "maxpointspertimeseries",
    "too many points",
    "exceeds the max",
    "exceeded the max",
    "max number of chunks",
    "larger than max",
    "too large",
    "query time range exceeds",
)


class TooLarge(QueryError):
    """The server refused a query as too big; a shorter time range may pass."""


@dataclass
class _Reply:
    """An answer read whole (its body bounded), and the headers that were sent."""

    status: int
    content_type: str
    body: wire.Body
    sent: httpx.Headers


@dataclass
class Dense:
    """One series of a range answer: a value per requested minute, NaN where it had none."""

    labels: dict[str, str]
    values: np.ndarray  # float64, one per minute of the request


@dataclass
class Series:
    """One series of a range answer, by epoch minute of each point."""

    labels: dict[str, str]
    minutes: np.ndarray  # int64 epoch minutes
    values: np.ndarray  # float64


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
        deadline: float | None = None,
        series_seen: dict[str, int] | None = None,
    ) -> None:
        self.name = name
        # Series each range expression answered with, kept by the caller across pulls.
        self.series_seen: dict[str, int] = {} if series_seen is None else series_seen
        self.cfg = cfg
        self._sleep = sleep
        self.deadline = deadline  # time.monotonic() by which the whole pull must be done
        self.splits = 0  # chunks split because the server refused them as too large
        # On a loopback address bytes cost nothing and compressing them costs the server (and
        # us) more CPU than the whole query: ask for them plain; else what a Body can inflate.
        host = urlsplit(cfg.url).hostname or ""
        loopback = host == "localhost" or host == "::1" or host.startswith("127.")
        self._encoding = {"Accept-Encoding": "identity" if loopback else wire.ACCEPT_ENCODING}
        self._budget = wire.Budget(2 * cfg.max_response_bytes)  # every answer in flight together
        env = os.environ if environ is None else environ
        self.shown_url = redact(cfg.url)
        conn = wire.connection(name, cfg, base_dir=base_dir, environ=env)  # auth and TLS: the one PromQL room
        headers = conn.headers
        auth = httpx.BasicAuth(*conn.basic_auth) if conn.basic_auth else None
        verify: Any = conn.verify if isinstance(conn.verify, bool) else ssl.create_default_context(cafile=str(conn.verify))
        if urlsplit(cfg.url).scheme == "http":
            verify = False  # no TLS to verify; loading the CA bundle cost 20 ms a client (one per slice)
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

    def _remaining(self, context: str) -> float:
        """Seconds left before the pull's deadline; fails once it has passed."""
        if self.deadline is None:
            return self.cfg.timeout_seconds
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise SourceError(
                f"source '{self.name}' ({self.shown_url}): the pull ran out of time at {context}; "
                "give it longer with --timeout, or check that the server answers quickly"
            )
        return min(left, self.cfg.timeout_seconds)

    async def _post(self, path: str, form: dict[str, str], context: str, decode: Callable[[bytes], Answer[T]]) -> list[T]:
        """POST a form, retrying what may pass; return the series of the answer ``decode`` reads.

        An answer that cannot be read is retried too (a transfer can break).
        A partial answer (``warnings``, VictoriaMetrics' ``isPartial``) is retried
        like a 5xx and fails when it persists: storing it would freeze the minutes
        it left out as ``no_data`` for good.
        """
        attempts = self.cfg.retries + 1
        last, unreadable = "", False
        form = {**form, **_PARTIAL_OFF}
        for attempt in range(attempts):
            if attempt:
                await self._sleep(min(0.5 * 2 ** (attempt - 1), 8.0, self._remaining(context)))
            limit = self._remaining(context)
            unreadable = False
            try:
                async with self._sem:
                    reply = await self._exchange(path, form, limit, context)
            except (httpx.TimeoutException, TimeoutError):
                last = f"timed out after {limit:g}s"
                continue
            except httpx.TransportError as exc:
                last = f"cannot connect ({type(exc).__name__}: {wire.one_line(str(exc))})"
                continue
            except ValueError as exc:  # a compressed body that cannot be inflated
                last, unreadable = wire.one_line(redact(str(exc))), True
                continue
            try:
                if reply.status >= 400:
                    last = self._refused(reply, context)  # raises unless a retry may pass
                    continue
                body = decode(reply.body.content())
            except ValueError as exc:  # msgspec's errors included
                last, unreadable = f"it is not Prometheus API JSON ({wire.one_line(redact(str(exc)))})", True
                continue
            finally:
                reply.body.release()
            if body.status != "success":
                said = redact(f"{body.error_type} {body.error}")
                if too_large(422, said):
                    raise TooLarge(wire.one_line(said))
                raise QueryError(f"source '{self.name}' refused the query for {context}: {wire.one_line(said)}")
            if body.warnings or body.partial:
                why = "; ".join(body.warnings) or "the server marked it partial"
                last = f"answered only in part ({wire.one_line(redact(why))})"
                continue
            return body.result
        what, hint = ("sent an unreadable answer", "is the address of a Prometheus HTTP API") if unreadable else ("failed", "is right and that the server is up and complete")
        raise SourceError(f"source '{self.name}' ({self.shown_url}) {what} for {context}: {last} (after {attempts} "
                          f"attempt{'s' if attempts > 1 else ''}); check that sources.{self.name}.url {hint}")  # fmt: skip

    def _refused(self, reply: _Reply, context: str) -> str:
        """What an HTTP error answer said, for a retry (429, 5xx); raises when no retry can help."""
        said = wire.quoted_error(reply.body.content(), reply.content_type, sent=reply.sent, limit=None)
        said = said or f"HTTP {reply.status} with an empty answer"
        text = wire.one_line(said)
        if too_large(reply.status, said):
            raise TooLarge(text)
        if reply.status == 429 or reply.status >= 500:
            return f"HTTP {reply.status}: {text}"
        raise QueryError(
            f"source '{self.name}' ({self.shown_url}) refused the query for {context}: HTTP {reply.status}: {text}"
        )

    async def _exchange(self, path: str, form: dict[str, str], limit: float, context: str) -> _Reply:
        """POST ``form`` and read the answer within ``limit`` seconds in all (not per read) and the byte limits."""
        assert self._client is not None, "use PromAPI as an async context manager"

        def refuse(why: str) -> SourceError:
            key = f"sources.{self.name}"
            more = f"if such answers are expected, raise {key}.max_response_bytes; else " if "more than" in why else ""
            return SourceError(f"source '{self.name}' ({self.shown_url}) {why} for {context}; {more}check {key}.url")

        async with asyncio.timeout(limit):
            async with self._client.stream("POST", path, data=form, timeout=limit, headers=self._encoding) as resp:
                whole = resp.is_stream_consumed  # built whole by an injected transport: already inflated
                chunks, enc = (_once(resp.content), "") if whole else (resp.aiter_raw(), resp.headers.get("content-encoding", ""))
                body = await wire.read_answer(resp.status_code, enc, chunks, limit=self.cfg.max_response_bytes, refuse=refuse, budget=self._budget)
                return _Reply(resp.status_code, resp.headers.get("content-type", ""), body, resp.request.headers)

    # ------------------------------------------------------------------ queries

    async def instant(self, expr: str, at: float, context: str) -> list[Samples]:
        """``expr`` at ``at`` (epoch seconds): each series' labels and its sample (a range selector's: samples)."""
        try:
            return await self._post("/api/v1/query", {"query": expr, "time": _ts(at)}, context, decode_instant)
        except TooLarge as exc:
            raise QueryError(
                f"source '{self.name}' ({self.shown_url}) refused the query for {context} as too large: {exc}"
            ) from None

    async def range_dense(self, expr: str, start: int, end: int, context: str) -> dict[LabelKey, Dense]:
        """``expr`` at the last millisecond of each minute in ``[start, end)``, one array per series.

        Cut into chunks of at most ``chunk_minutes`` points (Prometheus refuses
        more than 11,000 per series) fetched concurrently; a chunk the server
        refuses as too large (resolution, sample or body-size limits) is split
        in two and both halves are asked again, so no minute is ever dropped.
        Each answer is written straight into its series' array and let go.
        """
        chunk = min(self.cfg.chunk_minutes, MAX_POINTS - 1)
        n = end - start
        out: dict[LabelKey, Dense] = {}

        async def one(a: int, b: int) -> None:
            form = {
                "query": expr,
                "start": _ts(a * 60 + EVAL_OFFSET_S),
                "end": _ts((b - 1) * 60 + EVAL_OFFSET_S),
                "step": "60",
            }

            def decode(content: bytes) -> Answer[Steps]:
                return decode_range(content, a, b - a)

            try:
                result = await self._post("/api/v1/query_range", form, context, decode)
            except TooLarge as exc:
                if b - a <= 1:
                    raise QueryError(
                        f"source '{self.name}' ({self.shown_url}) refuses even one minute of {context} as too large: {exc}"
                    ) from None
                mid = (a + b) // 2
                self.splits += 1
                await gather(one(a, mid), one(mid, b))
                return
            for item in result:
                key = label_key(item.labels)
                dense = out.get(key)
                if dense is None:
                    dense = out[key] = Dense(item.labels, np.full(n, np.nan))
                dense.values[a - start : b - start] = item.values

        # How many series answer (known from an earlier slice of the same pull, or
        # from a first hour asked alone) cuts the rest so that no request brings
        # more than POINTS_IN_FLIGHT points.
        first, known = start, self.series_seen.get(expr)
        if known is None:
            first = min(start + 60, end)
            await one(start, first)
            known = len(out)
        chunk = max(60, min(chunk, POINTS_IN_FLIGHT // max(1, known)))
        await gather(*(one(a, min(a + chunk, end)) for a in range(first, end, chunk)))
        self.series_seen[expr] = max(known, len(out))
        return out

    async def range_minutes(self, expr: str, start: int, end: int, context: str) -> dict[LabelKey, Series]:
        """Like :meth:`range_dense`, as the minutes that have a (non-NaN) point."""
        out: dict[LabelKey, Series] = {}
        for key, dense in (await self.range_dense(expr, start, end, context)).items():
            idx = np.flatnonzero(~np.isnan(dense.values))
            out[key] = Series(dense.labels, idx.astype(np.int64) + start, dense.values[idx])
        return out

    async def semantics(self) -> Semantics:
        """Whether range selectors include their left edge (Prometheus 2.x) or not (3.x).

        Asked of the server itself with a subquery over a constant, so it holds for
        any engine behind the API: a closed ``[1m:1m]`` window at an aligned time
        holds two steps, a left-open one holds one.
        """
        if self._semantics is None:
            result = await self.instant("count_over_time(vector(1)[1m:1m])", 1_700_000_040, "a range-semantics probe")
            count = result[0].values[0] if result else 1.0
            self._semantics = "closed" if count >= 2 else "left_open"
        return self._semantics


def too_large(status: int, text: str) -> bool:
    """Whether a refusal says the query asked for too much at once (a smaller one may pass)."""
    if status == 413:
        return True
    low = text.lower()
    return status in (400, 413, 422, 500, 503) and any(m in low for m in _TOO_LARGE)


async def gather(*aws: Coroutine[Any, Any, Any]) -> list[Any]:
    """Run concurrently; on the first failure cancel the rest and raise that failure.

    ``asyncio.gather`` would leave the siblings running (and querying) after one
    has failed; a refused query should stop the whole pull at once.
    """
    try:
        async with asyncio.TaskGroup() as tg:
            tasks = [tg.create_task(aw) for aw in aws]
    except BaseExceptionGroup as group:
        first = group.exceptions[0]
        while isinstance(first, BaseExceptionGroup):
            first = first.exceptions[0]
        raise first from None
    return [t.result() for t in tasks]


def without_credentials(url: str) -> str:
    """``url`` without a ``user:password@`` part, for provenance kept in the store."""
    parts = urlsplit(url)
    return redact(parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl())


def window(semantics: Semantics, seconds: int) -> str:
    """A range covering exactly the ``seconds`` before an evaluation time, excluding its start."""
    return f"[{seconds}s]" if semantics == "left_open" else f"[{seconds * 1000 - 1}ms]"


def _ts(seconds: float) -> str:
    return f"{seconds:.3f}"


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data
