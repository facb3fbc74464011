"""Config text built from values slactl did not choose, such as the series ``slactl init`` finds.

A label value on a Prometheus server is data, and whoever can push a series
chooses it.  Written into a YAML file as it came, a line break ends a comment
or a scalar and the rest of the value is read as keys: a whole service the
operator never asked for.  Written into a PromQL string unescaped, a quote ends
the matcher.  So values from outside reach a config file only through here:

- :func:`yaml_scalar` and :func:`yaml_key`: PyYAML's own emitter writes a
  double-quoted scalar, with every line break YAML knows (``\\n``, ``\\r``,
  U+0085, U+2028, U+2029) and every control character escaped, on one line;
- :func:`promql_string` and :func:`selector`: a PromQL string literal with Go's
  escapes, and a selector that is parsed back and must give exactly the
  matchers it was built from, or is refused with the reason;
- :func:`one_line`: text for a comment or a message, on one line, with
  anything unprintable escaped and its length bounded.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import promql_parser
import yaml

from slactl.config.values import label_problem

# A classic metric name: what slactl's queries write bare before ``{``.  Prometheus 3
# also stores UTF-8 names (``my.metric``), selected only as ``{"my.metric"}``.
CLASSIC_METRIC = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_NO_WRAP = 2**31 - 1
_OPS = {"Equal": "=", "NotEqual": "!=", "Re": "=~", "NotRe": "!~"}
_GO_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}

Matcher = tuple[str, str, str]  # (label, op, value), op one of = != =~ !~


class Unwritable(ValueError):
    """A value that cannot be written as a selector that reads back the same; the message says why."""


def yaml_scalar(value: str) -> str:
    """``value`` as a double-quoted YAML scalar on one line, for any text."""
    text = yaml.safe_dump(value, default_style='"', allow_unicode=True, width=_NO_WRAP, explicit_end=False)
    text = text.removesuffix("\n")
    if "\n" in text or not text.startswith('"'):  # PyYAML's emitter changed: refuse rather than write
        raise AssertionError(f"PyYAML wrote {value!r} as {text!r}, not one double-quoted line")
    return text


def yaml_key(name: str) -> str:
    """``name`` as a mapping key: plain when YAML reads it back as the same string, else quoted.

    ``on``, ``null`` or ``123`` written plain would be a boolean, nothing or a number.
    """
    if re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_-]*", name) and yaml.safe_load(f"{name}: 0") == {name: 0}:
        return name
    return yaml_scalar(name)


def promql_string(value: str) -> str:
    """A PromQL double-quoted string literal of ``value`` (Go's escapes; unprintables as ``\\uXXXX``)."""
    out = []
    for ch in value:
        if ch in _GO_ESCAPES:
            out.append(_GO_ESCAPES[ch])
        elif ch.isprintable():
            out.append(ch)
        elif ord(ch) <= 0xFFFF:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    return '"' + "".join(out) + '"'


def metric_problem(metric: str) -> str | None:
    """Why ``metric`` cannot be written bare before ``{`` in a selector, or None when it can."""
    if CLASSIC_METRIC.fullmatch(metric):
        return None
    if not metric:
        return "the series has no metric name"
    if metric[:1].isdigit():
        return "the metric name starts with a digit, which PromQL cannot select"
    return "the metric name is not a classic PromQL name (a Prometheus 3 UTF-8 name), which slactl's queries cannot select"


def selector(metric: str, matchers: Sequence[Matcher]) -> str:
    """``metric{label="value",…}``, checked to parse back to exactly ``metric`` and ``matchers``.

    Raises :class:`Unwritable` naming the reason when it cannot be written so.
    """
    problem = metric_problem(metric)
    if problem:
        raise Unwritable(problem)
    for label, op, value in matchers:
        if label_problem(label) or op not in _OPS.values():
            raise Unwritable(f"the label name {one_line(label)!r} cannot be selected")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise Unwritable(f"the value of label {label!r} is not valid UTF-8") from None
    parts = [f"{label}{op}{promql_string(value)}" for label, op, value in matchers]
    text = f"{metric}{{{','.join(parts)}}}" if parts else metric
    try:
        expr = promql_parser.parse(text)
    except ValueError:
        raise Unwritable(f"{metric!r} is a PromQL keyword, not a selectable metric name") from None
    if not isinstance(expr, promql_parser.VectorSelector) or expr.name != metric:
        raise Unwritable(f"{metric!r} does not read back as a metric name")
    back = sorted((m.name, _OPS.get(str(m.op).rsplit(".", 1)[-1], "?"), m.value) for m in expr.matchers.matchers)
    if back != sorted(matchers):
        raise Unwritable("the selector does not read back with the same label values")
    return text


def one_line(text: str, limit: int = 120) -> str:
    """``text`` for a comment or a message: whitespace runs (line breaks too) as one space,
    other unprintable characters escaped, at most ``limit`` characters (then ``…``)."""
    squeezed = " ".join(text[: 4 * limit + 16].split())  # a long text is cut before it is split
    shown = "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in squeezed)
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"
