"""Asking a running Prometheus to reload its configuration and rule files (``POST /-/reload``).

The endpoint exists only when Prometheus runs with ``--web.enable-lifecycle``;
without it Prometheus answers 403 (older versions 404), which is named as such so
the user knows which flag is missing.  A reload that Prometheus rejects (HTTP 500
with its reason) leaves it running on the old rules.
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping

import httpx

from slactl.errors import PublishError


def reload(
    base_url: str,
    *,
    headers: Mapping[str, str] | None = None,
    auth: tuple[str, str] | None = None,
    verify: bool | str | ssl.SSLContext = True,
    timeout: float = 30.0,
    transport: httpx.BaseTransport | None = None,
) -> None:
    """POST ``base_url/-/reload``; raise PublishError saying why it did not take."""
    url = base_url.rstrip("/") + "/-/reload"
    try:
        with httpx.Client(
            headers=dict(headers or {}), auth=auth, verify=verify, timeout=timeout, transport=transport
        ) as client:
            resp = client.post(url)
    except httpx.TimeoutException:
        raise PublishError(f"Prometheus at {base_url} did not answer {url} within {timeout:g}s") from None
    except httpx.TransportError as exc:
        raise PublishError(f"cannot reach Prometheus at {base_url} ({type(exc).__name__}: {exc})") from None
    if resp.status_code < 300:
        return
    body = " ".join(resp.text.split())[:300]
    if resp.status_code in (403, 404) or "lifecycle" in body.lower():
        raise PublishError(
            f"Prometheus at {base_url} refused {url} (HTTP {resp.status_code}: {body or resp.reason_phrase}); "
            "start it with --web.enable-lifecycle, or reload it with SIGHUP"
        )
    raise PublishError(f"Prometheus at {base_url} rejected the reload (HTTP {resp.status_code}): {body}")
