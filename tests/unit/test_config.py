"""Config validation: every mistake fails at load time with file, key path and problem, exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from slactl.cli.main import main
from slactl.config import load, parse
from slactl.errors import ConfigError

GOOD = """
timezone: Asia/Kolkata
sources:
  prom: {type: prometheus, url: "http://127.0.0.1:9090"}
  aws: {type: cloudwatch, region: us-east-1}
tiers:
  standard: {uptime_target: 99.9, credits: [{below: 99.9, percent: 10}, {below: 99.0, percent: 25}]}
  enterprise: {uptime_target: 99.99}
latency_targets_seconds: {p50: 0.05, p95: 0.2, p99: 0.5}
services:
  api:
    source: prom
    availability:
      errors: http_requests_total{service="api",code=~"5.."}
      total: http_requests_total{service="api"}
    latency:
      histogram: http_request_duration_seconds_bucket{service="api"}
    group_by: [tenant]
    slice_threshold: 0.95
  web:
    source: aws
    availability:
      errors: {namespace: AWS/ApplicationELB, metric: HTTPCode_Target_5XX_Count, dimensions: {LoadBalancer: app/web/1}, stat: Sum}
      total: {namespace: AWS/ApplicationELB, metric: RequestCount, dimensions: {LoadBalancer: app/web/1}, stat: Sum}
  db:
    source: prom
    availability: {probe: pg_up}
customers:
  acme: {tier: enterprise, monthly_fee: "12000.00", services: [api, web], match: {tenant: acme}}
maintenance:
  - {start: 2026-01-17T02:00:00Z, end: 2026-01-17T04:00:00Z, services: [db], reason: upgrade}
  - {start: 2026-01-18 02:00:00, end: 2026-01-18 03:00:00}
"""


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "slactl.yaml"
    p.write_text(text)
    return p


def test_good_config_loads_with_defaults_and_relative_store(tmp_path):
    cfg = load(write(tmp_path, GOOD))
    assert cfg.services["api"].slice_threshold == 0.95
    assert cfg.services["api"].no_data == "ignore"
    assert cfg.services["db"].availability.kind == "probe"
    assert cfg.store_url == f"sqlite:///{tmp_path / 'slactl.db'}"
    assert cfg.objective_for("api") == 99.99  # the highest tier of its customers
    assert cfg.objective_for("db") == 99.9  # no customer uses it
    # A maintenance time without an offset is in the config's time zone (Kolkata, +05:30).
    assert cfg.maintenance[1].start.isoformat() == "2026-01-18T02:00:00+05:30"


@pytest.mark.parametrize(
    ("change", "key", "problem"),
    [
        (("    slice_threshold: 0.95", "    slise_threshold: 0.95"), "services.api.slise_threshold", "unknown key"),
        (("  db:\n    source: prom", "  db:\n    source: nowhere"), "services.db.source", "unknown source 'nowhere'"),
        (("tier: enterprise", "tier: platinum"), "customers.acme.tier", "unknown tier 'platinum'"),
        (('total: http_requests_total{service="api"}', 'total: http_requests_total{service="api"'),
         "services.api.availability.total", "PromQL syntax error"),
        (('total: http_requests_total{service="api"}', 'total: rate(http_requests_total[5m])'),
         "services.api.availability.total", "plain vector selector"),
        (("timezone: Asia/Kolkata", "timezone: Mars/Olympus"), "timezone", "unknown IANA time zone"),
        (("services: [db], reason", "services: [dbx], reason"), "maintenance[0].services[0]", "unknown service"),
        (("availability: {probe: pg_up}", "availability: {probe: pg_up, total: x}"),
         "services.db.availability", "not both"),
        (("match: {tenant: acme}", "match: {team: acme}"), "customers.acme.match.team", "group_by"),
        (("url: \"http://127.0.0.1:9090\"", "url: \"127.0.0.1:9090\""), "sources.prom.url", "http"),
        (("p95: 0.2", "x95: 0.2"), "latency_targets_seconds", "percentile"),
    ],
)
def test_each_mistake_names_file_key_and_problem(tmp_path, capsys, change, key, problem):
    old, new = change
    assert old in GOOD
    path = write(tmp_path, GOOD.replace(old, new, 1))
    with pytest.raises(ConfigError) as info:
        load(path)
    msg = str(info.value)
    assert str(path) in msg and key in msg and problem in msg, msg
    # Through the CLI: exit 2, one line on stderr, no traceback.
    assert main(["--config", str(path), "validate"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and key in err and "Traceback" not in err


def test_validate_ok_and_config_after_subcommand(tmp_path, capsys, monkeypatch):
    path = write(tmp_path, GOOD)
    assert main(["validate", "--config", str(path)]) == 0
    assert "ok" in capsys.readouterr().out
    monkeypatch.setenv("SLACTL_CONFIG", str(path))
    assert main(["validate"]) == 0


def test_missing_file_and_bad_yaml(tmp_path, capsys):
    assert main(["--config", str(tmp_path / "nope.yaml"), "validate"]) == 2
    assert "file not found" in capsys.readouterr().err
    path = write(tmp_path, "services: [\n")
    assert main(["--config", str(path), "validate"]) == 2
    assert "line" in capsys.readouterr().err


def test_secrets_come_from_the_environment_only(tmp_path):
    text = GOOD.replace(
        'url: "http://127.0.0.1:9090"}', 'url: "http://127.0.0.1:9090", bearer_token: "abc"}'
    )
    with pytest.raises(ConfigError, match="sources.prom.bearer_token: unknown key"):
        parse(text, base_dir=tmp_path)
