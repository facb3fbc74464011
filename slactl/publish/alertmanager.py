"""Alertmanager's v2 HTTP API: list silences and create one.

The one place slactl talks to Alertmanager.  Transport errors and refusals
become :class:`PublishError` naming the address and Alertmanager's own reason.
"""

from __future__ import annotations

from typing import Any

import httpx

from slactl.errors import PublishError

TIMEOUT_SECONDS = 30.0


class Alertmanager:
    """A client of one Alertmanager; use as a context manager."""

    def __init__(self, url: str, *, transport: httpx.BaseTransport | None = None) -> None:
        self.url = url.rstrip("/")
        self._client = httpx.Client(base_url=self.url, timeout=TIMEOUT_SECONDS, transport=transport)

    def __enter__(self) -> Alertmanager:
        return self

    def __exit__(self, *exc: object) -> None:
        self._client.close()

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        try:
            resp = self._client.request(method, path, json=body)
        except httpx.TimeoutException:
            raise PublishError(f"Alertmanager at {self.url} did not answer {path} within {TIMEOUT_SECONDS:g}s") from None
        except httpx.TransportError as exc:
            raise PublishError(f"cannot reach Alertmanager at {self.url} ({type(exc).__name__}: {exc})") from None
        if resp.status_code >= 300:
            text = " ".join(resp.text.split())[:300] or resp.reason_phrase
            raise PublishError(f"Alertmanager at {self.url} refused {method} {path} (HTTP {resp.status_code}: {text})")
        try:
            return resp.json()
        except ValueError:
            raise PublishError(f"Alertmanager at {self.url} answered {path} with something that is not JSON") from None

    def silences(self) -> list[dict[str, Any]]:
        """Every silence Alertmanager holds (active, pending and expired)."""
        found = self._call("GET", "/api/v2/silences")
        if not isinstance(found, list):
            raise PublishError(f"Alertmanager at {self.url}: /api/v2/silences did not answer a list")
        return found

    def create(self, body: dict[str, Any]) -> str:
        """Create a silence; its id."""
        answer = self._call("POST", "/api/v2/silences", body)
        return str(answer.get("silenceID", "")) if isinstance(answer, dict) else ""
