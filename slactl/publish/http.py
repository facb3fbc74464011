"""One request to Alertmanager, Grafana or Prometheus' ``/-/reload``, bounded in time and in bytes.

httpx's timeouts are per read: a server that sends a byte a second (or headers
that never end) holds a synchronous client for good, and ``Response.read()``
keeps whatever a server sends.  So each request here runs on a worker thread
that the command waits for no longer than the request's own time and what is
left of the command's (``--timeout``), and its answer is read through a
:class:`~slactl.promql.connection.Body`, which refuses it past its byte limit.
A worker left behind by a deadline stops at its next read or at its own
timeout, whichever comes first; it is a daemon thread, so it never holds the
process up.  Every failure is a :class:`PublishError` of one line naming the
server and the limit.
"""

from __future__ import annotations

import contextvars
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx

from slactl.errors import PublishError
from slactl.promql.connection import (
    ACCEPT_ENCODING,
    LATE,
    PUBLISH_MAX_BYTES,
    one_line,
    quoted_error,
    read_answer_sync,
)
from slactl.redact import redact

T = TypeVar("T")

REQUEST_SECONDS = 30.0  # one request, from connecting to the last byte of its answer
COMMAND_SECONDS = 120.0  # a whole `alerts silences push` or `dashboards push` (--timeout)


@dataclass(frozen=True)
class Answer:
    """An answer read whole: status, reason, type and body (at most the byte limit)."""

    status: int
    reason: str
    content_type: str
    content: bytes

    def json(self) -> Any:
        """The body as JSON; ValueError when it is not (too deeply nested included)."""
        try:
            return json.loads(self.content)
        except RecursionError:
            raise ValueError("nested too deeply") from None

    def message(self) -> str:
        """What an error answer says, on one short line (its reason phrase when it says nothing)."""
        return quoted_error(self.content, self.content_type) or self.reason or f"HTTP {self.status}"


class Bounded:
    """One server's requests under one command's deadline; ``server`` names it in messages ("Grafana at URL")."""

    def __init__(
        self,
        client: httpx.Client,
        server: str,
        *,
        request_seconds: float = REQUEST_SECONDS,
        command_seconds: float | None = COMMAND_SECONDS,
        max_bytes: int = PUBLISH_MAX_BYTES,
        hint: str = "",
    ) -> None:
        self.client, self.server, self.hint = client, server, hint
        self.request_seconds, self.command_seconds, self.max_bytes = request_seconds, command_seconds, max_bytes
        self.ends_at = None if command_seconds is None else time.monotonic() + command_seconds

    def request(self, method: str, path: str, *, json: Any = None) -> Answer:
        """``method path`` answered within the request's and the command's time, its body within the byte limit."""
        left, whole = self.request_seconds, False
        if self.ends_at is not None:
            rest = self.ends_at - time.monotonic()
            if rest <= 0:
                raise self._out_of_time(method, path)
            if rest < left:
                left, whole = rest, True
        done = _in_worker(left, lambda: self._exchange(method, path, json, left, whole))
        if done is None:
            raise self._late(method, path, left, whole)
        return done[0]

    def _out_of_time(self, method: str, path: str) -> PublishError:
        return PublishError(
            f"{self.server}: the command ran out of its {self.command_seconds:g}s at {method} {path}; "
            "give it longer with --timeout, or check that the server answers quickly"
        )

    def _late(self, method: str, path: str, left: float, whole: bool) -> PublishError:
        if whole:  # the command's deadline came first
            return self._out_of_time(method, path)
        return PublishError(f"{self.server} did not answer {method} {path} within {left:g}s{self.hint}")

    def _exchange(self, method: str, path: str, body: Any, left: float, whole: bool) -> Answer:
        """On the worker: send, then read the answer through a Body (which also stops at ``left``)."""

        def refuse(why: str) -> PublishError:
            if why == LATE:  # the worker noticed the deadline first: say what the caller would
                return self._late(method, path, left, whole)
            return PublishError(f"{self.server} {why} answering {method} {path}{self.hint}")

        ends_at = time.monotonic() + left
        try:
            headers = {"Accept-Encoding": ACCEPT_ENCODING}
            with self.client.stream(method, path, json=body, timeout=left, headers=headers) as resp:
                whole = resp.is_stream_consumed  # built whole by an injected transport: already inflated
                chunks, enc = ([resp.content], "") if whole else (resp.iter_raw(), resp.headers.get("content-encoding", ""))
                answer = read_answer_sync(resp.status_code, enc, chunks, limit=self.max_bytes, refuse=refuse, ends_at=ends_at)
                return Answer(resp.status_code, resp.reason_phrase, resp.headers.get("content-type", ""), answer.content())
        except httpx.TimeoutException:
            raise self._late(method, path, left, whole) from None
        except httpx.HTTPError as exc:
            raise PublishError(
                f"cannot reach {self.server} ({type(exc).__name__}: {one_line(redact(str(exc)))}){self.hint}"
            ) from None
        except ValueError as exc:  # a compressed answer that cannot be inflated
            raise PublishError(f"{self.server} sent an unreadable answer to {method} {path}: {exc}{self.hint}") from None


def _in_worker(seconds: float, work: Callable[[], T]) -> tuple[T] | None:
    """``(work(),)`` run on a daemon thread, or None when it has not finished within ``seconds``.

    What ``work`` raises is raised here.  The worker runs in a copy of the
    caller's context (context variables), like a task would.
    """
    done: list[tuple[bool, Any]] = []
    context = contextvars.copy_context()

    def run() -> None:
        try:
            done.append((True, context.run(work)))
        except BaseException as exc:  # noqa: BLE001  (handed to the caller, who raises it)
            done.append((False, exc))

    worker = threading.Thread(target=run, name="slactl-http", daemon=True)
    worker.start()
    worker.join(seconds)
    if not done:
        return None
    ok, value = done[0]
    if not ok:
        raise value
    return (value,)
