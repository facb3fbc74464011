"""How to reach an HTTP server: a source's auth and TLS, and how much any answer may cost.

The config names secrets by environment variable (``bearer_token_env``,
``basic_auth.password_env``) and CA files by path relative to the config file.
Resolving them here, in one place, means the reader (``sources``), the rule
pusher and the backtest all send the same credentials, and report a missing
variable or CA file with the same key path.

Every answer slactl reads over HTTP (Prometheus, Alertmanager, Grafana) is
data from a server that may be broken or hostile, so the rules for reading one
live here too, once, for every client: a :class:`Body` counts an answer's bytes
(after decompression, so a small gzip bomb counts as what it inflates to) as
they arrive and refuses it past its limit, and :func:`error_text` turns an error
answer (a JSON message, plain text, an HTML error page, 100 KB of anything)
into one short printable line.  No HTTP library is imported: each HTTP adapter
builds its own client from a :class:`Connection` and feeds its bytes to a
:class:`Body`.
"""

from __future__ import annotations

import html
import json
import re
import time
import zlib
from collections.abc import AsyncIterable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from slactl.config import PrometheusSource
from slactl.errors import ConfigError, SlactlError
from slactl.redact import is_credential_header, redact, remember, remember_basic, remember_headers


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


# --------------------------------------------------------------------------- answers

MIB = 1 << 20
PUBLISH_MAX_BYTES = 16 * MIB  # Alertmanager, Grafana, Prometheus' /-/reload: their answers are small
ERROR_BYTES = 64 * 1024  # of an error answer only this much is read: its message is at the start
ERROR_CHARS = 200  # what a one-line message quotes of a server's error
PIECE_BYTES = 1 << 20  # inflated at a time, so one small chunk never becomes one huge bytes object
ACCEPT_ENCODING = "gzip, deflate"  # what a Body can inflate; ask for "identity" where bytes are free
LATE = "did not finish its answer in time"  # what a Body past its deadline gives ``refuse``


def size_text(n: int) -> str:
    """``268435456`` → ``256 MiB``: a limit as a person reads it."""
    for unit, scale in (("GiB", 1 << 30), ("MiB", MIB), ("KiB", 1 << 10)):
        if n >= scale and n % scale == 0:
            return f"{n // scale} {unit}"
    return f"{n:,} bytes"


class Budget:
    """Bytes held at once by every answer of one client in flight: concurrent answers share one limit."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.held = 0


class Body:
    """One answer's bytes as they arrive: inflated, counted, refused past their limit or deadline.

    ``refuse(why)`` builds the error to raise (the caller names the server and
    the setting that sets the limit).  ``budget``, when given, is shared with
    the client's other answers in flight; :meth:`release` gives the bytes back.
    With ``truncate`` (an error answer, read for its message) a full body stops
    reading instead of failing: :meth:`feed` returns False.  A body that cannot
    be inflated raises ValueError, like any answer that cannot be read.
    """

    def __init__(
        self,
        *,
        limit: int,
        refuse: Callable[[str], SlactlError],
        encoding: str = "",
        ends_at: float | None = None,
        budget: Budget | None = None,
        truncate: bool = False,
    ) -> None:
        self.limit, self.refuse, self.ends_at, self.budget, self.truncate = limit, refuse, ends_at, budget, truncate
        self.size = 0
        self._chunks: list[bytes] = []
        enc = encoding.strip().lower()
        if enc in ("", "identity"):
            self._inflate: zlib._Decompress | None = None
        elif enc in ("gzip", "x-gzip", "deflate"):
            self._inflate = zlib.decompressobj(zlib.MAX_WBITS | 32)  # gzip or zlib, told by the header
        else:
            raise refuse(f"sent its answer in an encoding slactl cannot read (Content-Encoding: {one_line(encoding, 40)})")
        self._raw_deflate = enc == "deflate"  # some servers send deflate without its zlib header

    def feed(self, raw: bytes) -> bool:
        """Take the next bytes off the wire; False once a truncated body is full (stop reading)."""
        if self.ends_at is not None and time.monotonic() > self.ends_at:
            raise self.refuse(LATE)
        if self._inflate is None:
            return self._take(raw)
        data = raw
        while data:
            try:
                piece = self._inflate.decompress(data, min(self._room() + 1, PIECE_BYTES))
            except zlib.error as exc:
                if self._raw_deflate and not self.size:
                    self._raw_deflate = False
                    self._inflate = zlib.decompressobj(-zlib.MAX_WBITS)
                    continue
                raise ValueError(f"the compressed answer cannot be read ({exc})") from None
            if not self._take(piece):
                return False
            data = self._inflate.unconsumed_tail
        return True

    def _room(self) -> int:
        room = self.limit - self.size
        if self.budget is not None:
            room = min(room, self.budget.limit - self.budget.held)
        return max(room, 0)

    def _take(self, piece: bytes) -> bool:
        if not piece:
            return True
        if len(piece) > self._room():
            if self.truncate:
                self._keep(piece[: self._room()])
                return False
            alone = self.size + len(piece) > self.limit
            limit = self.limit if alone or self.budget is None else self.budget.limit
            raise self.refuse(f"sent more than {size_text(limit)}" + ("" if alone else " in answers at once"))
        self._keep(piece)
        return True

    def _keep(self, piece: bytes) -> None:
        self._chunks.append(piece)
        self.size += len(piece)
        if self.budget is not None:
            self.budget.held += len(piece)

    def content(self) -> bytes:
        """Every byte taken, as one ``bytes`` (what the inflater still held included)."""
        if self._inflate is not None:  # the answer has ended: what the inflater still holds is its last bytes
            tail, self._inflate = self._inflate.flush(), None
            self._take(tail)
        if len(self._chunks) != 1:
            self._chunks = [b"".join(self._chunks)]
        return self._chunks[0]

    def release(self) -> None:
        """Let go of the bytes (and give them back to the budget)."""
        if self.budget is not None:
            self.budget.held -= self.size
        self.size = 0
        self._chunks = []


def _body_for(status: int, encoding: str, limit: int, refuse: Callable[[str], SlactlError],
              budget: Budget | None, ends_at: float | None) -> Body:  # fmt: skip
    failed = status >= 400  # an error answer is read for its message only: at most ERROR_BYTES, cut not refused
    return Body(limit=ERROR_BYTES if failed else limit, refuse=refuse, encoding=encoding, ends_at=ends_at,
                budget=None if failed else budget, truncate=failed)  # fmt: skip


async def read_answer(
    status: int, encoding: str, chunks: AsyncIterable[bytes], *, limit: int,
    refuse: Callable[[str], SlactlError], budget: Budget | None = None, ends_at: float | None = None,
) -> Body:  # fmt: skip
    """The answer whose raw bytes (compressed as ``encoding`` says) ``chunks`` yields, read into a :class:`Body`."""
    body = _body_for(status, encoding, limit, refuse, budget, ends_at)
    try:
        async for raw in chunks:
            if not body.feed(raw):
                break
    except BaseException:
        body.release()  # its bytes go back to the budget, whatever stopped the reading
        raise
    return body


def read_answer_sync(
    status: int, encoding: str, chunks: Iterable[bytes], *, limit: int,
    refuse: Callable[[str], SlactlError], budget: Budget | None = None, ends_at: float | None = None,
) -> Body:  # fmt: skip
    """:func:`read_answer` for a synchronous client."""
    body = _body_for(status, encoding, limit, refuse, budget, ends_at)
    try:
        for raw in chunks:
            if not body.feed(raw):
                break
    except BaseException:
        body.release()
        raise
    return body


_TAG = re.compile(r"<[^>]*>")
_TITLE = re.compile(r"(?is)<(title|h1)[^>]*>(.*?)</\1\s*>")
_SCRIPT = re.compile(r"(?is)<(script|style)[^>]*>.*?</\1\s*>")


def one_line(text: str, limit: int = ERROR_CHARS) -> str:
    """``text`` on one line: control characters and runs of whitespace become one space, at most ``limit`` characters."""
    flat = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def error_text(content: bytes, content_type: str = "", *, limit: int | None = ERROR_CHARS) -> str:
    """What an error answer says, as one line of at most ``limit`` characters (None: the whole message).

    A JSON answer gives its message fields (Prometheus' ``errorType`` and
    ``error``, Grafana's ``message``) or its string; an HTML page its title
    (``HTML error page: 502 Bad Gateway``), else its text without tags;
    anything else its text.  Empty when the answer says nothing.
    """
    text = content.decode("utf-8", "replace")
    said = _json_message(text)
    if said is None:
        low = text.lstrip()[:512].lower()
        if "html" in content_type.lower() or low.startswith(("<!doctype html", "<html", "<head", "<body", "<title")):
            found = _TITLE.search(text)
            inner = found.group(2) if found else _TAG.sub(" ", _SCRIPT.sub(" ", text))
            said = "HTML error page: " + html.unescape(_TAG.sub(" ", inner))
        else:
            said = text
    return one_line(said, limit if limit is not None else max(len(said), 1))


WITHHELD = "(the answer's body repeats the request's credentials, so it is not shown)"


def quoted_error(
    content: bytes, content_type: str = "", *, sent: Mapping[str, str] | None = None, limit: int | None = ERROR_CHARS
) -> str:
    """:func:`error_text` with credentials masked before the cut (so none is cut where the mask misses it).

    An answer that echoes a credential header of the request ``sent`` (some
    proxies do), or anything else that looks like a credential, is not quoted
    at all: :data:`WITHHELD`.
    """
    text = content.decode("utf-8", "replace")
    for name, value in (sent or {}).items():
        if is_credential_header(name) and any(len(v) >= 4 and v in text for v in (value, value.split(None, 1)[-1])):
            return WITHHELD
    if redact(text) != text:
        return WITHHELD
    return error_text(content, content_type, limit=limit)


_FIELD = re.compile(r'"(errorType|error|message)"\s*:\s*"((?:[^"\\]|\\.)*)')


def _cut_json_message(text: str) -> str | None:
    """The message fields of a JSON object cut short (only its first ERROR_BYTES were read)."""
    found: dict[str, str] = {}
    for key, raw in _FIELD.findall(text):
        try:
            found.setdefault(key, json.loads(f'"{raw.rstrip(chr(92))}"'))
        except ValueError:  # a cut escape sequence
            found.setdefault(key, raw)
    parts = [found[k] for k in ("errorType", "error", "message") if k in found]
    return " ".join(parts) if parts else None


def _json_message(text: str) -> str | None:
    try:
        body = json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than the parser goes
        return _cut_json_message(text) if text.lstrip().startswith("{") else None
    if isinstance(body, str):
        return body
    if isinstance(body, dict):
        parts = [str(body[k]) for k in ("errorType", "error", "message") if isinstance(body.get(k), str | int | float)]
        if parts:
            return " ".join(parts)
    return text
