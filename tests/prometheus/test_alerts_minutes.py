"""The generated rules on synthetic histories, in ``promtool test rules`` files written here.

slactl generates the rule file; the tests below are written by this test, not by
slactl, so they check the rules against the definition rather than against the
generator's own idea of it.  Traffic is 1000 requests a minute (``code="500"``
and ``code="200"`` counters) on a 99.9% objective with the default 95% slice
threshold; ``ALERTS`` is read back to see what was firing when.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from slactl.app.alerts import SLO_RULES, generate
from slactl.config import parse

pytestmark = pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool not on PATH")

CONFIG = """
sources: {prom: {type: prometheus, url: "http://127.0.0.1:9090"}}
tiers: {standard: {uptime_target: 99.9}}
latency_targets_seconds: {p95: 0.2, p99: 0.5}
services:
  api:
    source: prom
    availability:
      errors: http_requests_total{service="api",code=~"5.."}
      total: http_requests_total{service="api"}
    latency:
      histogram: http_request_duration_seconds_bucket{service="api"}
  auth:
    source: prom
    availability: {probe: 'probe_success{service="auth"}'}
alerts: {infrastructure: false}
"""
DAY = 1440
ERR = 'http_requests_total{service="api",code="500"}'
OK = 'http_requests_total{service="api",code="200"}'
PROBE = 'probe_success{service="auth"}'


def counter(per_minute: list[tuple[int, int]], start: int = 0, blank: int = 0) -> str:
    """promtool values of a counter: ``blank`` missing minutes, then runs of (minutes, increase per minute)."""
    parts = [f"_x{blank}"] if blank else []
    value, first = start, True
    for minutes, step in per_minute:
        if first:
            parts.append(f"{value}+{step}x{minutes}")
            value += step * minutes
            first = False
        else:
            parts.append(f"{value + step}+{step}x{minutes - 1}")
            value += step * minutes
    return " ".join(parts)


def requests(runs: list[tuple[int, int]]) -> list[dict]:
    """Errors and good requests for runs of (minutes, errors per minute out of 1000)."""
    return [
        {"series": ERR, "values": counter(runs)},
        {"series": OK, "values": counter([(m, 1000 - e) for m, e in runs])},
        {"series": PROBE, "values": f"1+0x{sum(m for m, _ in runs)}"},
    ]


def firing(alert: str, at_minute: int, window: int, labels: dict[str, str]) -> dict:
    """An expr test: the alert was firing at some evaluation in the ``window`` minutes up to ``at_minute``."""
    matchers = ",".join(f'{k}="{v}"' for k, v in {"alertname": alert, "alertstate": "firing", **labels}.items())
    want = {"alertname": alert, "alertstate": "firing", **labels}
    return {
        "expr": f"max by ({','.join(want)}) (max_over_time(ALERTS{{{matchers}}}[{window}m]))",
        "eval_time": f"{at_minute}m",
        "exp_samples": [{"labels": "{" + ",".join(f'{k}="{v}"' for k, v in want.items()) + "}", "value": 1}],
    }


def nothing_fired(at_minute: int) -> dict:
    return {"expr": f"count_over_time(ALERTS[{at_minute}m])", "eval_time": f"{at_minute}m", "exp_samples": []}


def run(tmp_path: Path, tests: list[dict]) -> None:
    cfg = parse(CONFIG, base_dir=tmp_path)
    (tmp_path / SLO_RULES).write_bytes(generate(cfg).files[SLO_RULES])
    doc = {"rule_files": [SLO_RULES], "evaluation_interval": "1m", "tests": tests}
    (tmp_path / "mine.test.yml").write_text(yaml.safe_dump(doc, sort_keys=False))
    proc = subprocess.run(["promtool", "test", "rules", "mine.test.yml"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]


@pytest.mark.parametrize("per_mille", [10, 40])
def test_steady_errors_below_the_slice_threshold_fire_nothing_in_four_days(tmp_path, per_mille):
    n = 4 * DAY
    state = 'service:slactl_minute_down:state{service="api"}'
    run(tmp_path, [{
        "name": f"steady {per_mille / 10}% errors",
        "interval": "1m",
        "input_series": requests([(n, per_mille)]),
        "promql_expr_test": [
            nothing_fired(n),
            {"expr": f"max_over_time({state}[{n}m])", "eval_time": f"{n}m",
             "exp_samples": [{"labels": "{service=\"api\"}", "value": 0}]},
            # a state every minute from 0m to 4d (Prometheus 2's ranges include both ends)
            {"expr": f"count_over_time({state}[{n}m]) >= {n}", "eval_time": f"{n}m",
             "exp_samples": [{"labels": "{service=\"api\"}", "value": n + 1}]},
        ],
    }])


def test_outages_page_within_15_minutes(tmp_path):
    base, page = 6 * 60, {"service": "api", "severity": "page", "long_window": "1h", "short_window": "5m"}
    outage = {
        "name": "30 minutes of 100% errors after a day of 0.5%",
        "interval": "1m",
        "input_series": requests([(base, 5), (30, 1000), (120, 5)]),
        "promql_expr_test": [nothing_fired(base - 1), firing("ErrorBudgetBurn", base + 15, 15, page)],
    }
    six = {
        "name": "6% errors for two hours",
        "interval": "1m",
        "input_series": requests([(base, 10), (120, 60), (60, 10)]),
        "promql_expr_test": [nothing_fired(base - 1), firing("ErrorBudgetBurn", base + 15, 15, page)],
    }
    probe = {
        "name": "a failing probe",
        "interval": "1m",
        "input_series": [
            *requests([(base + 90, 0)])[:2],
            {"series": PROBE, "values": f"1+0x{base} 0+0x30 1+0x60"},
        ],
        "promql_expr_test": [nothing_fired(base - 1), firing("ErrorBudgetBurn", base + 15, 15, {**page, "service": "auth"})],
    }
    appears = {
        "name": "an errors series that first appears with the outage",
        "interval": "1m",
        "input_series": [
            {"series": ERR, "values": f"_x{base} 1000+1000x29 30000+0x60"},
            {"series": OK, "values": f"0+1000x{base} {base * 1000}+0x89"},
            {"series": PROBE, "values": f"1+0x{base + 90}"},
        ],
        "promql_expr_test": [nothing_fired(base - 1), firing("ErrorBudgetBurn", base + 15, 15, page)],
    }
    run(tmp_path, [outage, six, probe, appears])


def test_p99_above_target_for_an_hour_fires_latency_target_missed(tmp_path):
    # 1000 requests a minute under 0.1 s; for an hour 2% of them take 0.5–1 s: p99 ≈ 0.75 s > 0.5 s.
    base, hour = 120, 60
    buckets = {"0.1": (980, 1000), "0.25": (980, 1000), "0.5": (980, 1000), "1": (1000, 1000), "+Inf": (1000, 1000)}
    series = []
    for le, (slow_step, fast_step) in buckets.items():
        name = f'http_request_duration_seconds_bucket{{service="api",le="{le}"}}'
        series.append({"series": name, "values": counter([(base, fast_step), (hour, slow_step), (30, fast_step)])})
    run(tmp_path, [{
        "name": "p99 above its target for an hour",
        "interval": "1m",
        "input_series": [*series, *requests([(base + hour + 30, 0)])],
        "promql_expr_test": [
            nothing_fired(base),
            firing("LatencyTargetMissed", base + hour, 1, {"service": "api", "quantile": "0.99", "severity": "ticket"}),
            {"expr": 'ALERTS{alertname="LatencyTargetMissed",quantile="0.95"}', "eval_time": f"{base + hour}m",
             "exp_samples": []},
        ],
    }])
