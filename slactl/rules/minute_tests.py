"""``promtool test rules`` cases for ``burn_on: minutes``: the minute states, simulated exactly.

Every case feeds series the service's selectors select with constant behaviour
from time 0 (one sample a minute), and the expected firing alerts come from
simulating the rules on those samples: the minute state at each evaluation
(the counters' first sample counts as an increase of 0, so a ratio service's
state at 0m is up; a probe's is known at once), the down share over each window
(``w`` states), both windows above the threshold, then ``for:``.  The checks
sit just before and at each alert's first firing, with the annotation the rule
renders from the long window's share.

Cases: 100% errors or failing probes (every alert fires in turn); errors or probe
failures just inside the slice threshold (every minute up: nothing fires, the
point of burning on minutes); no errors; an ``errors`` series that does not exist
yet; and a minute without data, which follows the ``no_data`` policy.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import numpy as np

from slactl.config import Config
from slactl.model import DOWN, NO_DATA, UP
from slactl.promql.burn import BurnAlert, seconds
from slactl.promql.exprs import STATE_RECORD
from slactl.promql.numbers import dec, exact
from slactl.rules import burnsim
from slactl.rules.burnrate import ALERT, alert_annotations, alert_labels, threshold
from slactl.rules.promql import humanize_percentage

PER_MINUTE = Decimal(1000)


def simulate(states: Sequence[int | None], alerts: Sequence[BurnAlert], thresholds: dict[str, float]) -> list[dict]:
    """Per evaluation minute: ``{alert key: long-window share}`` of the alerts firing then.

    ``states`` are the recorded values (0 up, 1 down, None: no sample); the
    firing itself is :mod:`slactl.rules.burnsim`'s, as for ``alerts backtest``.
    """
    codes = np.array([NO_DATA if s is None else (DOWN if s else UP) for s in states], dtype=np.int8)
    out: list[dict] = [{} for _ in states]
    for a in alerts:
        long, short, hold = seconds(a.long) // 60, seconds(a.short) // 60, seconds(a.hold) // 60
        shares = burnsim.down_shares(codes, long)
        for k in np.flatnonzero(burnsim.firing(burnsim.condition(codes, long, short, thresholds[a.key]), hold)):
            out[k][a.key] = float(shares[k])
    return out


def ratio_states(cfg: Config, name: str, ratio: Decimal | None, n: int) -> list[int | None]:
    """The recorded states of a ratio service with a constant error ratio (None: no total series)."""
    svc = cfg.services[name]
    if ratio is None:
        fill = {"up": 0, "down": 1}.get(svc.no_data)
        return [fill] * n
    good = 1 - float(PER_MINUTE * ratio) / float(PER_MINUTE) if ratio else 1.0
    down = int(good < float(exact(dec(svc.slice_threshold))))
    states: list[int | None] = [0, *[down] * (n - 1)]
    return states


def probe_states(cfg: Config, name: str, success: Decimal | None, n: int) -> list[int | None]:
    svc = cfg.services[name]
    if success is None:
        return [{"up": 0, "down": 1}.get(svc.no_data)] * n
    return [int(float(success) < float(exact(dec(svc.slice_threshold))))] * n


def case(
    cfg: Config, name: str, alerts: Sequence[BurnAlert], states: list[int | None], inputs: list, title: str
) -> dict[str, Any]:
    """One test: checks around each first firing, or two quiet checks when nothing fires."""
    thresholds = {a.key: float(exact(threshold(cfg, name, a))) for a in alerts}
    sim = simulate(states, alerts, thresholds)
    firsts = sorted({min(k for k, f in enumerate(sim) if key in f) for key in thresholds if any(key in f for f in sim)})
    evals = sorted({m for f in firsts for m in (f - 1, f) if m >= 0}) or [10, len(states) - 1]
    by_key = {a.key: a for a in alerts}
    checks = []
    for minute in evals:
        expected = [
            {
                "exp_labels": alert_labels(name, by_key[key]),
                "exp_annotations": {
                    k: v.replace("{{ $value | humanizePercentage }}", humanize_percentage(value))
                    for k, v in alert_annotations(cfg, name, by_key[key]).items()
                },
            }
            for key, value in sim[minute].items()
        ]
        checks.append({"eval_time": f"{minute}m", "alertname": ALERT, "exp_alerts": expected})
    record = f'{STATE_RECORD}{{service="{name}"}}'
    last = states[-1]
    samples = [] if last is None else [{"labels": record, "value": float(last)}]
    return {
        "name": f"{name}: {title}",
        "interval": "1m",
        "input_series": inputs,
        "alert_rule_test": checks,
        "promql_expr_test": [{"expr": record, "eval_time": f"{len(states) - 1}m", "exp_samples": samples}],
    }


def length(alerts: Sequence[BurnAlert]) -> int:
    """Minutes each case runs: past the longest ``for:`` with room for the windows to fill."""
    return max(seconds(a.hold) // 60 for a in alerts) + 10
