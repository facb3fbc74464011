"""``slactl init``: a commented starter config from the SLIs found on a live Prometheus.

The file is a starting point a person edits, so it explains itself: each
service says which series it came from and why, and the parts slactl cannot
guess (tiers, customers, latency targets) are filled with common values and
marked for review.  It is loaded with the same strict loader as any config
before it is written, so what ``init`` writes always validates.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

from slactl.app.summary import count
from slactl.config import parse
from slactl.errors import SourceError
from slactl.sources.prometheus.discovery import Found, client, discover


def _promql_str(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def selector(metric: str, labels: tuple[tuple[str, str], ...], extra: str = "") -> str:
    """``metric{job="x",code=~"5.."}`` with label values escaped as PromQL strings."""
    parts = [f"{k}={_promql_str(v)}" for k, v in labels]
    if extra:
        parts.append(extra)
    return f"{metric}{{{','.join(parts)}}}" if parts else metric


def _yaml_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _slug(text: str) -> str:
    text = re.sub(r"^[a-z]+://", "", text.lower())
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")[:48] or "service"


def service_names(found: list[Found]) -> list[str]:
    """Short, unique, readable keys: the job, plus the metric or target when a job has several."""
    per_job: dict[str, int] = {}
    for f in found:
        per_job[f.job] = per_job.get(f.job, 0) + 1
    names: list[str] = []
    for f in found:
        if f.kind == "probe" and f.metric == "probe_success":
            base = _slug(dict(f.labels).get("instance", "") or f.job)
        elif per_job[f.job] == 1:
            base = _slug(f.job or f.metric)
        else:
            base = _slug(f"{f.job}-{f.metric.removesuffix('_total')}")
        name, n = base, 2
        while name in names:
            name, n = f"{base}-{n}", n + 1
        names.append(name)
    return names


def _service(name: str, f: Found) -> list[str]:
    lines = []
    if f.kind == "ratio":
        shown = ", ".join(f.codes[:8]) + (", …" if len(f.codes) > 8 else "")
        lines.append(f"  # job {f.job!r}: {f.metric} counts requests by `{f.code_label}` ({shown}); 5xx are errors.")
    elif f.metric == "probe_success":
        target = dict(f.labels).get("instance", "?")
        lines.append(f"  # blackbox probe of {target} (job {f.job!r}): up while probe_success is 1.")
    else:
        lines.append(f"  # job {f.job!r}: up while Prometheus can scrape its targets (`up`).")
    lines += [f"  {name}:", "    source: prom", "    availability:"]
    if f.kind == "ratio":
        five_xx = f.code_label + '=~"5.."'
        lines.append(f"      errors: {_yaml_str(selector(f.metric, f.labels, five_xx))}")
        lines.append(f"      total: {_yaml_str(selector(f.metric, f.labels))}")
        if f.histogram:
            lines += ["    latency:", f"      histogram: {_yaml_str(selector(f.histogram, f.labels))}"]
    else:
        lines.append(f"      probe: {_yaml_str(selector(f.metric, f.labels))}")
    return lines


def starter_config(url: str, found: list[Found], now: datetime) -> str:
    """The YAML text of a starter config for ``found`` on ``url``."""
    names = service_names(found)
    ratio = sum(1 for f in found if f.kind == "ratio")
    out = [
        f"# slactl starter configuration, discovered on {url} on {now:%Y-%m-%d}.",
        f"# {count(len(found), 'candidate service')}: {ratio} from request counters, "
        f"{len(found) - ratio} from probes or `up`.",
        "# Review it: keep the services you promise to customers, rename them, set your tiers.",
        "# Check it with `slactl validate`; every key is described in docs/configuration.md.",
        "# For completion in your editor, run `slactl config schema --out slactl.schema.json`",
        "# and make this the first line:  # yaml-language-server: $schema=./slactl.schema.json",
        "",
        "timezone: UTC                     # calendar months are cut in this IANA zone",
        "store: sqlite:///slactl.db        # the per-minute store, next to this file",
        "",
        "sources:",
        "  prom:",
        "    type: prometheus",
        f"    url: {_yaml_str(url.rstrip('/'))}",
        "",
        "tiers:                            # what you promise; credits are percent of the monthly fee",
        "  standard:",
        "    uptime_target: 99.9",
        "    credits:",
        "      - {below: 99.9, percent: 10}",
        "      - {below: 99.0, percent: 25}",
        "      - {below: 95.0, percent: 100}",
        "",
        "latency_targets_seconds: {p95: 0.5, p99: 1.0}   # judged for services with a histogram",
        "",
        "services:",
    ]
    for name, f in zip(names, found, strict=True):
        out += _service(name, f)
    out += [
        "",
        "# Customers owed credits (see docs/configuration.md), e.g.:",
        "# customers:",
        "#   acme:",
        "#     tier: standard",
        '#     monthly_fee: "1000.00"',
        "#     currency: USD",
        f"#     services: [{names[0]}]",
        "",
    ]
    return "\n".join(out)


def discover_config(url: str, now: datetime, out: Path, *, timeout: float = 30) -> tuple[str, list[Found]]:
    """Ask the server, build the starter config and check it loads; nothing is written here."""
    found = discover(client(url, timeout=timeout))
    if not found:
        raise SourceError(f"found no candidate SLIs on {url}: no request counters with a status code, no probe_success, no up")
    text = starter_config(url, found, now)
    parse(text, base_dir=out.resolve().parent, source_file=str(out))  # a bug here must not reach the user's disk
    return text, found
