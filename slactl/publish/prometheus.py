"""Asking a running Prometheus to reload its configuration and rule files (``POST /-/reload``).

The endpoint exists only when Prometheus runs with ``--web.enable-lifecycle``;
without it Prometheus answers 403 (older versions 404), which is named as such so
the user knows which flag is missing.  A reload that Prometheus rejects (HTTP 500
with its reason) leaves it running on the old rules.  The request, answer
included, ends within the source's ``timeout_seconds`` however slowly the server
sends it, and reads at most a small answer (:mod:`slactl.publish.http`).
"""

from __future__ import annotations

import ssl
from typing import Any

import httpx

from slactl.errors import PublishError
from slactl.promql.connection import Connection
from slactl.publish.http import Bounded


def client_args(conn: Connection) -> dict[str, Any]:
    """httpx client settings from a resolved connection (headers, basic auth, TLS, timeout)."""
    verify: bool | ssl.SSLContext = (
        conn.verify if isinstance(conn.verify, bool) else ssl.create_default_context(cafile=str(conn.verify))
    )
    return {
        "headers": dict(conn.headers),
        "auth": httpx.BasicAuth(*conn.basic_auth) if conn.basic_auth else None,
        "verify": verify,
        "timeout": httpx.Timeout(conn.timeout_seconds),
    }


def reload(conn: Connection | str, *, transport: httpx.BaseTransport | None = None) -> None:
    """POST ``URL/-/reload``; raise PublishError saying why it did not take."""
    conn = Connection(conn) if isinstance(conn, str) else conn
    base_url = conn.url
    url = base_url.rstrip("/") + "/-/reload"
    with httpx.Client(**client_args(conn), transport=transport) as client:
        http = Bounded(client, f"Prometheus at {base_url}", request_seconds=conn.timeout_seconds, command_seconds=None)
        resp = http.request("POST", url)
    if resp.status < 300:
        return
    body = resp.message() if resp.content.strip() else ""
    if resp.status in (403, 404) or "lifecycle" in body.lower():
        raise PublishError(
            f"Prometheus at {base_url} refused {url} (HTTP {resp.status}: {body or resp.reason}); "
            "start it with --web.enable-lifecycle, or reload it with SIGHUP"
        )
    raise PublishError(f"Prometheus at {base_url} rejected the reload (HTTP {resp.status}): {body}")
