"""``json.dumps(obj, indent=2, ensure_ascii=False, allow_nan=False)``, the same text, faster.

With ``indent`` the standard library encodes in pure Python, one generator per
container, which made writing a report of hundreds of services slow.  The
indented layout puts every item of a non-empty container on a line of its own,
so a container holding only scalars (and empty containers) is the C encoder's
compact text with ``",\\n" + indent`` as item separator and line breaks inside
its brackets.  Most of a report is such containers (minutes, incidents,
verdicts); only the containers above them are walked here in Python.

Only plain ``dict``, ``list``, ``tuple``, ``str``, ``int``, ``float``, ``bool``
and ``None`` take this path, with ``str`` keys where walked in Python; anything
else (subclasses, other types, NaN, cycles) is left to ``json.dumps`` itself, so
its text or its error is exactly the standard library's.
"""

from __future__ import annotations

import json
from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]  # not in typeshed
from typing import Any

_INDENT = "  "
_SCALARS = frozenset({str, int, float, bool, type(None)})
_CONTAINERS = frozenset({dict, list, tuple})
_INFINITE = (float("inf"), float("-inf"))


class _Unusual(Exception):
    """A value the fast path does not handle; ``json.dumps`` encodes the whole object instead."""


def _refuse(o: object) -> object:
    raise _Unusual


def _newline(level: int) -> str:
    return "\n" + _INDENT * level


_NL = [_newline(n) for n in range(64)]
# One C encoder per depth: its item separator is the line break plus that depth's indent.
_FLAT = [
    c_make_encoder(
        None, _refuse, encode_basestring, None, ": ", "," + _NL[n + 1], False, False, False
    )
    if c_make_encoder is not None
    else None
    for n in range(63)
]


def dumps(obj: Any) -> str:
    """The text of ``json.dumps(obj, indent=2, ensure_ascii=False, allow_nan=False)``."""
    if c_make_encoder is not None and type(obj) in _CONTAINERS:
        try:
            return _encode(obj, 0)
        except (_Unusual, ValueError, TypeError, IndexError, RecursionError):
            pass
    return json.dumps(obj, indent=2, ensure_ascii=False, allow_nan=False)


def _flat(values: Any) -> bool:
    """Whether every value is a scalar or an empty container (the C encoder's part)."""
    for v in values:
        t = type(v)
        if t not in _SCALARS and (t not in _CONTAINERS or v):
            return False
    return True


def _scalar(v: Any, t: type) -> str:
    if t is str:
        return encode_basestring(v)
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if t is int:
        return int.__repr__(v)
    if v != v or v in _INFINITE:
        raise _Unusual
    return float.__repr__(v)


def _encode(obj: Any, level: int) -> str:
    """A non-scalar at nesting ``level``, laid out as ``json.dumps`` with ``indent=2`` does."""
    is_dict = type(obj) is dict
    if not obj:
        return "{}" if is_dict else "[]"
    if _flat(obj.values() if is_dict else obj):
        text = "".join(_FLAT[level](obj, 0))  # type: ignore[misc]
        return text[0] + _NL[level + 1] + text[1:-1] + _NL[level] + text[-1]
    items = []
    if is_dict:
        for k, v in obj.items():
            if type(k) is not str:
                raise _Unusual
            t = type(v)
            items.append(
                f"{encode_basestring(k)}: {_scalar(v, t) if t in _SCALARS else _value(v, t, level + 1)}"
            )
    else:
        for v in obj:
            t = type(v)
            items.append(_scalar(v, t) if t in _SCALARS else _value(v, t, level + 1))
    inner = _NL[level + 1]
    body = ("," + inner).join(items)
    return f"{{{inner}{body}{_NL[level]}}}" if is_dict else f"[{inner}{body}{_NL[level]}]"


def _value(v: Any, t: type, level: int) -> str:
    if t not in _CONTAINERS:
        raise _Unusual
    return _encode(v, level)
