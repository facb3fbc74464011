"""The strict base model and the value rules several keys share, each written once.

A rule that two keys need (an http(s) address, a Prometheus label name, a
duration) used to be written where each key was, and the copies drifted: one
accepted ``HTTP://`` and the other refused it.  Here each rule is one function
and one message; the models name it in a key's type, so a new key gets the
rule by declaring the type, and ``load`` refuses the value with the key's path.
"""

from __future__ import annotations

import re
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict
from pydantic_core import PydanticCustomError

from slactl import durations


class Strict(BaseModel):
    """Unknown keys, NaN and infinities are refused everywhere; a loaded config never changes."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


# --------------------------------------------------------------------------- addresses

CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # control characters other than tab


def url_problem(value: str) -> str | None:
    """Why ``value`` is not an http(s) address with a host, or None when it is one.

    The scheme is case-insensitive (RFC 3986: ``HTTP://host`` is ``http://host``),
    as it is for httpx, which reads these addresses.
    """
    if CONTROL.search(value) or any(c.isspace() for c in value):
        return "the URL must not contain spaces, line breaks or control characters"
    bad = f"{value!r} is not an http:// or https:// URL with a host"
    try:
        parts = urlsplit(value)
        _ = parts.port  # raises ValueError for a port that is not a number in range
    except ValueError:
        return bad
    return None if parts.scheme.lower() in ("http", "https") and parts.hostname else bad


def _http_url(value: str) -> str:
    problem = url_problem(value)
    if problem is not None:
        raise PydanticCustomError("url", problem)
    return value


def _http_url_or_empty(value: str) -> str:
    return _http_url(value) if value else value


HttpUrl = Annotated[str, AfterValidator(_http_url)]
HttpUrlOrEmpty = Annotated[str, AfterValidator(_http_url_or_empty)]  # "" means "not set"


# --------------------------------------------------------------------------- Prometheus label names

_LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


def label_problem(name: str) -> str | None:
    """Why ``name`` cannot be a Prometheus label name, or None when it can.

    Prometheus label names are ``[a-zA-Z_][a-zA-Z0-9_]*`` (ASCII only, so not
    ``tenänt``), and names starting with ``__`` are reserved for its own use.
    """
    if not _LABEL.fullmatch(name):
        return "not a Prometheus label name (ASCII letters, digits and _, not starting with a digit)"
    if name.startswith("__"):
        return "label names starting with __ are reserved by Prometheus"
    return None


# --------------------------------------------------------------------------- durations, cron, listen


def _duration(v: str) -> str:
    try:
        durations.seconds(v)
    except ValueError as exc:
        raise PydanticCustomError("duration", str(exc)) from None
    return v


def _cron(v: str) -> str:
    try:
        durations.normalise_cron(v)
    except ValueError as exc:
        raise PydanticCustomError("cron", f"not a valid cron expression: {exc}") from None
    return v


def split_listen(text: str) -> tuple[str, int]:
    """``host:port`` (``[::1]:9464`` for IPv6, ``:9464`` for every interface); ValueError otherwise."""
    host, sep, port = text.strip().rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) <= 65535 or (":" in host and not host.startswith("[")):
        raise ValueError(f"{text!r} is not HOST:PORT like 127.0.0.1:9464")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    return host or "0.0.0.0", int(port)


def _listen(v: str) -> str:
    try:
        split_listen(v)
    except ValueError as exc:
        raise PydanticCustomError("listen", str(exc)) from None
    return v


Duration = Annotated[str, AfterValidator(_duration)]
Cron = Annotated[str, AfterValidator(_cron)]
Listen = Annotated[str, AfterValidator(_listen)]
