"""The configuration file (SPEC section 1), validated completely on load.

A typo must fail at ``slactl validate`` and not at 3 AM, so every key is checked
(unknown keys rejected), every reference resolved (sources, tiers, services) and
every PromQL selector parsed.  Errors name the file, the key path and the problem.
The models themselves are in :mod:`slactl.config.models` and re-exported here.
"""

from __future__ import annotations

import os
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import promql_parser
from pydantic import ValidationError

from slactl.config.checks import check_values, environment_problems  # noqa: F401  (re-exported)
from slactl.config.messages import validation_error
from slactl.config.models import (  # noqa: F401  (re-exported: the config's public models)
    Alerts,
    Availability,
    BasicAuth,
    BusinessDashboard,
    CloudWatchSource,
    Config,
    CreditRow,
    Customer,
    Dashboards,
    Latency,
    Maintenance,
    MetricSpec,
    PrometheusSource,
    Publish,
    PublishTarget,
    S3Target,
    SampleSource,
    Schedule,
    Selector,
    Service,
    SourceConfig,
    StatusPage,
    Tier,
    percentile_q,
)
from slactl.config.yamlread import decode, load_yaml
from slactl.errors import ConfigError

DEFAULT_FILE = "slactl.yaml"
ENV_VAR = "SLACTL_CONFIG"


# --------------------------------------------------------------------------- loading


def find_config(explicit: str | os.PathLike[str] | None) -> Path:
    """``--config``, else ``$SLACTL_CONFIG``, else ``./slactl.yaml``."""
    if explicit:
        return Path(explicit)
    env = os.environ.get(ENV_VAR)
    return Path(env) if env else Path(DEFAULT_FILE)


def load(path: str | os.PathLike[str]) -> Config:
    """Read, validate and cross-check a config file; raise ConfigError naming the key."""
    p = Path(path)
    shown = str(p)
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise ConfigError("file not found (give --config PATH or set SLACTL_CONFIG)", path=shown) from None
    except IsADirectoryError:
        raise ConfigError("is a folder; give the config file", path=shown) from None
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", path=shown) from exc
    return parse(decode(data, shown), base_dir=p.resolve().parent, source_file=shown)


def parse(text: str, *, base_dir: Path, source_file: str = "<config>") -> Config:
    raw = load_yaml(text, source_file)
    if not isinstance(raw, dict):
        raise ConfigError("the file must be a mapping of keys, like `sources:`, `tiers:`, `services:`", path=source_file)
    raw = dict(raw, base_dir=base_dir, source_file=source_file)
    try:
        cfg = Config.model_validate(raw)
    except ValidationError as exc:
        raise validation_error(exc, source_file) from None
    _check_zone(cfg)
    cfg = _localise_maintenance(cfg)
    check_references(cfg)
    check_values(cfg)
    return cfg


def _check_zone(cfg: Config) -> None:
    try:
        ZoneInfo(cfg.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"unknown IANA time zone {cfg.timezone!r}", path=cfg.source_file, key="timezone") from None


def _localise_maintenance(cfg: Config) -> Config:
    """Maintenance times written without an offset are in the config's time zone."""
    zone = cfg.zone
    fixed = []
    for i, m in enumerate(cfg.maintenance):
        start = m.start if m.start.tzinfo else m.start.replace(tzinfo=zone)
        end = m.end if m.end.tzinfo else m.end.replace(tzinfo=zone)
        if end <= start:
            raise ConfigError("end must be after start", path=cfg.source_file, key=f"maintenance[{i}]")
        fixed.append(m.model_copy(update={"start": start, "end": end}))
    return cfg.model_copy(update={"maintenance": fixed})


def check_references(cfg: Config) -> None:
    """Every name refers to something defined, and every selector parses."""
    f = cfg.source_file

    def fail(key: str, msg: str) -> None:
        raise ConfigError(msg, path=f, key=key)

    if not cfg.services:
        fail("services", "define at least one service")
    for name, svc in cfg.services.items():
        key = f"services.{name}"
        src = cfg.sources.get(svc.source)
        if src is None:
            fail(f"{key}.source", f"unknown source {svc.source!r} (defined: {', '.join(cfg.sources) or 'none'})")
            continue
        wants_spec = isinstance(src, CloudWatchSource)
        for form in ("errors", "total", "probe"):
            value = getattr(svc.availability, form)
            if value is None:
                continue
            fkey = f"{key}.availability.{form}"
            if wants_spec and not isinstance(value, MetricSpec):
                fail(fkey, "a CloudWatch source needs a metric spec {namespace, metric, dimensions, stat}")
            if not wants_spec:
                if isinstance(value, MetricSpec):
                    fail(fkey, f"a {src.type} source needs a PromQL selector, not a metric spec")
                check_selector(value, f, fkey)
        if svc.latency is not None:
            if wants_spec and svc.latency.metric is None:
                fail(f"{key}.latency", "a CloudWatch source needs latency.metric")
            if not wants_spec:
                if svc.latency.histogram is None:
                    fail(f"{key}.latency", f"a {src.type} source needs latency.histogram")
                else:
                    check_selector(svc.latency.histogram, f, f"{key}.latency.histogram")
        if svc.group_by and wants_spec:
            fail(f"{key}.group_by", "group_by needs a Prometheus source")
    for name, cust in cfg.customers.items():
        key = f"customers.{name}"
        if cust.tier not in cfg.tiers:
            fail(f"{key}.tier", f"unknown tier {cust.tier!r} (defined: {', '.join(cfg.tiers) or 'none'})")
        if not cust.services:
            fail(f"{key}.services", "list at least one service")
        for i, s in enumerate(cust.services):
            if s not in cfg.services:
                fail(f"{key}.services[{i}]", f"unknown service {s!r}")
        grouped = {lbl for s in cust.services if s in cfg.services for lbl in cfg.services[s].group_by}
        for label in cust.match:
            if label not in grouped:
                fail(f"{key}.match.{label}", "no service of this customer has this label in group_by")
        for s in cust.services:
            if cfg.services[s].group_by and not set(cfg.services[s].group_by) & set(cust.match):
                fail(f"{key}.match", f"service {s!r} is split by {cfg.services[s].group_by}: match one of them")
    for metric, selector in cfg.dashboards.business.model_dump().items():
        check_selector(selector, f, f"dashboards.business.{metric}")
    for i, m in enumerate(cfg.maintenance):
        for j, s in enumerate(m.services or []):
            if s not in cfg.services:
                fail(f"maintenance[{i}].services[{j}]", f"unknown service {s!r}")
    for name, tier in cfg.tiers.items():
        belows = [row.below for row in tier.credits]
        if len(set(belows)) != len(belows):
            fail(f"tiers.{name}.credits", "two rows have the same 'below'")


def check_selector(text: str, source_file: str, key: str) -> None:
    """A selector must parse as a plain PromQL vector selector (slactl adds functions)."""
    try:
        expr = promql_parser.parse(text)
    except ValueError as exc:
        raise ConfigError(f"PromQL syntax error in {text!r}: {exc}", path=source_file, key=key) from None
    if not isinstance(expr, promql_parser.VectorSelector):
        raise ConfigError(
            f"{text!r} must be a plain vector selector like metric{{label=\"value\"}}; "
            "slactl adds rate() and windows itself",
            path=source_file,
            key=key,
        )
    if expr.offset is not None or expr.at is not None:
        # slactl evaluates each minute at its own end; a shifted selector inside a
        # range function is refused by Prometheus (and would measure another time).
        raise ConfigError(
            f"{text!r}: remove `offset` and `@` from the selector; slactl picks the times itself",
            path=source_file,
            key=key,
        )


def check_environment(cfg: Config, environ: dict[str, str] | None = None) -> None:
    """Refuse to start when a secret the config names is not in the environment."""
    problems = environment_problems(cfg, environ)
    if problems:
        raise ConfigError(problems[0], path=cfg.source_file)
