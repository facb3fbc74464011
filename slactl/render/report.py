"""Turning a report dict into bytes: JSON (exact, deterministic), Markdown and HTML.

JSON keeps every number unrounded; the human formats round for reading.  The
templates run with autoescape on, since service names and label values come
from users' configs and metrics.
"""

from __future__ import annotations

import json
from typing import Any

import jinja2

_env = jinja2.Environment(
    loader=jinja2.PackageLoader("slactl", "templates"),
    autoescape=jinja2.select_autoescape(["html", "htm", "xml"], default_for_string=False),
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
    undefined=jinja2.StrictUndefined,
)


def to_json(obj: Any) -> bytes:
    """Deterministic JSON: fixed key order as built, no NaN, UTF-8, trailing newline."""
    return (json.dumps(obj, indent=2, ensure_ascii=False, allow_nan=False) + "\n").encode("utf-8")


def fmt_pct(value: float | None, places: int = 3) -> str:
    return "—" if value is None else f"{value:.{places}f}%"


def fmt_ms(value: float | None) -> str:
    return "—" if value is None else f"{value * 1000:.1f} ms"


def fmt_num(value: float | None, places: int = 2) -> str:
    return "—" if value is None else f"{value:.{places}f}"


def fmt_verdict(met: bool | None) -> str:
    return "n/a" if met is None else ("met" if met else "MISSED")


_env.filters.update(pct=fmt_pct, ms=fmt_ms, num=fmt_num, verdict=fmt_verdict)


def report_markdown(report: dict) -> bytes:
    return _env.get_template("report.md.j2").render(r=report).encode("utf-8")


def report_html(report: dict) -> bytes:
    return _env.get_template("report.html.j2").render(r=report).encode("utf-8")
