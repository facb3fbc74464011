"""``ErrorBudgetBurn`` and ``LatencyTargetMissed``: one rule group per service.

What burns is ``alerts.burn_on``:

* ``minutes`` (default): the share of down minutes, the SLA's own unit.  The group
  runs every minute (``interval: 1m``) and first records the minute's state
  (``service:slactl_minute_down:state``), then the share of down minutes over
  each burn window (``service:slactl_down_minutes:ratio_rate<window>``), then the
  alerts.  Rules of a group run in order within one evaluation, so the shares
  include the state recorded a moment before.  A service whose every minute is up
  never burns, whatever its request error ratio.
* ``requests``: the error ratio (``service:slactl_errors:ratio_rate<window>``),
  errors per request or failed probes per probe.

The expressions and the burn table live in :mod:`slactl.promql`; this module
only arranges them into rules with labels and annotations.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from slactl.config import Config, percentile_q
from slactl.promql.burn import BURN_ALERTS, PERIOD_DAYS, WINDOWS, BurnAlert, seconds, table  # noqa: F401
from slactl.promql.burn import threshold as _threshold
from slactl.promql.exprs import (
    STATE_RECORD,
    burn_record,
    down_share,
    error_ratio_expr,
    latency_missed,
    minute_state,
    one_line_condition,
    promql_services,
    service_selector,
)
from slactl.promql.numbers import budget, dec, exact, objective_decimal, percent

ALERT = "ErrorBudgetBurn"
LATENCY_ALERT = "LatencyTargetMissed"
LATENCY_FOR = "15m"
RECORD_PREFIX = "service:slactl_errors:ratio_rate"  # the requests form, kept under its old name


def record_name(window: str, burn_on: str = "requests") -> str:
    return burn_record(burn_on, window)


def rule_services(cfg: Config) -> tuple[list[str], dict[str, str]]:
    """Services that get rules (PromQL selectors) and why the others do not."""
    return promql_services(cfg)


def threshold(cfg: Config, service: str, alert: BurnAlert) -> Decimal:
    return _threshold(cfg.objective_for(service), alert)


def condition(cfg: Config, service: str, alert: BurnAlert, *, inline: bool = False) -> str:
    """The alert's condition: long and short window both above the threshold.

    ``inline`` writes the expressions the recording rules hold instead of their
    names, for evaluating history the rules were not recording (backtest); for
    ``burn_on: minutes`` it still reads the minute states, which the backtest
    computes by subquery.  The long window comes first, so the alert's value is
    the long window's share.
    """
    thr = exact(threshold(cfg, service, alert))
    burn_on = cfg.alerts.burn_on
    if inline:
        parts = [one_line_condition(cfg.services[service], service, w, burn_on) for w in (alert.long, alert.short)]
        return f"({parts[0]}) > {thr}\nand\n({parts[1]}) > {thr}"
    sel = service_selector(service)
    return (
        f"{burn_record(burn_on, alert.long)}{sel} > {thr}\nand\n{burn_record(burn_on, alert.short)}{sel} > {thr}"
    )


def _who(cfg: Config, service: str) -> str:
    described = cfg.services[service].description
    return f"{service} ({described})" if described else service


def _runbook(cfg: Config, alert: str) -> dict[str, str]:
    base = cfg.alerts.runbook_base_url
    return {"runbook_url": f"{base.rstrip('/')}/{alert}"} if base else {}


def alert_annotations(cfg: Config, service: str, alert: BurnAlert) -> dict[str, str]:
    """summary, description and (where configured) runbook_url of one burn alert."""
    objective = objective_decimal(cfg.objective_for(service))
    b = budget(cfg.objective_for(service))
    days = (Decimal(PERIOD_DAYS) / alert.factor).quantize(Decimal("0.1"))
    what = "share of down minutes" if cfg.alerts.burn_on == "minutes" else "error ratio"
    return {
        "summary": f"{service} is burning its error budget faster than {exact(alert.factor)}x the sustainable rate",
        "description": (
            f"The {what} of {_who(cfg, service)} is {{{{ $value | humanizePercentage }}}} over the last "
            f"{alert.long} and also above {percent(threshold(cfg, service, alert))} over the last "
            f"{alert.short}, which is {exact(alert.factor)}x the {percent(b)} error budget of its "
            f"{exact(objective)}% objective. At this rate the {PERIOD_DAYS}-day budget is spent in "
            f"{exact(days)} days."
        ),
        **_runbook(cfg, ALERT),
    }


def alert_labels(service: str, alert: BurnAlert) -> dict[str, str]:
    return {
        "service": service,
        "severity": alert.severity,
        "long_window": alert.long,
        "short_window": alert.short,
    }


def latency_targets(cfg: Config, service: str) -> list[tuple[str, Decimal, float]]:
    """``(key, q, target)`` of every configured target, by rank, if the service has a histogram."""
    lat = cfg.services[service].latency
    if lat is None or lat.histogram is None:
        return []
    rows = [(k, dec(percentile_q(k)), t) for k, t in cfg.latency_targets_seconds.items()]
    return sorted(rows, key=lambda r: r[1])


def latency_labels(service: str, q: Decimal) -> dict[str, str]:
    return {"service": service, "quantile": exact(q), "severity": "ticket"}


def latency_rule(cfg: Config, service: str, key: str, q: Decimal, target: float) -> dict[str, Any]:
    target_text = exact(dec(target))
    return {
        "alert": LATENCY_ALERT,
        "expr": latency_missed(cfg.services[service], q, target),
        "for": LATENCY_FOR,
        "labels": latency_labels(service, q),
        "annotations": {
            "summary": f"{service} misses its {key} latency target of {target_text}s",
            "description": (
                f"The {key} latency of {_who(cfg, service)} over the last hour is "
                f"{{{{ $value | humanizeDuration }}}}, above its target of {target_text}s "
                f"(for {LATENCY_FOR})."
            ),
            **_runbook(cfg, LATENCY_ALERT),
        },
    }


def maintenance_of(cfg: Config, service: str) -> list[tuple[int, int, str]]:
    """The service's maintenance windows as epoch seconds, in config order."""
    return [
        (int(m.start.timestamp()), int(m.end.timestamp()), m.reason)
        for m in cfg.maintenance
        if m.services is None or service in m.services
    ]


def minute_rules(cfg: Config, service: str) -> list[dict[str, Any]]:
    """The minute state and the down-minute shares (the dashboards read them in either mode)."""
    svc, labels = cfg.services[service], {"service": service}
    state = minute_state(svc, maintenance_of(cfg, service))
    rules: list[dict[str, Any]] = [{"record": STATE_RECORD, "expr": state, "labels": labels}]
    rules += [{"record": burn_record("minutes", w), "expr": down_share(service, w), "labels": labels} for w in WINDOWS]
    return rules


def recording_rules(cfg: Config, service: str) -> list[dict[str, Any]]:
    """The records the alerts read: minute state and down shares, or error ratios."""
    svc, labels = cfg.services[service], {"service": service}
    if cfg.alerts.burn_on == "requests":
        return [{"record": burn_record("requests", w), "expr": error_ratio_expr(svc, w), "labels": labels} for w in WINDOWS]
    return minute_rules(cfg, service)


def service_group(cfg: Config, service: str, alerts: Sequence[BurnAlert] = BURN_ALERTS) -> dict[str, Any]:
    """The rule group of one service: its recording rules, burn alerts and latency alerts."""
    rules = recording_rules(cfg, service)
    for alert in alerts:
        rules.append(
            {
                "alert": ALERT,
                "expr": condition(cfg, service, alert),
                "for": alert.hold,
                "labels": alert_labels(service, alert),
                "annotations": alert_annotations(cfg, service, alert),
            }
        )
    rules += [latency_rule(cfg, service, k, q, t) for k, q, t in latency_targets(cfg, service)]
    group: dict[str, Any] = {"name": f"slactl-slo-{service}"}
    if cfg.alerts.burn_on == "minutes":
        group["interval"] = "1m"  # one minute state per evaluation
    group["rules"] = rules
    return group


def slo_rules(cfg: Config, alerts: Sequence[BurnAlert] = BURN_ALERTS) -> tuple[dict[str, Any], list[str]]:
    """The ``groups:`` document of every PromQL service, and warnings about it."""
    names, _ = rule_services(cfg)
    warnings = []
    for name in names:
        page = [a for a in alerts if a.severity == "page"]
        if page and all(threshold(cfg, name, a) >= 1 for a in page):
            warnings.append(
                f"service '{name}': objective {exact(objective_decimal(cfg.objective_for(name)))}% "
                "gives page thresholds of 100% or more, so its page alerts can never fire"
            )
    groups = []
    for n in names:
        if cfg.alerts.burn_on == "requests":  # the dashboards' minute states, in a group of their own
            groups.append({"name": f"slactl-minutes-{n}", "interval": "1m", "rules": minute_rules(cfg, n)})
        groups.append(service_group(cfg, n, alerts))
    return {"groups": groups}, warnings
