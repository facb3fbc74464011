"""How to reach a Prometheus-API server: a source's auth and TLS, resolved once into plain values.

The config names secrets by environment variable (``bearer_token_env``,
``basic_auth.password_env``) and CA files by path relative to the config file.
Resolving them here, in one place, means the reader (``sources``), the rule
pusher and the backtest all send the same credentials, and report a missing
variable or CA file with the same key path.  No HTTP library is imported: each
HTTP adapter builds its own client from a :class:`Connection`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from slactl.config import PrometheusSource
from slactl.errors import ConfigError
from slactl.redact import remember, remember_basic, remember_headers


@dataclass(frozen=True)
class Connection:
    """Everything an HTTP client needs to talk to one server."""

    url: str
    headers: dict[str, str] = field(default_factory=dict)
    basic_auth: tuple[str, str] | None = None  # (username, password)
    verify: bool | Path = True  # False, True (system CAs) or a CA bundle file
    timeout_seconds: float = 30.0


def connection(name: str, src: PrometheusSource, *, base_dir: Path, environ: Mapping[str, str]) -> Connection:
    """The source ``name`` resolved: secrets read from ``environ``, the CA path made absolute and checked."""
    headers = dict(src.headers)
    auth = None
    if src.bearer_token_env:
        headers["Authorization"] = f"Bearer {_env(environ, src.bearer_token_env, name, 'bearer_token_env')}"
    if src.basic_auth:
        password = _env(environ, src.basic_auth.password_env, name, "basic_auth.password_env")
        auth = (src.basic_auth.username, password)
    _remember(src.url, headers, auth)
    verify: bool | Path = src.verify_tls if isinstance(src.verify_tls, bool) else Path(src.verify_tls).expanduser()
    if isinstance(verify, Path):
        verify = verify if verify.is_absolute() else base_dir / verify
        if not verify.is_file():
            raise ConfigError(f"CA file {str(verify)!r} not found", key=f"sources.{name}.verify_tls")
    return Connection(src.url, headers, auth, verify, src.timeout_seconds)


def _remember(url: str, headers: dict[str, str], auth: tuple[str, str] | None) -> None:
    """Every credential is remembered, so no message, log or page can show it (slactl.redact)."""
    userinfo = url.partition("://")[2].partition("/")[0].rpartition("@")[0]
    if userinfo:
        user, _, password = userinfo.partition(":")
        remember_basic(user, password or None)
        remember(password or user)
    remember_headers(headers)
    if auth:
        remember_basic(*auth)


def _env(environ: Mapping[str, str], var: str, source: str, key: str) -> str:
    value = environ.get(var)
    if not value:
        raise ConfigError(f"environment variable {var} is not set", key=f"sources.{source}.{key}")
    return value
