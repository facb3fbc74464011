"""Keeping credentials out of everything slactl prints, logs or serves.

Two nets, because either alone leaks:

- shapes: one rule for every URL and DSN, whatever prints it (an error line, a
  log line, ``/healthz``, a ``--debug`` traceback, a success line).  User info
  keeps the user and loses the password (``postgresql://app:***@db/x``); a
  password with an unescaped ``@`` is masked up to the *last* ``@`` before the
  host, so no tail of it survives.  Credential parameters (``password=``,
  ``passwd=``, ``pass=``, ``sslpassword=``, ``token=``, ``secret=``,
  ``api_key=`` and names ending in them, any case) lose their value in a URL
  query (``?password=***``), in a libpq key/value string (``host=db
  password=***``) and quoted (``password='***'``, ``"token": "***"``).
  ``Bearer …`` and ``Basic …`` lose their token;
- values: every credential slactl reads (a token or password from the
  environment, a credential-looking header, a URL password, the base64 of a
  basic-auth pair) is remembered with :func:`remember` or :func:`remember_url`
  and masked wherever it appears: in an error body a server echoed back, or in
  a driver's message naming as "host" what is really a password's tail.

A user alone (``postgresql://app@db/x``) is a role name and stays; over HTTP a
user alone (``https://TOKEN@host``) is how tokens travel, so it is masked.
SQLAlchemy's ``hide_password`` is no substitute: it shows ``?password=`` and
the tail of a password holding ``@``.
"""

from __future__ import annotations

import base64
import logging
import re
import threading
from collections.abc import Iterator
from typing import NamedTuple
from urllib.parse import parse_qsl, unquote

MASK = "***"
MIN_SECRET = 4  # shorter values would mask ordinary text
# Read as RFC 3986 by HTTP clients; a user alone in their user info is a token, not a role name.
_HTTP_SCHEMES = frozenset({"http", "https", "ws", "wss", "ftp", "ftps"})
_SCHEME = re.compile(r"\b(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*)://")
_SPACE = re.compile(r"\s")
_AUTHORITY_END = re.compile(r"[/?#]")
# An authority without user info: host (or [IPv6]) and an optional numeric port.
_HOST_PORT = re.compile(r"(?:\[[^\]]*\]|[^:\[\]@]*)(?::\d*)?")
# Names whose value is a credential: password, passwd, sslpassword, db_password, client_secret,
# access_token, api_key, x-api-key, …; "pass" and "pwd" only alone or after a separator (not "bypass").
_KEY = r"(?:[\w.-]*?(?:password|passwd|secret|token|api[_-]?key|apikey)|(?:[\w.-]*[_.-])?(?:pass|pwd))"
_QUOTED = r"""'(?:[^'\\]|\\[\s\S])*'|"(?:[^"\\]|\\[\s\S])*\""""
# A value's end: one closing mark of the sentence around it stays ("… ?password=***: refused").
_CLOSING = r"""[:,;.)'"\]]?"""
# In a URL query the value runs to the next "&" (the driver splits there, not at "#").
_QUERY_PARAM = re.compile(
    rf"(?i)(?P<head>[?&]{_KEY}=)(?P<value>(?:{_QUOTED}|[^&\s]+?)(?={_CLOSING}(?:[&\s]|$)))"
)
# libpq key/value strings, reprs, JSON and YAML: key=value, key='…', "key": "…".
# A quoted value counts as one only where it ends (`password="a"b` is one unquoted value).
_KV_PARAM = re.compile(
    rf"""(?ix)(?<![\w.?&-])(?P<key>(?P<q>["']?){_KEY}(?P=q))
    (?:(?P<eq>\s*=\s*)(?P<v1>(?:{_QUOTED})(?=$|[\s,;)}}\]])|\S+?(?={_CLOSING}(?:\s|$))) | (?P<colon>\s*:\s*)(?P<v2>{_QUOTED}))"""
)
_BACKSLASHED = re.compile(r"\\(.)")  # an escape inside a quoted value
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


def _userinfo_end(text: str, start: int, scheme: str) -> int | None:
    """The index of the ``@`` closing the user info of a URL whose authority starts at ``start``.

    The URL runs to the next whitespace.  HTTP clients read RFC 3986: the
    authority ends at the first ``/ ? #`` and its user info at its last ``@``.
    Every other scheme is a store URL, read by SQLAlchemy, which ends a password
    at its *first* ``@`` (taking the rest for the host) and lets it hold
    ``/ ? #``: there only the URL's last ``@`` is safe.
    """
    space = _SPACE.search(text, start)
    end = space.start() if space else len(text)
    last = text.rfind("@", start, end)
    if last < 0:
        return None
    if scheme not in _HTTP_SCHEMES:
        return last
    cut = _AUTHORITY_END.search(text, start, end)
    authority_end = cut.start() if cut else end
    in_authority = text.rfind("@", start, authority_end)
    if in_authority >= 0:
        return in_authority
    if _HOST_PORT.fullmatch(text, start, authority_end):
        return None  # host:port, and an "@" further on is in the path or query
    return last  # "user:pa/ss@host": a password holding "/"


def _userinfos(text: str) -> Iterator[tuple[str, int, int]]:
    """Each URL's scheme and the span of its user info (between ``://`` and the closing ``@``)."""
    pos = 0
    while (m := _SCHEME.search(text, pos)) is not None:
        scheme = m.group("scheme").lower()
        at = _userinfo_end(text, m.end(), scheme)
        if at is None:
            pos = m.end()
            continue
        yield scheme, m.end(), at
        pos = at + 1


class _Span(NamedTuple):
    start: int
    end: int
    user: str | None = None  # for a user info password: the user it goes with


def _unquoted(m: re.Match[str], group: str) -> _Span:
    """A value's span; inside its quotes when quoted (they stay, to show the value was quoted)."""
    start, end = m.span(group)
    value = m.group(group)
    if len(value) > 1 and value[0] in "'\"" and value[-1] == value[0]:
        return _Span(start + 1, end - 1)
    return _Span(start, end)


def _spans(text: str) -> Iterator[_Span]:
    """Where the secrets are, each rule run on the whole text.

    The rules run side by side, not one on another's output: a password may
    hold ``&token=`` and a query value may hold ``@``, and either would hide
    the other's secret from a rule run second.
    """
    for m in _QUERY_PARAM.finditer(text):
        yield _unquoted(m, "value")
    for m in _KV_PARAM.finditer(text):
        yield _unquoted(m, "v1" if m.group("v1") is not None else "v2")
    for scheme, start, at in _userinfos(text):
        user, colon, password = text[start:at].partition(":")
        if colon and password:
            yield _Span(start + len(user) + 1, at, user)
        elif not colon and scheme in _HTTP_SCHEMES:
            yield _Span(start, at, "")  # https://TOKEN@host: the user part is the secret
        # else a role name alone, or an empty password: nothing to hide


def _mask_spans(text: str) -> str:
    """Each run of overlapping or touching secret spans becomes one mask."""
    out: list[str] = []
    pos = -1
    for start, end, _ in sorted(_spans(text), key=lambda span: (span.start, span.end)):
        if end <= start or end <= pos:
            continue
        if start > pos:
            out += [text[max(pos, 0) : start], MASK]
        pos = end
    return "".join(out) + text[pos:] if out else text


def redact(text: str) -> str:
    """``text`` with URL and DSN passwords, credential parameters, auth tokens and remembered secrets masked."""
    if not text:
        return text
    out = _mask_spans(text)
    out = _AUTH_SCHEME.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", out)
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for s in secrets:
        if s in out:
            out = out.replace(s, MASK)
    return out


def _pieces(password: str) -> list[str]:
    """What a first-``@`` reader makes of a password: each tail after an ``@``, and after a ``:`` past one.

    SQLAlchemy takes what follows the first ``@`` for the host and what follows a
    ``:`` there for the port; the driver's messages then quote them.
    """
    first = password.find("@")
    if first < 0:
        return []
    return [password[i + 1 :] for i, c in enumerate(password) if c == "@" or (c == ":" and i > first)]


def _as_one_url(text: str) -> list[str]:
    """The secrets of ``text`` read as one whole URL, spaces and all, as SQLAlchemy reads a store URL."""
    m = _SCHEME.match(text.strip())
    if m is None:
        return []
    url = text.strip()
    found: list[str] = []
    at = url.rfind("@") if m.group("scheme").lower() not in _HTTP_SCHEMES else None
    if at is not None and at > m.end():
        password = url[m.end() : at].partition(":")[2]
        found += [password, unquote(password), *_pieces(password)]
    for key, value in parse_qsl(url.partition("?")[2], keep_blank_values=True):
        if re.fullmatch(_KEY, key, re.IGNORECASE):
            found += [value, value.strip("'\"")]
    return found


def url_secrets(text: str) -> list[str]:
    """The credentials a URL, DSN or libpq string carries: as written, percent-decoded and unescaped.

    A password holding ``@`` also gives the pieces a parser ending it at its
    first ``@`` would show as host and port (:func:`_pieces`).  A user info
    password also gives the base64 an HTTP client sends it in.
    """
    found: list[str] = _as_one_url(text)
    for start, end, user in _spans(text):
        value = text[start:end]
        found += [value, unquote(value), _BACKSLASHED.sub(r"\1", value)]
        if user is not None:
            found += _pieces(value)
        if user:
            found.append(base64.b64encode(f"{unquote(user)}:{unquote(value)}".encode()).decode())
    return [s for s in dict.fromkeys(found) if len(s) >= MIN_SECRET]


def remember_url(text: str) -> None:
    """Remember every credential in a URL, DSN or libpq string (see :func:`url_secrets`)."""
    for secret in url_secrets(text):
        remember(secret)


def contains_secret(text: str) -> bool:
    """Whether ``text`` would change under :func:`redact` because of a remembered secret."""
    with _lock:
        return any(s in text for s in _secrets)


class RedactingFormatter(logging.Formatter):
    """A log formatter whose every line, tracebacks included, goes through :func:`redact`."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))
