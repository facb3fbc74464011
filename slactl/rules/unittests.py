"""``promtool test rules`` files for the generated rules: every alert fires where it must and only there.

``burn_on: minutes`` cases come from :mod:`slactl.rules.minute_tests`; what follows
describes the ``requests`` cases and the threshold pack.

For each service the tests feed synthetic series that the user's own selectors
select (see :mod:`slactl.rules.selectors`) with a constant error ratio ``r`` from
time 0, and check at chosen times which ``ErrorBudgetBurn`` alerts are firing.
Everything expected is derived from the same table the rules come from: with
one-minute samples every condition holds from 1m on, so an alert with
``for: F`` fires from ``1m + F`` on iff ``r`` is above its threshold.  Ratios:
100% errors (all fire in turn), just under the fast page threshold, twice the
budget (only the slowest ticket), none, no traffic at all (no recorded sample),
and a missing ``errors`` series (ratio 0, not "no data").

The threshold pack is tested with a series that must fire and one that must not
in the same test, so a match on the wrong labels would show.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from slactl.config import Config, Service
from slactl.promql.numbers import budget, dec, exact
from slactl.rules import minute_tests as mt
from slactl.rules.burnrate import (
    ALERT,
    BURN_ALERTS,
    BurnAlert,
    alert_annotations,
    alert_labels,
    record_name,
    rule_services,
    seconds,
    threshold,
)
from slactl.rules.promql import humanize_percentage
from slactl.rules.selectors import matchers, probe_series, ratio_series, series_text
from slactl.rules.threshold import fleet_rules, metric_name, service_rules


def render(text: str, labels: dict[str, str], value: float) -> str:
    """An annotation as Prometheus would render it for these labels and value."""
    if "{{ $value | humanizePercentage }}" in text:
        text = text.replace("{{ $value | humanizePercentage }}", humanize_percentage(value))
    if "{{ $value | humanizeDuration }}" in text:
        text = text.replace("{{ $value | humanizeDuration }}", humanize_duration(value))
    return re.sub(r"\{\{ \$labels\.(\w+) \}\}", lambda m: labels.get(m.group(1), ""), text)


def humanize_duration(value: float) -> str:
    """Prometheus' ``humanizeDuration`` for values below one second (all the tests need)."""
    if value == 0:
        return f"{value:.4f}s"
    if abs(value) >= 1:
        raise ValueError(f"humanize_duration only renders values below 1s, got {value}")
    prefix = ""
    for p in ("m", "u", "n", "p"):
        if abs(value) >= 1:
            break
        prefix, value = p, value * 1000
    return f"{value:.4g}{prefix}s"


# --------------------------------------------------------------------------- burn-rate tests


def _eval_minutes(alerts: Sequence[BurnAlert]) -> list[int]:
    """The minute before and the minute at which each alert fires (``1m + for``)."""
    return sorted({seconds(a.hold) // 60 + d for a in alerts for d in (0, 1)})


def _burn_case(
    cfg: Config, name: str, alerts: Sequence[BurnAlert], ratio: Decimal, inputs: list, title: str, upto: int | None = None
) -> dict[str, Any]:
    """Firing alerts around each ``for:`` (up to minute ``upto``) for a constant ratio.

    A ratio needs two samples in the window (``rate``), so its condition holds
    from 1m; a probe's ``avg_over_time`` needs one, so from 0m.
    """
    first = 0 if cfg.services[name].availability.kind == "probe" else 1
    evals = sorted({m - 1 + first for m in _eval_minutes(alerts) if upto is None or m <= upto})
    checks = []
    for minute in evals:
        expected = [
            {
                "exp_labels": alert_labels(name, a),
                "exp_annotations": {
                    k: render(v, {}, float(ratio)) for k, v in alert_annotations(cfg, name, a).items()
                },
            }
            for a in alerts
            if threshold(cfg, name, a) < ratio and minute >= first + seconds(a.hold) // 60
        ]
        checks.append({"eval_time": f"{minute}m", "alertname": ALERT, "exp_alerts": expected})
    record = f'{record_name("5m")}{{service="{name}"}}'
    sample = [{"labels": record, "value": float(ratio)}] if ratio == 0 or ratio == 1 else None
    case: dict[str, Any] = {"name": f"{name}: {title}", "interval": "1m", "input_series": inputs, "alert_rule_test": checks}
    if sample is not None:
        case["promql_expr_test"] = [{"expr": record, "eval_time": "10m", "exp_samples": sample}]
    return case


def _quiet_case(name: str, inputs: list, title: str, recorded: float | None) -> dict[str, Any]:
    record = f'{record_name("5m")}{{service="{name}"}}'
    samples = [] if recorded is None else [{"labels": record, "value": recorded}]
    return {
        "name": f"{name}: {title}",
        "interval": "1m",
        "input_series": inputs,
        "alert_rule_test": [{"eval_time": "10m", "alertname": ALERT, "exp_alerts": []}],
        "promql_expr_test": [{"expr": record, "eval_time": "10m", "exp_samples": samples}],
    }


def _minute_cases(cfg: Config, name: str, alerts: Sequence[BurnAlert]) -> list[dict[str, Any]] | None:
    """``burn_on: minutes`` cases of one service (None: no series fits its selectors)."""
    svc, n = cfg.services[name], mt.length(alerts)
    thr = dec(svc.slice_threshold)
    inside = (1 - thr) / 2  # a bad share that keeps every minute up
    if svc.availability.kind == "ratio":
        rs = ratio_series(svc)
        if rs is None:
            return None
        rows: list[tuple[Decimal | None, list, str]] = [
            (Decimal(1), rs.inputs(Decimal(1), n), "100% errors: every minute down, each alert fires after its for:"),
            (inside, rs.inputs(inside, n), f"{percentage(inside)} errors keep every minute up: nothing burns"),
            (Decimal(0), rs.inputs(Decimal(0), n), "no errors, no alert"),
            (Decimal(0), rs.inputs(Decimal(0), n, with_errors=False), "no errors series yet counts as no errors"),
            (None, [], f"no requests series: no_data {svc.no_data}"),
        ]
        return [mt.case(cfg, name, alerts, mt.ratio_states(cfg, name, r, n), inputs, title) for r, inputs, title in rows]
    probe = probe_series(svc)
    if probe is None:
        return None
    ok = thr + inside
    prows: list[tuple[Decimal | None, list, str]] = [
        (Decimal(0), [{"series": probe, "values": f"0+0x{n}"}], "every probe failing: each alert fires after its for:"),
        (ok, [{"series": probe, "values": f"{exact(ok)}+0x{n}"}], f"probe success {exact(ok)} keeps every minute up"),
        (Decimal(1), [{"series": probe, "values": f"1+0x{n}"}], "probes succeed, no alert"),
        (None, [], f"no probe samples: no_data {svc.no_data}"),
    ]
    return [mt.case(cfg, name, alerts, mt.probe_states(cfg, name, p, n), inputs, title) for p, inputs, title in prows]


def _fed(svc: Service) -> list[str]:
    """The series text a service's tests feed."""
    if svc.availability.kind == "ratio":
        rs = ratio_series(svc)
        return [] if rs is None else [rs.errors, rs.good]
    probe = probe_series(svc)
    return [] if probe is None else [probe]


def _selects(selector: str, series: str) -> bool:
    theirs, fed = matchers(selector), matchers(series)
    if theirs is None or fed is None:
        return False
    values = {m.name: m.value for m in fed}
    return all(m.accepts(values.get(m.name, "")) for m in theirs)


def overlapping(cfg: Config, name: str) -> str | None:
    """Another service whose selectors and ``name``'s share a test series (either way round).

    Its rules would fire on ``name``'s test data too (or the other way round), so
    the tests could not say which alerts to expect.
    """
    names, _ = rule_services(cfg)
    for other in names:
        if other == name:
            continue
        for a, b in ((name, other), (other, name)):
            av = cfg.services[b].availability
            sels = [av.probe] if av.kind == "probe" else [av.errors, av.total]
            if any(_selects(str(sel), series) for sel in sels for series in _fed(cfg.services[a])):
                return other
    return None


def steady_inputs(cfg: Config, name: str, n: int, only: str | None = None) -> list[dict[str, str]]:
    """Healthy series for the other services whose missing data would count as down minutes."""
    out: list[dict[str, str]] = []
    names, _ = rule_services(cfg)
    for other in names:
        svc = cfg.services[other]
        if other == name or (only is not None and other != only):
            continue
        if svc.no_data != "down" or overlapping(cfg, other) is not None:
            continue
        if svc.availability.kind == "ratio":
            rs = ratio_series(svc)
            out += [] if rs is None else rs.inputs(Decimal(0), n)
        else:
            probe = probe_series(svc)
            out += [] if probe is None else [{"series": probe, "values": f"1+0x{n}"}]
    return out


def slo_tests(cfg: Config, rule_file: str, alerts: Sequence[BurnAlert] = BURN_ALERTS) -> tuple[dict[str, Any], list[str]]:
    """The test document for the SLO rule file, and services whose selectors defeated it."""
    n = max(_eval_minutes(alerts)) + 5
    names, _ = rule_services(cfg)
    tests: list[dict[str, Any]] = []
    warnings: list[str] = []
    if cfg.alerts.burn_on == "minutes":
        # A no_data: down service without healthy test series would burn in every other test.
        loud = [n for n in names if cfg.services[n].no_data == "down" and not steady_inputs(cfg, "", 2, only=n)]
        if loud:
            warnings.append(
                f"service '{loud[0]}' (no_data: down) has no series its selectors match on their own, so it "
                "would burn in every test: the burn-rate rules have no unit tests"
            )
            return {"rule_files": [rule_file], "evaluation_interval": "1m", "tests": []}, warnings
    for name in names:
        svc = cfg.services[name]
        other = overlapping(cfg, name)
        if other is not None:
            warnings.append(
                f"service '{name}': the series its unit tests need are also selected by service '{other}'; "
                "its rules have no unit tests"
            )
            continue
        if cfg.alerts.burn_on == "minutes":
            cases = _minute_cases(cfg, name, alerts)
            if cases is None:
                warnings.append(f"service '{name}': no series matches its selectors as needed; its rules have no unit tests")
                continue
            steady = steady_inputs(cfg, name, mt.length(alerts))
            for c in cases:
                c["input_series"] = c["input_series"] + steady
            tests += cases
            continue
        b = budget(cfg.objective_for(name))
        # (ratio, title, last eval minute): a constant ratio is checked up to where it matters.
        ratios: list[tuple[Decimal, str, int | None]] = [(Decimal(1), "100% errors fire each alert once its for: has passed", None)]
        fast = next((a for a in alerts if a.severity == "page"), None)
        if fast is not None and (fast.factor - 1) * b < 1:
            upto = _eval_minutes([a for a in alerts if a.severity == "page"])[-1]
            ratios.append(((fast.factor - 1) * b, "just under the fast page threshold does not page fast", upto))
        if 2 * b < 1:
            ratios.append((2 * b, "twice the budget opens only the slow ticket", None))
        if svc.availability.kind == "ratio":
            rs = ratio_series(svc)
            if rs is None:
                warnings.append(f"service '{name}': no series matches its selectors as needed; its rules have no unit tests")
                continue
            tests += [_burn_case(cfg, name, alerts, r, rs.inputs(r, n), t, u) for r, t, u in ratios]
            tests.append(_quiet_case(name, rs.inputs(Decimal(0), n), "no errors, no alert", 0.0))
            tests.append(_quiet_case(name, rs.inputs(Decimal(0), n, traffic=False), "no traffic records nothing", None))
            tests.append(
                _quiet_case(name, rs.inputs(Decimal(0), n, with_errors=False), "no errors series yet is a ratio of 0", 0.0)
            )
        else:
            probe = probe_series(svc)
            if probe is None:
                warnings.append(f"service '{name}': no series matches its probe selector; its rules have no unit tests")
                continue
            for r, t, u in ratios:
                inputs = [{"series": probe, "values": f"{exact(1 - r)}+0x{n}"}]
                tests.append(_burn_case(cfg, name, alerts, r, inputs, t, u))
            tests.append(_quiet_case(name, [{"series": probe, "values": f"1+0x{n}"}], "probes succeed, no alert", 0.0))
            tests.append(_quiet_case(name, [], "no probe samples record nothing", None))
    return {"rule_files": [rule_file], "evaluation_interval": "1m", "tests": tests}, warnings


# --------------------------------------------------------------------------- threshold-pack tests


def _expect(rule: dict[str, Any], labels: dict[str, str], value: float) -> dict[str, Any]:
    exp_labels = {**labels, **rule["labels"]}
    return {
        "exp_labels": exp_labels,
        "exp_annotations": {k: render(v, exp_labels, value) for k, v in rule["annotations"].items()},
    }


def _service_cases(cfg: Config) -> tuple[list[dict[str, Any]], list[str]]:
    out, warnings = [], []
    names, _ = rule_services(cfg)
    rules = {r["labels"]["service"]: r for r in service_rules(cfg)}
    for name in names:
        svc, rule = cfg.services[name], rules[name]
        if overlapping(cfg, name) is not None:
            continue  # slo_tests warns about it
        if svc.availability.kind == "ratio":
            rs = ratio_series(svc)
            if rs is None:
                warnings.append(f"service '{name}': no series matches its selectors; HighErrorRate has no unit test")
                continue
            for ratio, fires in ((Decimal("0.1"), True), (Decimal("0.01"), False)):
                exp = [_expect(rule, {}, float(ratio))] if fires else []
                out.append(
                    {
                        "name": f"{name}: {percentage(ratio)} errors {'fire' if fires else 'do not fire'} HighErrorRate",
                        "interval": "1m",
                        "input_series": rs.inputs(ratio, 20),
                        "alert_rule_test": [{"eval_time": "10m", "alertname": "HighErrorRate", "exp_alerts": exp}],
                    }
                )
        else:
            label = "slactl_probe" if any(m.name == "instance" for m in matchers(str(svc.availability.probe)) or []) else "instance"
            a, b = probe_series(svc, **{label: "probe-a"}), probe_series(svc, **{label: "probe-b"})
            if a is None or b is None:
                warnings.append(f"service '{name}': no series matches its probe selector; ServiceDown has no unit test")
                continue
            for second, fires in (("0", True), ("1", False)):
                out.append(
                    {
                        "name": f"{name}: {'every probe' if fires else 'one of two probes'} failing "
                        f"{'fires' if fires else 'does not fire'} ServiceDown",
                        "interval": "1m",
                        "input_series": [{"series": a, "values": "0+0x20"}, {"series": b, "values": f"{second}+0x20"}],
                        "alert_rule_test": [
                            {"eval_time": "10m", "alertname": "ServiceDown", "exp_alerts": [_expect(rule, {}, 0.0)] if fires else []}
                        ],
                    }
                )
    return out, warnings


def percentage(fraction: Decimal) -> str:
    return exact(fraction * 100) + "%"


def _fleet_case(cfg: Config) -> dict[str, Any]:
    rules = {r["alert"]: r for r in fleet_rules(cfg)}
    node = {"job": "node"}
    hot, cool = {**node, "instance": "node-hot:9100"}, {**node, "instance": "node-cool:9100"}
    root = {"device": "/dev/sda1", "fstype": "ext4", "mountpoint": "/"}
    shm = {"device": "shm", "fstype": "tmpfs", "mountpoint": "/dev/shm"}
    db_a, db_b = {"job": "postgres", "instance": "db-a:9187"}, {"job": "postgres", "instance": "db-b:9187"}
    slow, quick = {**db_a, "datname": "app"}, {**db_b, "datname": "app"}

    def s(name: str, labels: dict[str, str], values: str) -> dict[str, str]:
        # the name the user's Prometheus has for it (alerts.metric_names), as the rules use
        return {"series": series_text({"__name__": metric_name(cfg, name), **labels}), "values": values}

    inputs = [
        s("pg_up", db_a, "0+0x30"),
        s("pg_up", db_b, "1+0x30"),
        s("node_filesystem_avail_bytes", {**hot, **root}, "5+0x30"),
        s("node_filesystem_size_bytes", {**hot, **root}, "100+0x30"),
        s("node_filesystem_avail_bytes", {**cool, **root}, "50+0x30"),
        s("node_filesystem_size_bytes", {**cool, **root}, "100+0x30"),
        s("node_filesystem_avail_bytes", {**hot, **shm}, "0+0x30"),
        s("node_filesystem_size_bytes", {**hot, **shm}, "100+0x30"),
        s("node_cpu_seconds_total", {**hot, "cpu": "0", "mode": "idle"}, "0+6x30"),
        s("node_cpu_seconds_total", {**cool, "cpu": "0", "mode": "idle"}, "0+54x30"),
        s("node_memory_MemAvailable_bytes", hot, "10+0x30"),
        s("node_memory_MemTotal_bytes", hot, "100+0x30"),
        s("node_memory_MemAvailable_bytes", cool, "50+0x30"),
        s("node_memory_MemTotal_bytes", cool, "100+0x30"),
        s("pg_stat_statements_seconds_total", {**slow, "queryid": "1"}, "0+30x30"),
        s("pg_stat_statements_calls_total", {**slow, "queryid": "1"}, "0+100x30"),
        s("pg_stat_statements_seconds_total", {**quick, "queryid": "1"}, "0+1x30"),
        s("pg_stat_statements_calls_total", {**quick, "queryid": "1"}, "0+100x30"),
    ]
    firing = {
        "DatabaseDown": (db_a, 0.0),
        "DiskAlmostFull": ({**hot, **root}, 0.95),
        "HighCPU": (hot, 0.9),
        "HighMemory": (hot, 0.9),
        "SlowQueries": (slow, 0.3),
    }
    checks = [
        {"eval_time": "20m", "alertname": name, "exp_alerts": [_expect(rules[name], labels, value)]}
        for name, (labels, value) in firing.items()
    ]
    return {
        "name": "threshold pack: one series of each kind fires, its healthy twin does not",
        "interval": "1m",
        "input_series": inputs,
        "alert_rule_test": checks,
    }


def infrastructure_tests(cfg: Config, rule_file: str) -> tuple[dict[str, Any], list[str]]:
    """The test document for the threshold-pack rule file."""
    cases, warnings = _service_cases(cfg)
    return {"rule_files": [rule_file], "evaluation_interval": "1m", "tests": [*cases, _fleet_case(cfg)]}, warnings
