"""``slactl init``: a commented starter config from the SLIs found on a live Prometheus.

The file is a starting point a person edits, so it explains itself: each
service says which series it came from and why, and the parts slactl cannot
guess (tiers, customers, latency targets) are filled with common values and
marked for review.  It is loaded with the same strict loader as any config
before it is written, so what ``init`` writes always validates.

Everything the server sent is data: a label value reaches the file only as a
quoted YAML scalar inside a PromQL string, both escaped by
:mod:`slactl.config.emit`, and comments show it only on one escaped line.  The
loaded file must then hold exactly the services and selectors meant, or
nothing is written.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

from slactl.app.summary import count
from slactl.config import Config, parse
from slactl.config.emit import one_line, yaml_key, yaml_scalar
from slactl.config.emit import selector as _selector
from slactl.errors import ConfigError, SourceError
from slactl.redact import redact
from slactl.sources.prometheus.discovery import Discovery, Found, client, discover


def selector(metric: str, labels: tuple[tuple[str, str], ...], extra: tuple[str, str, str] | None = None) -> str:
    """``metric{job="x",code=~"5.."}`` with label values escaped as PromQL strings (checked to read back)."""
    matchers = [(k, "=", v) for k, v in labels] + ([extra] if extra else [])
    return _selector(metric, matchers)


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


def _selectors(f: Found) -> dict[str, str]:
    """The selectors a service of ``f`` is written with, by key below the service."""
    if f.kind != "ratio":
        return {"availability.probe": selector(f.metric, f.labels)}
    out = {
        "availability.errors": selector(f.metric, f.labels, (f.code_label, "=~", "5..")),
        "availability.total": selector(f.metric, f.labels),
    }
    if f.histogram:
        out["latency.histogram"] = selector(f.histogram, f.labels)
    return out


def _service(name: str, f: Found) -> list[str]:
    job = one_line(f.job, 60)
    if f.kind == "ratio":
        shown = ", ".join(f.codes[:8]) + (", …" if len(f.codes) > 8 else "")
        lines = [f"  # job {job!r}: {f.metric} counts requests by `{f.code_label}` ({shown}); 5xx are errors."]
    elif f.metric == "probe_success":
        target = one_line(dict(f.labels).get("instance", "?"), 80)
        lines = [f"  # blackbox probe of {target} (job {job!r}): up while probe_success is 1."]
    else:
        lines = [f"  # job {job!r}: up while Prometheus can scrape its targets (`up`)."]
    lines += [f"  {yaml_key(name)}:", "    source: prom"]
    section = ""
    for key, text in _selectors(f).items():
        part, field = key.split(".")
        if part != section:
            lines.append(f"    {part}:")
            section = part
        lines.append(f"      {field}: {yaml_scalar(text)}")
    return lines


def starter_config(url: str, found: list[Found], now: datetime) -> str:
    """The YAML text of a starter config for ``found`` on ``url``."""
    names = service_names(found)
    ratio = sum(1 for f in found if f.kind == "ratio")
    out = [
        f"# slactl starter configuration, discovered on {one_line(redact(url), 200)} on {now:%Y-%m-%d}.",
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
        f"    url: {yaml_scalar(url.rstrip('/'))}",
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


def discover_config(url: str, now: datetime, out: Path, *, timeout: float = 60) -> tuple[str, Discovery]:
    """Ask the server, build the starter config and check it loads as meant; nothing is written here."""
    found = discover(client(url, timeout=timeout))
    if not found.found:
        skipped = f" ({count(len(found.skipped), 'series', 'series')} skipped)" if found.skipped else ""
        raise SourceError(
            f"found no candidate SLIs on {url}{skipped}: no request counters with a status code, no probe_success, no up"
        )
    text = starter_config(url, found.found, now)
    check_starter(text, found.found, out)
    return text, found


def check_starter(text: str, found: list[Found], out: Path) -> Config:
    """The config ``text`` loads and has exactly one service per ``found``, with exactly its selectors.

    A failure here is a bug in slactl, not in the user's file: it names no file
    (nothing was written) and stops before anything reaches the disk.
    """
    try:
        cfg = parse(text, base_dir=out.resolve().parent, source_file="the starter config")
    except ConfigError as exc:
        raise AssertionError(f"the starter config built from the server does not load ({exc}); nothing was written") from None
    names = service_names(found)
    if list(cfg.services) != names:
        raise AssertionError(f"the starter config has services {list(cfg.services)}, not {names}; nothing was written")
    for name, f in zip(names, found, strict=True):
        svc = cfg.services[name]
        for key, want in _selectors(f).items():
            part, field = key.split(".")
            got = getattr(getattr(svc, part), field)
            if got != want:
                raise AssertionError(f"services.{name}.{key} reads {got!r}, not {want!r}; nothing was written")
    return cfg
