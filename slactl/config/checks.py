"""Rules across keys and values the models' types cannot express, run by ``load`` after validation.

Each refuses a config that would otherwise pass ``slactl validate`` and fail
later, far from its cause: a service naming a source that does not exist, a
selector Prometheus would refuse inside a generated rule, a header value that
breaks the HTTP request into "cannot connect".  Messages name the key path.
A rule about one value belongs to the value's type (:mod:`slactl.config.values`),
not here, so it is written once.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, NoReturn

import promql_parser

from slactl.config.models import MetricSpec
from slactl.config.ops import CloudWatchSource, PrometheusSource
from slactl.config.values import CONTROL
from slactl.errors import ConfigError

if TYPE_CHECKING:
    from slactl.config.models import Config

_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # an HTTP header name (RFC 9110 token)


# --------------------------------------------------------------------------- references


def check_references(cfg: Config) -> None:
    """Every name refers to something defined, and every selector parses."""
    f = cfg.source_file

    def fail(key: str, msg: str) -> NoReturn:
        raise ConfigError(msg, path=f, key=key)

    if not cfg.services:
        fail("services", "define at least one service")
    for name, svc in cfg.services.items():
        key = f"services.{name}"
        src = cfg.sources.get(svc.source)
        if src is None:
            fail(f"{key}.source", f"unknown source {svc.source!r} (defined: {', '.join(cfg.sources) or 'none'})")
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
        grouped = {lbl for s in cust.services for lbl in cfg.services[s].group_by}
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


# --------------------------------------------------------------------------- values


def check_values(cfg: Config) -> None:
    """Raise ConfigError for the first value that cannot work."""
    for key, problem in _problems(cfg):
        raise ConfigError(problem, path=cfg.source_file, key=key)


def _problems(cfg: Config) -> Iterator[tuple[str, str]]:
    for name, src in cfg.sources.items():
        if not isinstance(src, PrometheusSource):
            continue
        for header, value in src.headers.items():
            if not _TOKEN.fullmatch(header):
                yield f"sources.{name}.headers", f"{header!r} is not a valid HTTP header name"
            if CONTROL.search(value):
                yield f"sources.{name}.headers.{header}", "the value must not contain line breaks or control characters"


# --------------------------------------------------------------------------- environment


def environment_problems(cfg: Config, environ: Mapping[str, str] | None = None) -> list[str]:
    """Secrets the config names by environment variable but the environment lacks.

    ``validate`` only warns (the production environment may have them);
    commands that talk to the sources refuse to start.
    """
    env = os.environ if environ is None else environ
    used = {svc.source for svc in cfg.services.values()}
    out = []
    for name, src in cfg.sources.items():
        if name not in used or not isinstance(src, PrometheusSource):
            continue
        wanted = []
        if src.bearer_token_env:
            wanted.append(("bearer_token_env", src.bearer_token_env))
        if src.basic_auth is not None:
            wanted.append(("basic_auth.password_env", src.basic_auth.password_env))
        for field, var in wanted:
            if not env.get(var):
                out.append(f"sources.{name}.{field}: environment variable {var} is not set")
    return out


def check_environment(cfg: Config, environ: Mapping[str, str] | None = None) -> None:
    """Refuse to start when a secret the config names is not in the environment."""
    problems = environment_problems(cfg, environ)
    if problems:
        raise ConfigError(problems[0], path=cfg.source_file)
