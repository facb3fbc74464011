"""Pydantic's validation errors, told as a person would: key path, problem, a suggestion.

Pydantic reports every problem it finds, in model order, with its own
wording ("Value error, …", "Extra inputs are not permitted").  A misspelt key
then shows up first as the *missing* key it was meant to be.  Here the
unknown key is reported first, with the closest allowed key, and library
prefixes are removed, so the one line the CLI prints names the real cause.
"""

from __future__ import annotations

import difflib
import types
import typing
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from slactl.config.models import Config
from slactl.errors import ConfigError

# Pydantic puts union member names and discriminator tags into locations.
_UNION_TAGS = {"prometheus", "cloudwatch", "sample", "str", "MetricSpec"}
_PREFIXES = ("Value error, ", "Assertion failed, ")
# Shown first: the cause, not its consequences.
_RANK = {"extra_forbidden": 0, "union_tag_invalid": 1, "union_tag_not_found": 1, "missing": 3}


def validation_error(exc: ValidationError, source_file: str) -> ConfigError:
    """The most telling problem of ``exc`` as one ConfigError (plus how many more there are)."""
    errors = sorted(exc.errors(), key=lambda e: _RANK.get(e["type"], 2))
    first = errors[0]
    loc = tuple(first["loc"])
    key = key_path(loc)
    msg = _strip(first["msg"])
    kind = first["type"]
    if kind == "extra_forbidden":
        msg = f"unknown key `{loc[-1]}`{_did_you_mean(str(loc[-1]), allowed_keys(loc[:-1]))}"
    elif kind == "missing":
        msg = "required key is missing"
    elif kind == "union_tag_invalid":
        ctx = first.get("ctx") or {}
        tags = [t.strip(" '") for t in str(ctx.get("expected_tags", "")).split(",") if t.strip()]
        got = str(ctx.get("tag", ""))
        msg = f"unknown type {got!r}{_did_you_mean(got, tags, quote=True)}; one of: {', '.join(tags)}"
        key = _join(key, "type")
    elif kind in ("model_type", "model_attributes_type", "dict_type"):
        msg = "must be a mapping of keys (key: value), not " + _shown(first.get("input"))
    elif kind == "union_tag_not_found":
        msg = "needs a `type:` (prometheus, cloudwatch or sample)"
    more = len(errors) - 1
    extra = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
    return ConfigError(msg + extra, path=source_file, key=key or None)


def _shown(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "empty"
    return repr(value)


def _strip(msg: str) -> str:
    for prefix in _PREFIXES:
        if msg.startswith(prefix):
            return msg[len(prefix) :]
    if msg.startswith("Decimal input should be"):
        return 'must be a decimal number, like "1000.00"'
    if msg.startswith("Input should be "):  # pydantic's voice: say what the key must be
        msg = "must be " + msg[len("Input should be ") :]
        if msg.startswith("must be a valid "):
            msg = msg.split(",", 1)[0]  # the parser's detail ("unable to parse string …") adds nothing
        return _PLAIN.get(msg, msg)
    return msg


_PLAIN = {
    "must be a valid boolean": "must be true or false",
    "must be a valid datetime": "must be an ISO 8601 time like 2026-01-17T02:00:00Z",
}


def _join(key: str, child: str) -> str:
    return f"{key}.{child}" if key else child


def _did_you_mean(word: str, allowed: list[str], *, quote: bool = False) -> str:
    close = difflib.get_close_matches(word, allowed, n=1, cutoff=0.6)
    if not close:
        return ""
    return f" (did you mean {close[0]!r}?)" if quote else f" (did you mean `{close[0]}`?)"


def key_path(loc: tuple[Any, ...]) -> str:
    """``("services", "api", "availability", "str")`` → ``services.api.availability``."""
    parts: list[str] = []
    for i, item in enumerate(loc):
        s = str(item)
        if i > 0 and (s in _UNION_TAGS or "[" in s):
            if not (parts and parts[0] == "services" and s == "str" and i == len(loc) - 1):
                continue
        parts.append(s if not isinstance(item, int) else f"[{item}]")
    return ".".join(parts).replace(".[", "[")


def _unwrap(tp: Any) -> list[Any]:
    """The concrete types a (possibly optional, annotated or union) annotation stands for."""
    origin = get_origin(tp)
    if origin is typing.Annotated:
        return _unwrap(get_args(tp)[0])
    if origin in (Union, types.UnionType):
        return [t for arg in get_args(tp) for t in _unwrap(arg) if t is not type(None)]
    return [tp]


def _tag(model: type[BaseModel]) -> str | None:
    field = model.model_fields.get("type")
    if field is not None and get_origin(field.annotation) is Literal:
        return str(get_args(field.annotation)[0])
    return None


def allowed_keys(loc: tuple[Any, ...]) -> list[str]:
    """The keys the models accept at ``loc`` (empty when it cannot be told)."""
    current: list[Any] = [Config]
    for item in loc:
        nxt: list[Any] = []
        models = [t for c in current for t in _unwrap(c)]
        tagged = [m for m in models if isinstance(m, type) and issubclass(m, BaseModel) and _tag(m) == item]
        if tagged or (isinstance(item, str) and item in _UNION_TAGS):
            current = tagged or [m for m in models if getattr(m, "__name__", "") == item] or models
            continue
        for tp in models:
            origin = get_origin(tp)
            if isinstance(tp, type) and issubclass(tp, BaseModel):
                field = tp.model_fields.get(str(item))
                if field is not None:
                    nxt.append(field.annotation)
            elif origin is dict:
                nxt.append(get_args(tp)[1])
            elif origin is list and isinstance(item, int):
                nxt.append(get_args(tp)[0])
        current = nxt
    keys: list[str] = []
    for tp in (t for c in current for t in _unwrap(c)):
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            keys += [name for name, f in tp.model_fields.items() if not f.exclude and name not in keys]
    return keys
