"""Pushing dashboards into Grafana through its HTTP API (the one httpx adapter for Grafana).

Semantics, chosen so ``slactl dashboards push`` can run from CI on every change:

- A service account token comes from an environment variable (``GRAFANA_TOKEN`` by
  default), never from the command line or the config.
- The folder is found by its uid (derived from its name), else by its title, else
  created with that uid.
- Each dashboard is created or updated by its uid.  An existing dashboard whose
  content and folder already match is left alone (its version does not move), so
  pushing twice gives the same end state; otherwise it is saved with the version
  Grafana holds and ``overwrite: false``, so an edit made in Grafana between our
  read and our write is refused (412) instead of silently lost.
- 401, 403 and 412 become one-line :class:`PublishError` messages saying what to do.
- Each request, and the whole push (``--timeout``), is bounded in time and bytes
  (:mod:`slactl.publish.http`); an answer that is not the JSON object the API
  documents is one line naming the call, not a traceback.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from hashlib import sha1
from typing import Any

import httpx

from slactl.errors import PublishError, UsageError
from slactl.publish.http import COMMAND_SECONDS, REQUEST_SECONDS, Answer, Bounded
from slactl.redact import remember

DEFAULT_TOKEN_ENV = "GRAFANA_TOKEN"
DEFAULT_FOLDER = "SLA"
VOLATILE_KEYS = ("id", "version")


@dataclass(frozen=True)
class PushResult:
    uid: str
    title: str
    action: str  # created | updated | unchanged
    version: int
    url: str


def token_from_env(name: str) -> str:
    token = os.environ.get(name, "").strip()
    if not token:
        raise UsageError(
            f"no Grafana token: set the environment variable {name} to a service account token"
        )
    remember(token)  # no message may show it (slactl.redact)
    return token


def folder_uid(title: str) -> str:
    """The stable uid of the folder slactl pushes into (Grafana allows 40 characters).

    Readable when the title is already a clean lower-case name, else hashed so that
    titles differing only in case or punctuation never share a uid.
    """
    clean = "".join(c if c.isalnum() else "-" for c in title.lower()).strip("-")[:24] or "folder"
    if clean == title:
        return f"slactl-{clean}"
    return f"slactl-{clean}-{sha1(title.encode()).hexdigest()[:6]}"


def _content(dashboard: dict[str, Any]) -> dict[str, Any]:
    """A dashboard without what Grafana sets on save, for comparing what we would push."""
    return {k: v for k, v in dashboard.items() if k not in VOLATILE_KEYS}


class GrafanaClient:
    """The few calls of Grafana's folder and dashboard API that pushing needs."""

    def __init__(
        self,
        url: str,
        token: str,
        *,
        token_env: str = DEFAULT_TOKEN_ENV,
        timeout: float = REQUEST_SECONDS,
        transport: httpx.BaseTransport | None = None,
        command_timeout: float | None = COMMAND_SECONDS,
    ) -> None:
        self.url = url.rstrip("/")
        self.token_env = token_env
        self._client = httpx.Client(
            base_url=self.url,
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            timeout=timeout,
            transport=transport,
        )
        self._http = Bounded(
            self._client, f"Grafana at {self.url}", request_seconds=timeout, command_seconds=command_timeout,
            hint="; check --grafana-url",
        )  # fmt: skip

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> GrafanaClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ----------------------------------------------------------------- HTTP

    def _call(
        self, method: str, path: str, *, json: Any = None, what: str, ok404: bool = False
    ) -> Any:
        resp = self._http.request(method, path, json=json)
        if resp.status == 404 and ok404:
            return None
        if resp.status == 401:
            raise PublishError(
                f"Grafana at {self.url} rejected the token in ${self.token_env} (401 Unauthorized) while trying "
                f"to {what}: set {self.token_env} to a valid service account token"
            )
        if resp.status == 403:
            raise PublishError(
                f"the token in ${self.token_env} may not {what} on {self.url} (403 Forbidden): give its service "
                "account the Editor role (dashboards:write and folders:create) or a role on the target folder"
            )
        if resp.status == 412:
            raise PublishError(self._precondition(resp, what))
        if resp.status >= 400:
            raise PublishError(f"Grafana at {self.url} refused to {what}: HTTP {resp.status} {resp.message()}")
        try:
            return resp.json()
        except ValueError:
            raise PublishError(
                f"Grafana at {self.url} sent a response that is not JSON while trying to {what}; check --grafana-url"
            ) from None

    def _object(self, value: Any, what: str) -> dict[str, Any]:
        """``value`` if it is a JSON object, else one line saying Grafana's answer was not what its API documents."""
        if not isinstance(value, dict):
            raise PublishError(
                f"Grafana at {self.url} answered with something other than a JSON object while trying to {what}; "
                "check --grafana-url"
            )
        return value

    def _version(self, value: dict[str, Any], what: str) -> int:
        version = value.get("version", 0)
        if not isinstance(version, int) or isinstance(version, bool):
            raise PublishError(f"Grafana at {self.url} answered a version that is not a number while trying to {what}")
        return version

    def _precondition(self, resp: Answer, what: str) -> str:
        status = _field(resp, "status")
        if status == "version-mismatch":
            return (
                f"cannot {what}: it was changed in Grafana at {self.url} while slactl was pushing "
                "(412 version-mismatch); run the push again (it will replace the change)"
            )
        if status == "name-exists":
            return (
                f"cannot {what}: another dashboard with the same title but a different uid exists in that "
                f"folder on {self.url} (412 name-exists); delete or rename it, or push into another --folder"
            )
        if status == "plugin-dashboard":
            return (
                f"cannot {what}: a plugin owns that dashboard on {self.url} (412 plugin-dashboard)"
            )
        return f"cannot {what} on {self.url}: precondition failed (412) {resp.message()}"

    # ----------------------------------------------------------------- folders

    def ensure_folder(self, title: str) -> str:
        """The uid of the folder titled ``title``, created if there is none."""
        uid = folder_uid(title)
        if (
            self._call("GET", f"/api/folders/{uid}", what=f"read folder {title!r}", ok404=True)
            is not None
        ):
            return uid
        listed = self._call("GET", "/api/folders", what="list folders") or []
        if not isinstance(listed, list):
            raise PublishError(f"Grafana at {self.url} did not answer a list of folders; check --grafana-url")
        for folder in listed:
            if isinstance(folder, dict) and folder.get("title") == title and folder.get("uid"):
                return str(folder["uid"])
        what = f"create folder {title!r}"
        created = self._object(self._call("POST", "/api/folders", json={"uid": uid, "title": title}, what=what), what)
        return str(created.get("uid", uid))

    # ----------------------------------------------------------------- dashboards

    def push(self, dashboard: dict[str, Any], folder: str, message: str) -> PushResult:
        """Create or update one dashboard by uid (see the module docstring)."""
        uid = dashboard.get("uid")
        title = str(dashboard.get("title", uid))
        if not uid:
            raise PublishError(f"dashboard {title!r} has no uid; slactl pushes by uid")
        what = f"save dashboard {title!r} ({uid})"
        current = self._call(
            "GET", f"/api/dashboards/uid/{uid}", what=f"read dashboard {uid}", ok404=True
        )
        body = dict(dashboard, id=None, version=0)
        if current is not None:
            read = f"read dashboard {uid}"
            current = self._object(current, read)
            existing = self._object(current.get("dashboard", {}), read)
            meta = self._object(current.get("meta", {}), read)
            if meta.get("folderUid") == folder and _content(existing) == _content(dashboard):
                return PushResult(
                    uid,
                    title,
                    "unchanged",
                    self._version(existing, read),
                    str(meta.get("url", "")),
                )
            body.update(id=existing.get("id"), version=self._version(existing, read))
        saved = self._object(
            self._call(
                "POST",
                "/api/dashboards/db",
                json={"dashboard": body, "folderUid": folder, "overwrite": False, "message": message},
                what=what,
            ),
            what,
        )
        action = "created" if current is None else "updated"
        return PushResult(
            uid, title, action, self._version(saved, what), str(saved.get("url", ""))
        )


def push_dashboards(
    url: str,
    dashboards: Iterable[dict[str, Any]],
    *,
    folder: str = DEFAULT_FOLDER,
    token_env: str = DEFAULT_TOKEN_ENV,
    message: str = "pushed by slactl",
    transport: httpx.BaseTransport | None = None,
    timeout: float | None = COMMAND_SECONDS,
) -> list[PushResult]:
    """Push every dashboard into ``folder`` on the Grafana at ``url``, within ``timeout`` seconds in all."""
    if not url.startswith(("http://", "https://")):
        raise UsageError(f"--grafana-url must be an http:// or https:// URL, not {url!r}")
    token = token_from_env(token_env)
    with GrafanaClient(url, token, token_env=token_env, transport=transport, command_timeout=timeout) as client:
        folder_id = client.ensure_folder(folder)
        return [client.push(d, folder_id, message) for d in dashboards]


def _field(resp: Answer, key: str) -> str:
    try:
        body = resp.json()
    except ValueError:
        return ""
    return str(body.get(key, "")) if isinstance(body, dict) else ""
