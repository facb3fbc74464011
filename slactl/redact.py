"""Keeping credentials out of everything slactl prints, logs or serves.

Two nets, because either alone leaks:

- shapes: a URL's user info (``http://user:secret@host``) keeps the user and
  loses the password; ``Bearer …`` and ``Basic …`` lose their token;
- values: every credential slactl reads (a token or password from the
  environment, a credential-looking header, a URL password, the base64 of a
  basic-auth pair) is remembered with :func:`remember` and masked wherever it
  appears, e.g. in an error body a server echoed back.
"""

from __future__ import annotations

import base64
import logging
import re
import threading

MASK = "***"
MIN_SECRET = 4  # shorter values would mask ordinary text
_URL_USERINFO = re.compile(r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<user>[^/?#@\s:]*)(?::(?P<pw>[^/?#@\s]*))?@")
# A token has a digit or a symbol: "Basic authentication" is prose, "Basic dXNlcjpwdzE=" is not.
_AUTH_SCHEME = re.compile(r"(?i)\b(bearer|basic|token)(\s+)(?=[A-Za-z]*[0-9._~+/=-])[A-Za-z0-9._~+/=-]{4,}")
_CREDENTIAL_HEADER = re.compile(r"(?i)auth|token|key|secret|passw|cookie|session|credential")

_lock = threading.Lock()
_secrets: set[str] = set()


def remember(value: str | None) -> None:
    """Mask ``value`` in every later :func:`redact` (too short a value is ignored)."""
    if value and len(value) >= MIN_SECRET:
        with _lock:
            _secrets.add(value)


def remember_basic(username: str, password: str | None) -> None:
    """A basic-auth pair: the password and the header's base64 both count as secrets."""
    remember(password)
    if password:
        remember(base64.b64encode(f"{username}:{password}".encode()).decode())


def remember_headers(headers: dict[str, str]) -> None:
    """Header values whose name says credential (Authorization, X-Api-Key, …)."""
    for name, value in headers.items():
        if _CREDENTIAL_HEADER.search(name):
            remember(value)
            remember(value.split(None, 1)[-1])  # the token without its "Bearer"


def is_credential_header(name: str) -> bool:
    return _CREDENTIAL_HEADER.search(name) is not None


def _userinfo(m: re.Match[str]) -> str:
    user, pw = m.group("user"), m.group("pw")
    if pw is None:  # https://TOKEN@host: the user part is the secret
        return f"{m.group('scheme')}{MASK}@"
    return f"{m.group('scheme')}{user}:{MASK}@"


def redact(text: str) -> str:
    """``text`` with URL passwords, auth tokens and remembered secrets masked."""
    if not text:
        return text
    out = _URL_USERINFO.sub(_userinfo, text)
    out = _AUTH_SCHEME.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", out)
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for s in secrets:
        if s in out:
            out = out.replace(s, MASK)
    return out


def contains_secret(text: str) -> bool:
    """Whether ``text`` would change under :func:`redact` because of a remembered secret."""
    with _lock:
        return any(s in text for s in _secrets)


class RedactingFormatter(logging.Formatter):
    """A log formatter whose every line, tracebacks included, goes through :func:`redact`."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))
