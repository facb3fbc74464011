"""SVG elements as text, for the report's charts: fixed decimals, escaped text, byte-stable.

Every chart of every service goes through these, tens of thousands of elements
for a large month, so they write their attributes with f-strings and cache what
repeats (attribute names, class names and colours) rather than escaping anew.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

from markupsafe import Markup, escape

FONT = "system-ui, -apple-system, 'Segoe UI', sans-serif"


def coord(x: float) -> str:
    """A coordinate with two fixed decimals (never ``-0.00``), for byte-stable output."""
    s = f"{x:.2f}"
    return "0.00" if s == "-0.00" else s


@lru_cache(maxsize=256)
def _attr_name(key: str) -> str:
    return "class" if key == "cls" else key.replace("_", "-")


@lru_cache(maxsize=4096)
def _esc(text: str) -> str:
    return str(escape(text))


def _value(v: object) -> str:
    """An attribute's value: numbers with fixed decimals, text escaped (cached, as most are a few
    class names and colours)."""
    if type(v) is str:
        return _esc(v)
    return coord(v) if isinstance(v, int | float) else str(escape(v))


def attributes(attrs: Mapping[str, object]) -> str:
    """`` name="value"`` for each attribute: ``cls`` is ``class``, ``a_b`` is ``a-b``."""
    return "".join([f' {_attr_name(k)}="{_value(v)}"' for k, v in attrs.items()])


def el(tag: str, body: str = "", **attrs: object) -> str:
    """One element; ``cls`` is ``class``, ``a_b`` is ``a-b``, numbers get fixed decimals."""
    a = attributes(attrs)
    return f"<{tag}{a}>{body}</{tag}>" if body else f"<{tag}{a}/>"


def text(
    x: float, y: float, content: str, cls: str = "ch-label", anchor: str = "start", **kw: object
) -> str:
    """A ``<text>`` in the current colour; ``anchor`` other than start becomes ``text-anchor``."""
    kw |= {} if anchor == "start" else {"text_anchor": anchor}
    head = f'<text x="{_value(x)}" y="{_value(y)}" class="{_value(cls)}" fill="currentColor"{attributes(kw)}'
    body = escape(content)
    return f"{head}>{body}</text>" if body else f"{head}/>"


def line(
    x1: float, y1: float, x2: float, y2: float, cls: str, stroke: str = "currentColor", **kw: object
) -> str:
    """A ``<line>`` from (x1, y1) to (x2, y2)."""
    ends = f'x1="{_value(x1)}" y1="{_value(y1)}" x2="{_value(x2)}" y2="{_value(y2)}"'
    return f'<line {ends} class="{_value(cls)}" stroke="{_value(stroke)}"{attributes(kw)}/>'


def title(content: str) -> str:
    """A ``<title>``: the tooltip, and what screen readers say for its group."""
    body = escape(content)
    return f"<title>{body}</title>" if body else "<title/>"


def svg(width: int, height: int, label: str, cls: str, body: list[str]) -> Markup:
    """The chart's root element around ``body``, labelled for screen readers."""
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart {cls}" viewBox="0 0 {width} {height}"'
        f' width="100%" role="img" aria-label="{escape(label)}" font-size="12" font-family="{escape(FONT)}">'
    )
    return Markup(head + "".join(body) + "</svg>")
