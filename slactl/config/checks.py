"""Value checks the models' types cannot express, run by ``load`` after validation.

Each refuses a config that would otherwise pass ``slactl validate`` and fail
later, far from its cause: a label name Prometheus rejects inside a generated
dashboard, a header value that breaks the HTTP request into "cannot connect",
a ``javascript:`` link in the status page's feed.  Messages name the key path.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

from slactl.errors import ConfigError

if TYPE_CHECKING:
    from slactl.config.models import Config

_LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # an HTTP header name (RFC 9110 token)
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # control characters other than tab


def check_values(cfg: Config) -> None:
    """Raise ConfigError for the first value that cannot work."""
    for key, problem in _problems(cfg):
        raise ConfigError(problem, path=cfg.source_file, key=key)


def _problems(cfg: Config) -> Iterator[tuple[str, str]]:
    for name, src in cfg.sources.items():
        key = f"sources.{name}"
        for field in ("url", "endpoint_url"):
            value = getattr(src, field, None)
            if value:
                yield from _url(f"{key}.{field}", value)
        for header, value in (getattr(src, "headers", None) or {}).items():
            if not _TOKEN.fullmatch(header):
                yield f"{key}.headers", f"{header!r} is not a valid HTTP header name"
            if _CONTROL.search(value):
                yield f"{key}.headers.{header}", "the value must not contain line breaks or control characters"
    for name, svc in cfg.services.items():
        for label in svc.group_by:
            if not _LABEL.fullmatch(label) or label.startswith("__"):
                yield (
                    f"services.{name}.group_by",
                    f"{label!r} is not a Prometheus label name (letters, digits and _, not starting with a digit or __)",
                )
    for name, target in cfg.latency_targets_seconds.items():
        if not math.isfinite(target):
            yield f"latency_targets_seconds.{name}", "must be a finite number of seconds"
    if cfg.status_page.url:
        yield from _url("status_page.url", cfg.status_page.url)
    if cfg.alerts.runbook_base_url:
        yield from _url("alerts.runbook_base_url", cfg.alerts.runbook_base_url)
    for which in ("status_page", "reports"):
        s3 = getattr(cfg.publish, which).s3
        if s3 is not None and s3.endpoint_url:
            yield from _url(f"publish.{which}.s3.endpoint_url", s3.endpoint_url)


def _url(key: str, value: str) -> Iterator[tuple[str, str]]:
    """Only http(s) addresses, written on one line without spaces."""
    if _CONTROL.search(value) or any(c.isspace() for c in value):
        yield key, "the URL must not contain spaces, line breaks or control characters"
    elif not re.match(r"https?://[^/?#]", value, re.IGNORECASE):
        yield key, f"{value!r} is not an http:// or https:// URL"


def environment_problems(cfg: Config, environ: Mapping[str, str] | None = None) -> list[str]:
    """Secrets the config names by environment variable but the environment lacks.

    ``validate`` only warns (the production environment may have them);
    commands that talk to the sources refuse to start.
    """
    env = os.environ if environ is None else environ
    used = {svc.source for svc in cfg.services.values()}
    out = []
    for name, src in cfg.sources.items():
        if name not in used:
            continue
        wanted: list[tuple[str, str]] = []
        token = getattr(src, "bearer_token_env", None)
        if token:
            wanted.append(("bearer_token_env", token))
        auth = getattr(src, "basic_auth", None)
        if auth is not None:
            wanted.append(("basic_auth.password_env", auth.password_env))
        for field, var in wanted:
            if not env.get(var):
                out.append(f"sources.{name}.{field}: environment variable {var} is not set")
    return out
