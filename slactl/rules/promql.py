"""Rule files as bytes: deterministic YAML with PromQL as readable literal blocks.

The expressions themselves (error ratio, minute state, burn windows) and the exact
number formatting live in :mod:`slactl.promql`.
"""

from __future__ import annotations

from typing import Any

import yaml


def humanize_percentage(value: float) -> str:
    """What Prometheus' ``humanizePercentage`` template function prints (``%.4g%%``)."""
    return f"{value * 100:.4g}%"


class _Dumper(yaml.SafeDumper):
    """Safe YAML with multi-line strings (PromQL) as literal blocks, for readable diffs."""


def _str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _str)


def dump(doc: Any, header: str = "") -> bytes:
    """Deterministic YAML bytes: keys in insertion order, no line wrapping."""
    body = yaml.dump(
        doc,
        Dumper=_Dumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=1 << 16,
    )
    return (header + body).encode("utf-8")
