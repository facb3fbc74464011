"""``slactl alerts backtest``: replay a month of history through the ``ErrorBudgetBurn`` alerts.

``burn_on: minutes`` replays the month's minute states as the report computed
them from the store.  The minute-state recording rule evaluates the same
definition (good ratio of the minute against ``slice_threshold``, the ``no_data``
policy, maintenance minutes left out), so the down shares, conditions and
``for:`` follow from them exactly, for any source whose selectors are PromQL
(the demo's sample source included), without asking a server for weeks of
subqueries.  The lead-in before the month (the longest window plus the longest
``for:``) is pulled too, so the month's first minutes see full windows.

``burn_on: requests`` asks the Prometheus source to evaluate each condition's
error-ratio expressions minute by minute (``query_range``), as the rules would
have.

For each service and severity the result gives the incidents caught and missed
(``missed_long``: incidents of five minutes or more that did not page), the
firings, and ``false_minutes``: minutes in which an alert was firing that no
incident explains (see :func:`slactl.rules.backtest.false_minutes`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

import numpy as np

from slactl.app.ingest import ingest
from slactl.app.measure import service_minutes
from slactl.app.report import measured_period
from slactl.config import Config, PrometheusSource
from slactl.model import minute_to_iso
from slactl.promql.burn import BURN_ALERTS, BurnAlert, seconds
from slactl.promql.numbers import exact
from slactl.rules.backtest import (
    Firing,
    false_minutes,
    firing_intervals,
    severity_summary,
    true_steps,
)
from slactl.rules.burnrate import condition, rule_services, threshold
from slactl.sli import states
from slactl.sources.base import Injected, RangeQuerier, build
from slactl.store.sql import Store


def run(
    cfg: Config, store: Store, month: str, now: datetime, injected: Injected | None = None,
    alerts: Sequence[BurnAlert] = BURN_ALERTS,
) -> dict:
    """Evaluate every ErrorBudgetBurn condition over ``month`` and match firings to incidents."""
    injected = injected or Injected()
    period, complete = measured_period(cfg, month, now)
    names, skipped = rule_services(cfg)
    minutes = cfg.alerts.burn_on == "minutes"
    if not minutes:
        for n in list(names):
            src = cfg.sources[cfg.services[n].source]
            if not isinstance(src, PrometheusSource):
                names.remove(n)
                skipped[n] = f"source '{cfg.services[n].source}' is {src.type}: burn_on: requests replays need Prometheus"
    hold_lead = max(seconds(a.hold) // 60 for a in alerts) + 1
    lead = hold_lead + (max(seconds(a.long) // 60 for a in alerts) if minutes else 0)
    start = period.start - lead
    ingest(cfg, store, start if minutes else period.start, period.end, now, services=names, injected=injected)
    truth = (
        _minute_conditions(cfg, store, names, alerts, replace(period, start=start))
        if minutes
        else _query_conditions(cfg, names, alerts, period.start - hold_lead, period.end, injected)
    )
    first = start if minutes else period.start - hold_lead
    services: dict[str, dict] = {}
    for name in names:
        sm = service_minutes(cfg, store, name, period)
        incidents = states.incidents(sm.states, sm.start, cfg.services[name].incident_merge_gap_minutes)
        excluded = [period.start + int(i) for i in sm.excluded.nonzero()[0]]
        hold = {a.key: a.hold for a in alerts}
        by_severity: dict[str, list[Firing]] = {}
        for a in alerts:
            spans = firing_intervals(truth[(name, a.key)], first, period.end, seconds(a.hold) // 60)
            by_severity.setdefault(a.severity, []).extend(
                Firing(a.long, a.short, s, e, seconds(a.short) // 60)
                for s, e in spans
                if s < period.end and (e is None or e > period.start)
            )
        severities = {}
        for sev, fs in by_severity.items():
            fs.sort(key=lambda f: f.start)
            wrong = false_minutes(fs, incidents, period.start, period.end, excluded)
            severities[sev] = severity_summary(fs, incidents, hold, wrong)
        services[name] = {
            "objective": cfg.objective_for(name),
            "kind": cfg.services[name].availability.kind,
            "alerts": [
                {
                    "severity": a.severity,
                    "long_window": a.long,
                    "short_window": a.short,
                    "factor": exact(a.factor),
                    "threshold": exact(threshold(cfg, name, a)),
                    "for": a.hold,
                }
                for a in alerts
            ],
            "severities": severities,
        }
    return {
        "month": month,
        "timezone": cfg.timezone,
        "burn_on": cfg.alerts.burn_on,
        "period": {"start": minute_to_iso(period.start), "end": minute_to_iso(period.end)},
        "complete": complete,
        "step_seconds": 60,
        "services": services,
        "skipped": skipped,
    }


def _minute_conditions(
    cfg: Config, store: Store, names: list[str], alerts: Sequence[BurnAlert], span
) -> dict[tuple[str, str], list[int]]:
    """Per (service, alert): the minutes at whose end the condition held, from the stored minute states."""
    out: dict[tuple[str, str], list[int]] = {}
    for name in names:
        st = service_minutes(cfg, store, name, span).states
        for a in alerts:
            thr = float(exact(threshold(cfg, name, a)))
            out[(name, a.key)] = true_steps(st, span.start, seconds(a.long) // 60, seconds(a.short) // 60, thr)
    return out


def _query_conditions(
    cfg: Config, names: list[str], alerts: Sequence[BurnAlert], start: int, end: int, injected: Injected
) -> dict[tuple[str, str], list[int]]:
    """Per (service, alert): the minutes at whose end the source's server found the condition true."""
    by_source: dict[str, list[str]] = {}
    for name in names:
        by_source.setdefault(cfg.services[name].source, []).append(name)
    out: dict[tuple[str, str], list[int]] = {}
    for source, members in by_source.items():
        src = build(source, cfg, injected)
        try:
            assert isinstance(src, RangeQuerier), f"source '{source}' cannot evaluate PromQL"  # run() skipped the others
            jobs = [(n, a) for n in members for a in alerts]
            answers = src.query_range(
                [(condition(cfg, n, a, inline=True), f"service '{n}' (ErrorBudgetBurn {a.key})") for n, a in jobs],
                start,
                end,
            )
        finally:
            src.close()
        for (n, a), series in zip(jobs, answers, strict=True):
            held = np.zeros(end - start, dtype=bool)
            for _labels, values in series:
                held |= ~np.isnan(values)
            out[(n, a.key)] = (np.flatnonzero(held) + start).tolist()
    return out
