"""Generated rule files, without Prometheus: exact thresholds, names, labels, and Sloth's windows.

The Sloth fixture is another tool's generated output for a 99.9% objective; the
test reads its windows and factors and checks slactl uses the same ones, with
exact decimals where Sloth writes ``0.0009999999999999432``.
"""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from kits.paths import ROOT

from slactl.app.alerts import INFRA_RULES, INFRA_TESTS, SLO_RULES, SLO_TESTS, generate
from slactl.cli.main import main
from slactl.config import parse
from slactl.rules.burnrate import BURN_ALERTS, WINDOWS
from slactl.rules.unittests import humanize_duration, ratio_series

# Sloth's generated rules for its getting-started example (99.9%), kept beside the repo.
SLOTH = (
    ROOT.parent / "shared" / "peer-fixtures"
    / "slok__sloth__examples___gen__getting-started.yml"
)

THRESHOLDS = {  # objective -> thresholds of (page 1h/5m, page 6h/30m, ticket 1d/2h, ticket 3d/6h)
    "99": ("0.144", "0.06", "0.03", "0.01"),
    "99.9": ("0.0144", "0.006", "0.003", "0.001"),
    "99.95": ("0.0072", "0.003", "0.0015", "0.0005"),
    "99.99": ("0.00144", "0.0006", "0.0003", "0.0001"),
}


def config(objective: str = "99.9", *, runbook: bool = True, infra: bool = True, extra: str = "", burn_on: str = "minutes") -> str:
    alerts = f"alerts: {{burn_on: {burn_on}, infrastructure: {str(infra).lower()}"
    alerts += ", runbook_base_url: https://runbooks.example.com/ops/}" if runbook else "}"
    return f"""
sources:
  prom: {{type: prometheus, url: "http://127.0.0.1:9090"}}
  aws: {{type: cloudwatch, region: us-east-1}}
tiers:
  standard: {{uptime_target: 99.9}}
services:
  api:
    source: prom
    objective: {objective}
    availability:
      errors: http_requests_total{{job="api",code=~"5.."}}
      total: http_requests_total{{job="api"}}
  auth:
    source: prom
    objective: {objective}
    availability: {{probe: 'probe_success{{job="blackbox",service="auth"}}'}}
  web:
    source: aws
    availability:
      errors: {{namespace: AWS/ApplicationELB, metric: HTTPCode_Target_5XX_Count, stat: Sum}}
      total: {{namespace: AWS/ApplicationELB, metric: RequestCount, stat: Sum}}
{extra}
{alerts}
"""


def load(text: str):
    return parse(text, base_dir=Path("."))


def rules_of(files: dict[str, bytes], name: str) -> list[dict]:
    return [r for g in yaml.safe_load(files[name])["groups"] for r in g["rules"]]


def threshold_of(expr: str) -> list[str]:
    return re.findall(r"> ([0-9.]+)(?:\n|$)", expr)


@pytest.mark.parametrize("objective", sorted(THRESHOLDS))
def test_thresholds_are_exact_decimals(objective):
    files = generate(load(config(objective))).files
    burn = [r for r in rules_of(files, SLO_RULES) if r.get("alert") == "ErrorBudgetBurn"]
    for service in ("api", "auth"):
        mine = [r for r in burn if r["labels"]["service"] == service]
        assert [(r["labels"]["long_window"], r["labels"]["short_window"]) for r in mine] == [
            ("1h", "5m"), ("6h", "30m"), ("1d", "2h"), ("3d", "6h")
        ]
        assert [r["labels"]["severity"] for r in mine] == ["page", "page", "ticket", "ticket"]
        for rule, want in zip(mine, THRESHOLDS[objective], strict=True):
            assert threshold_of(rule["expr"]) == [want, want]
    for data in files.values():
        assert not re.search(rb"\d\.\d*(0000|9999)\d", data), "floating-point noise in the output"


def test_same_windows_and_factors_as_sloth_without_its_noise():
    if not SLOTH.exists():
        pytest.skip(f"peer fixture not found at {SLOTH}")
    sloth = yaml.safe_load(SLOTH.read_text())
    theirs: set[tuple[str, frozenset[str], Decimal]] = set()
    budgets = set()
    for group in sloth["groups"]:
        for rule in group["rules"]:
            if "alert" not in rule:
                continue
            sev = rule["labels"]["sloth_severity"]
            hits = re.findall(r"ratio_rate(\w+)\{[^}]*\} > \(([0-9.]+) \* ([0-9.]+)\)", rule["expr"])
            assert len(hits) == 4
            for (w1, f1, b1), (w2, f2, b2) in zip(hits[::2], hits[1::2], strict=True):
                assert f1 == f2
                theirs.add((sev, frozenset((w1, w2)), Decimal(f1)))
                budgets |= {b1, b2}
    assert budgets == {"0.0009999999999999432"}  # Sloth's float noise for a 99.9% objective
    recorded = {r["labels"]["sloth_window"] for g in sloth["groups"] for r in g["rules"] if "sloth_window" in r.get("labels", {})}
    assert recorded - {"30d"} == set(WINDOWS)

    files = generate(load(config("99.9"))).files
    mine = set()
    for rule in rules_of(files, SLO_RULES):
        if rule.get("alert") == "ErrorBudgetBurn" and rule["labels"]["service"] == "api":
            lab = rule["labels"]
            (thr,) = set(threshold_of(rule["expr"]))
            assert "e" not in thr.lower() and len(thr) <= 6  # 0.0144, 0.006, 0.003, 0.001
            mine.add((lab["severity"], frozenset((lab["long_window"], lab["short_window"])), Decimal(thr) / Decimal("0.001")))
    assert mine == theirs


def test_names_labels_and_annotations():
    files = generate(load(config())).files
    rules = rules_of(files, SLO_RULES) + rules_of(files, INFRA_RULES)
    records = {r["record"] for r in rules if "record" in r}
    assert records == {"service:slactl_minute_down:state"} | {f"service:slactl_down_minutes:ratio_rate{w}" for w in WINDOWS}
    assert all(re.fullmatch(r"[a-z_]+:[a-z_]+:[a-z0-9_]+", r) for r in records)
    requests = rules_of(generate(load(config(burn_on="requests"))).files, SLO_RULES)
    assert {r["record"] for r in requests if "record" in r} == records | {f"service:slactl_errors:ratio_rate{w}" for w in WINDOWS}
    alerts = [r for r in rules if "alert" in r]
    assert {r["alert"] for r in alerts} == {
        "ErrorBudgetBurn", "HighErrorRate", "ServiceDown", "DatabaseDown", "DiskAlmostFull", "HighCPU", "HighMemory", "SlowQueries"
    }
    for rule in alerts:
        assert rule["labels"]["severity"] in ("page", "ticket", "critical", "warning")
        assert set(rule["annotations"]) == {"summary", "description", "runbook_url"}
        assert rule["annotations"]["runbook_url"] == f"https://runbooks.example.com/ops/{rule['alert']}"
    for rule in (r for r in alerts if r["alert"] == "ErrorBudgetBurn"):
        assert set(rule["labels"]) == {"service", "severity", "long_window", "short_window"}
    spec_for = {"HighErrorRate": "2m", "ServiceDown": "2m", "DatabaseDown": "1m", "DiskAlmostFull": "5m",
                "HighCPU": "10m", "HighMemory": "10m", "SlowQueries": "5m"}
    spec_severity = {"HighCPU": "warning", "HighMemory": "warning", "SlowQueries": "warning"}
    for rule in (r for r in alerts if r["alert"] != "ErrorBudgetBurn"):
        assert rule["for"] == spec_for[rule["alert"]]
        assert rule["labels"]["severity"] == spec_severity.get(rule["alert"], "critical")
    by_name = {r["alert"]: r for r in alerts}
    assert by_name["HighErrorRate"]["labels"]["service"] == "api"
    assert by_name["ServiceDown"]["labels"]["service"] == "auth"
    assert by_name["ServiceDown"]["expr"] == 'max(probe_success{job="blackbox",service="auth"}) == 0'
    no_runbook = generate(load(config(runbook=False))).files
    assert all("runbook_url" not in r["annotations"] for r in rules_of(no_runbook, SLO_RULES) if "alert" in r)


def test_no_traffic_guard_is_in_every_ratio_rule():
    files = generate(load(config(burn_on="requests"))).files
    for rule in rules_of(files, SLO_RULES):
        if "errors:ratio" not in rule.get("record", "x"):
            continue
        if rule.get("labels", {}).get("service") == "api":
            w = rule["record"].rsplit("rate", 1)[1]
            assert rule["expr"] == (
                f'(sum(rate(http_requests_total{{job="api",code=~"5.."}}[{w}])) or vector(0))\n'
                f"/\n"
                f'(sum(rate(http_requests_total{{job="api"}}[{w}])) > 0)'
            )
        if rule.get("labels", {}).get("service") == "auth":
            assert rule["expr"].startswith("1 - avg(avg_over_time(probe_success{")


def test_cloudwatch_services_are_skipped_and_said_so():
    gen = generate(load(config()))
    groups = [g["name"] for g in yaml.safe_load(gen.files[SLO_RULES])["groups"]]
    assert groups == ["slactl-slo-api", "slactl-slo-auth"]
    assert "web" in gen.skipped and "cloudwatch" in gen.skipped["web"]
    assert any("'web'" in w and "Prometheus sources only" in w for w in gen.warnings)


def test_bytes_are_deterministic_and_files_follow_the_infrastructure_switch(tmp_path, capsys):
    cfg = tmp_path / "slactl.yaml"
    cfg.write_text(config())
    assert main(["--config", str(cfg), "alerts", "generate", "--out", str(tmp_path / "a")]) == 0
    assert main(["--config", str(cfg), "alerts", "generate", "--out", str(tmp_path / "b")]) == 0
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert names == sorted([SLO_RULES, SLO_TESTS, INFRA_RULES, INFRA_TESTS])
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert "warning: service 'web' has no rules" in capsys.readouterr().err
    cfg.write_text(config(infra=False))
    assert main(["--config", str(cfg), "alerts", "generate", "--out", str(tmp_path / "c")]) == 0
    assert sorted(p.name for p in (tmp_path / "c").iterdir()) == sorted([SLO_RULES, SLO_TESTS])


def test_for_durations_follow_the_table():
    files = generate(load(config())).files
    burn = [r for r in rules_of(files, SLO_RULES) if r.get("alert") == "ErrorBudgetBurn"][:4]
    assert [r["for"] for r in burn] == [a.hold for a in BURN_ALERTS] == ["2m", "15m", "1h", "3h"]


@pytest.mark.parametrize(
    ("errors", "total", "inside"),
    [
        ('http_requests_total{job="api",code=~"5..|429"}', 'http_requests_total{job="api"}', True),
        ('http_requests_total{job="api",code!~"[1-4].."}', 'http_requests_total{job="api",code!=""}', True),
        ('http_errors_total{service="api"}', 'http_requests_total{service="api"}', False),
        ('{__name__="rpc_total",status="error"}', '{__name__="rpc_total"}', True),
    ],
)
def test_unit_test_series_match_the_users_selectors(errors, total, inside):
    cfg = load(
        f"""
sources: {{prom: {{type: prometheus, url: "http://127.0.0.1:9090"}}}}
tiers: {{standard: {{uptime_target: 99.9}}}}
services:
  api:
    source: prom
    availability: {{errors: '{errors}', total: '{total}'}}
"""
    )
    rs = ratio_series(cfg.services["api"])
    assert rs is not None and rs.errors_in_total is inside
    assert rs.errors != rs.good


def test_humanize_duration_matches_prometheus_for_sub_second_values():
    assert humanize_duration(0.3) == "300ms"
    assert humanize_duration(0.30000000000000004) == "300ms"
    assert humanize_duration(0.0005) == "500us"
    assert humanize_duration(0) == "0.0000s"
