"""The one PromQL room: one error ratio, one burn table, one way to reach a server."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from slactl.config import parse
from slactl.dashboards.build import build_all
from slactl.errors import ConfigError
from slactl.promql.connection import connection
from slactl.promql.exprs import error_ratio, minute_state, short_range
from slactl.promql.queries import PAGE_WINDOWS, TICKET_WINDOWS, ServiceQueries
from slactl.rules.burnrate import BURN_ALERTS
from slactl.rules.threshold import service_rules

CONFIG = """
sources:
  prom:
    type: prometheus
    url: https://prom.example.com
    headers: {X-Scope-OrgID: team-a}
    bearer_token_env: PROM_TOKEN
    verify_tls: ca.pem
  basic:
    type: prometheus
    url: http://127.0.0.1:9090
    basic_auth: {username: slactl, password_env: PROM_PASSWORD}
tiers: {enterprise: {uptime_target: 99.99}}
services:
  api:
    source: prom
    objective: 99.99
    no_data: NO_DATA
    availability:
      errors: http_requests_total{job="api",code=~"5.."}
      total: http_requests_total{job="api"}
"""


def cfg(tmp_path: Path, no_data: str = "ignore"):
    return parse(CONFIG.replace("NO_DATA", no_data), base_dir=tmp_path)


def test_connection_resolves_secrets_and_the_ca_file(tmp_path):
    c = cfg(tmp_path)
    (tmp_path / "ca.pem").write_text("x")
    conn = connection("prom", c.sources["prom"], base_dir=tmp_path, environ={"PROM_TOKEN": "t0k"})
    assert conn.url == "https://prom.example.com"
    assert conn.headers == {"X-Scope-OrgID": "team-a", "Authorization": "Bearer t0k"}
    assert conn.verify == tmp_path / "ca.pem" and conn.basic_auth is None
    basic = connection("basic", c.sources["basic"], base_dir=tmp_path, environ={"PROM_PASSWORD": "pw"})
    assert basic.basic_auth == ("slactl", "pw") and basic.verify is True
    with pytest.raises(ConfigError) as err:
        connection("prom", c.sources["prom"], base_dir=tmp_path, environ={})
    assert err.value.key == "sources.prom.bearer_token_env"
    (tmp_path / "ca.pem").unlink()
    with pytest.raises(ConfigError) as err:
        connection("prom", c.sources["prom"], base_dir=tmp_path, environ={"PROM_TOKEN": "t"})
    assert err.value.key == "sources.prom.verify_tls"


def test_one_error_ratio_for_rules_and_dashboards(tmp_path):
    c = cfg(tmp_path)
    svc = c.services["api"]
    ratio = error_ratio(svc, "5m")
    assert ratio.endswith("> 0)")  # no traffic: no sample, never NaN
    assert ratio in service_rules(c)[0]["expr"].replace("\n  ", "\n")
    dash = ServiceQueries.of(c, "api").error_ratio("5m")
    assert dash == " ".join(line.strip() for line in ratio.splitlines())


def test_one_burn_table(tmp_path):
    assert [(a.long, a.short, float(a.factor)) for a in BURN_ALERTS] == [*PAGE_WINDOWS, *TICKET_WINDOWS]


@pytest.mark.parametrize(("policy", "tail"), [("ignore", "< bool 0.95"), ("up", "or vector(0)"), ("down", "or vector(1)")])
def test_minute_state_follows_the_no_data_policy(tmp_path, policy, tail):
    assert minute_state(cfg(tmp_path, policy).services["api"]).endswith(tail)


def test_short_ranges_are_one_millisecond_less():
    assert [short_range(w) for w in ("1m", "5m", "1h", "3d")] == ["59s999ms", "4m59s999ms", "59m59s999ms", "2d23h59m59s999ms"]


def test_slo_dashboards_carry_no_float_noise(tmp_path):
    files = build_all(cfg(tmp_path))
    for name, data in files.items():
        if name.startswith("slo-") or name == "sla-overview.json":
            numbers = re.findall(rb"\d+\.\d+", data)
            assert not [n for n in numbers if re.search(rb"(0000000|9999999)\d", n)], name
            json.loads(data)
