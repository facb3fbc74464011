"""Alertmanager's v2 HTTP API: list silences and create one.

The one place slactl talks to Alertmanager.  Transport errors and refusals
become :class:`PublishError` naming the address and Alertmanager's own reason,
on one line.  Each request is bounded in time and bytes, and so is the whole
command (:mod:`slactl.publish.http`).  What Alertmanager lists is checked
before anyone reads it: a list of silence objects, each with the fields a
silence always has, so a wrong address or a broken server is one line, not a
traceback.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx

from slactl.errors import PublishError
from slactl.publish.http import COMMAND_SECONDS, REQUEST_SECONDS, Bounded

TIMEOUT_SECONDS = REQUEST_SECONDS  # one request, all told


class Alertmanager:
    """A client of one Alertmanager; use as a context manager.

    ``timeout`` bounds the whole command (every request together, ``--timeout``);
    each request also ends within :data:`TIMEOUT_SECONDS`.
    """

    def __init__(
        self, url: str, *, transport: httpx.BaseTransport | None = None, timeout: float | None = COMMAND_SECONDS
    ) -> None:
        self.url = url.rstrip("/")
        self._client = httpx.Client(base_url=self.url, timeout=TIMEOUT_SECONDS, transport=transport)
        self._http = Bounded(
            self._client, f"Alertmanager at {self.url}", request_seconds=TIMEOUT_SECONDS, command_seconds=timeout,
            hint="; check --alertmanager",
        )  # fmt: skip

    def __enter__(self) -> Alertmanager:
        return self

    def __exit__(self, *exc: object) -> None:
        self._client.close()

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        resp = self._http.request(method, path, json=body)
        if resp.status >= 300:
            raise PublishError(f"Alertmanager at {self.url} refused {method} {path} (HTTP {resp.status}: {resp.message()})")
        try:
            return resp.json()
        except ValueError:
            raise PublishError(
                f"Alertmanager at {self.url} answered {path} with something that is not JSON; check --alertmanager"
            ) from None

    def silences(self) -> list[dict[str, Any]]:
        """Every silence Alertmanager holds (active, pending and expired), each checked for the fields it must have."""
        found = self._call("GET", "/api/v2/silences")
        if not isinstance(found, list):
            raise PublishError(
                f"Alertmanager at {self.url}: /api/v2/silences did not answer a list; check --alertmanager"
            )
        for i, item in enumerate(found):
            problem = silence_problem(item)
            if problem:
                raise PublishError(
                    f"Alertmanager at {self.url}: silence {i} of /api/v2/silences {problem}; "
                    "is --alertmanager an Alertmanager (API v2)?"
                )
        return found

    def create(self, body: dict[str, Any]) -> str:
        """Create a silence; its id."""
        answer = self._call("POST", "/api/v2/silences", body)
        return str(answer.get("silenceID", "")) if isinstance(answer, dict) else ""


def silence_problem(item: Any) -> str | None:
    """What is wrong with one listed silence (Alertmanager's ``gettableSilence``), or None."""
    if not isinstance(item, dict):
        return f"is not an object but {_kind(item)}"
    for key in ("startsAt", "endsAt"):
        value = item.get(key)
        if not isinstance(value, str):
            return f"has no {key}" if value is None else f"has a {key} that is not a string"
        try:
            datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return f"has a {key} that is not a time ({value[:40]!r})"
    matchers = item.get("matchers", [])
    if not isinstance(matchers, list) or not all(
        isinstance(m, dict) and isinstance(m.get("name"), str) and isinstance(m.get("value"), str) for m in matchers
    ):
        return "has matchers that are not a list of {name, value} objects"
    status = item.get("status", {})
    if not isinstance(status, dict) or not isinstance(status.get("state", ""), str):
        return "has a status that is not an object with a state"
    for key in ("createdBy", "comment", "id"):
        if not isinstance(item.get(key, ""), str):
            return f"has a {key} that is not a string"
    return None


def _kind(value: Any) -> str:
    return {type(None): "null", bool: "a boolean", int: "a number", float: "a number", str: "a string",
            list: "a list"}.get(type(value), type(value).__name__)  # fmt: skip
