"""Recording rules and ``ErrorBudgetBurn`` alerts: multi-window, multi-burn-rate (SPEC 6).

The table is the Google SRE Workbook's for a 30-day budget: a burn-rate factor
``f`` over a long window means ``f × window / 30 d`` of the budget is gone; the
short window (1/12 of the long one) makes the alert stop soon after the burn
stops.  Threshold = ``f × (100 − objective) / 100`` as an exact decimal.

=========  ===========  =============  ======  =========
severity   long window  short window   factor  ``for:``
=========  ===========  =============  ======  =========
page       1h           5m             14.4    2m
page       6h           30m            6       15m
ticket     1d           2h             3       1h
ticket     3d           6h             1       3h
=========  ===========  =============  ======  =========

``for:`` is about half the short window.  The Workbook's scheme needs none, but
without it a single evaluation in which both windows cross (one scrape glitch, a
few failed requests on a quiet service) pages someone; after half the short
window the burn has lasted long enough to be real, and the alert still fires
while the short window holds the burst, so a short strong burst is not missed.
(Sloth emits no ``for:``; its issue #787 asks for one.)

Rules are named in Prometheus' ``level:metric:operations`` style:
``service:slactl_errors:ratio_rate<window>`` holds the error ratio (errors per
request, or failed probes per probe) with a ``service`` label; see
:mod:`slactl.rules.promql` for the exact expression and its no-traffic guard.
One group per service keeps its recording rules and alerts together, so the
alerts read the ratios recorded in the same evaluation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from slactl.config import Config, PrometheusSource
from slactl.rules.promql import (
    PERIOD_DAYS,
    budget,
    error_ratio_expr,
    exact,
    label_value,
    objective_decimal,
    one_line,
    percent,
)

WINDOWS = ("5m", "30m", "1h", "2h", "6h", "1d", "3d")
RECORD_PREFIX = "service:slactl_errors:ratio_rate"
ALERT = "ErrorBudgetBurn"


@dataclass(frozen=True)
class BurnAlert:
    """One row of the multi-window table."""

    severity: str
    long: str
    short: str
    factor: Decimal
    hold: str  # the ``for:`` duration

    @property
    def key(self) -> str:
        return f"{self.long}/{self.short}"


BURN_ALERTS: tuple[BurnAlert, ...] = (
    BurnAlert("page", "1h", "5m", Decimal("14.4"), "2m"),
    BurnAlert("page", "6h", "30m", Decimal("6"), "15m"),
    BurnAlert("ticket", "1d", "2h", Decimal("3"), "1h"),
    BurnAlert("ticket", "3d", "6h", Decimal("1"), "3h"),
)

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def seconds(duration: str) -> int:
    """``"2m"`` → 120 (the simple durations this module writes)."""
    return int(duration[:-1]) * _UNITS[duration[-1]]


def table(hold: dict[str, str] | None = None) -> tuple[BurnAlert, ...]:
    """The table, with ``for:`` replaced per ``long/short`` key (tests shorten it)."""
    if not hold:
        return BURN_ALERTS
    return tuple(replace(a, hold=hold.get(a.key, a.hold)) for a in BURN_ALERTS)


def record_name(window: str) -> str:
    return f"{RECORD_PREFIX}{window}"


def rule_services(cfg: Config) -> tuple[list[str], dict[str, str]]:
    """Services that get rules (Prometheus sources) and why the others do not."""
    names: list[str] = []
    skipped: dict[str, str] = {}
    for name, svc in cfg.services.items():
        src = cfg.sources[svc.source]
        if isinstance(src, PrometheusSource):
            names.append(name)
        else:
            skipped[name] = f"source '{svc.source}' is {src.type}: alert rules are generated for Prometheus sources only"
    return names, skipped


def threshold(cfg: Config, service: str, alert: BurnAlert) -> Decimal:
    return alert.factor * budget(cfg.objective_for(service))


def condition(cfg: Config, service: str, alert: BurnAlert, *, inline: bool = False) -> str:
    """The alert's condition: long and short window both above the threshold.

    ``inline`` writes the ratio expressions themselves instead of the recording
    rules, for evaluating over history the rules were not recording (backtest).
    The long window comes first, so the alert's value is the long-window ratio.
    """
    thr = exact(threshold(cfg, service, alert))
    if inline:
        svc = cfg.services[service]
        parts = [one_line(error_ratio_expr(svc, w)) for w in (alert.long, alert.short)]
        return f"({parts[0]}) > {thr}\nand\n({parts[1]}) > {thr}"
    sel = f'{{service="{label_value(service)}"}}'
    return f"{record_name(alert.long)}{sel} > {thr}\nand\n{record_name(alert.short)}{sel} > {thr}"


def annotations(cfg: Config, service: str, alert: BurnAlert) -> dict[str, str]:
    """summary, description and (where configured) runbook_url of one burn alert."""
    objective = objective_decimal(cfg.objective_for(service))
    b = budget(cfg.objective_for(service))
    days = (Decimal(PERIOD_DAYS) / alert.factor).quantize(Decimal("0.1"))
    described = cfg.services[service].description
    who = f"{service} ({described})" if described else service
    out = {
        "summary": f"{service} is burning its error budget faster than {exact(alert.factor)}x the sustainable rate",
        "description": (
            f"The error ratio of {who} is {{{{ $value | humanizePercentage }}}} over the last "
            f"{alert.long} and also above {percent(threshold(cfg, service, alert))} over the last "
            f"{alert.short}, which is {exact(alert.factor)}x the {percent(b)} error budget of its "
            f"{exact(objective)}% objective. At this rate the {PERIOD_DAYS}-day budget is spent in "
            f"{exact(days)} days."
        ),
    }
    if cfg.alerts.runbook_base_url:
        out["runbook_url"] = f"{cfg.alerts.runbook_base_url.rstrip('/')}/{ALERT}"
    return out


def alert_labels(service: str, alert: BurnAlert) -> dict[str, str]:
    return {
        "service": service,
        "severity": alert.severity,
        "long_window": alert.long,
        "short_window": alert.short,
    }


def service_group(cfg: Config, service: str, alerts: Sequence[BurnAlert] = BURN_ALERTS) -> dict[str, Any]:
    """The rule group of one service: its seven recording rules, then its four alerts."""
    svc = cfg.services[service]
    rules: list[dict[str, Any]] = [
        {"record": record_name(w), "expr": error_ratio_expr(svc, w), "labels": {"service": service}}
        for w in WINDOWS
    ]
    for alert in alerts:
        rules.append(
            {
                "alert": ALERT,
                "expr": condition(cfg, service, alert),
                "for": alert.hold,
                "labels": alert_labels(service, alert),
                "annotations": annotations(cfg, service, alert),
            }
        )
    return {"name": f"slactl-slo-{service}", "rules": rules}


def slo_rules(cfg: Config, alerts: Sequence[BurnAlert] = BURN_ALERTS) -> tuple[dict[str, Any], list[str]]:
    """The ``groups:`` document of every Prometheus service, and warnings about it."""
    names, _ = rule_services(cfg)
    warnings = []
    for name in names:
        page = [a for a in alerts if a.severity == "page"]
        if page and all(threshold(cfg, name, a) >= 1 for a in page):
            warnings.append(
                f"service '{name}': objective {exact(objective_decimal(cfg.objective_for(name)))}% "
                "gives page thresholds of 100% or more, so its page alerts can never fire"
            )
    return {"groups": [service_group(cfg, n, alerts) for n in names]}, warnings
