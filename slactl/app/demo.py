"""``slactl demo``: the embedded default, a complete example with no server.

It writes a config that uses the built-in ``sample`` source, so the month's data
is generated in-process into an SQLite store in the output folder, then runs
the same pipeline a real installation runs and says where everything is.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from slactl.app import alerts
from slactl.app.credits import run_credits
from slactl.app.ingest import ingest
from slactl.app.measure import months_before
from slactl.app.report import report_monthly
from slactl.app.statuspage import build_site, publish_site
from slactl.app.summary import report_summary
from slactl.config import load
from slactl.dashboards.build import build_all
from slactl.model import minute_to_iso
from slactl.publish.files import write_all, write_atomic
from slactl.sli.period import month_period, parse_month
from slactl.store.sql import Store

DEMO_CONFIG = """\
# slactl demo configuration: built-in sample data, no server needed.
# Copy it, point `sources` at your Prometheus and change the selectors.
timezone: UTC
store: sqlite:///slactl.db

sources:
  sample:
    type: sample
    seed: {seed}

tiers:
  standard:
    uptime_target: 99.9
    credits:
      - {{below: 99.9, percent: 10}}
      - {{below: 99.0, percent: 25}}
      - {{below: 95.0, percent: 100}}
  professional:
    uptime_target: 99.95
    credits:
      - {{below: 99.95, percent: 10}}
      - {{below: 99.0, percent: 25}}
      - {{below: 95.0, percent: 100}}
  enterprise:
    uptime_target: 99.99
    credits:
      - {{below: 99.99, percent: 10}}
      - {{below: 99.0, percent: 30}}
      - {{below: 95.0, percent: 100}}

latency_targets_seconds: {{p50: 0.050, p95: 0.200, p99: 0.500}}

services:
  api:
    name: Public API
    description: REST endpoints for every tenant
    group: Platform
    source: sample
    availability:
      errors: http_requests_total{{service="api",code=~"5.."}}
      total: http_requests_total{{service="api"}}
    latency:
      histogram: http_request_duration_seconds_bucket{{service="api"}}
    group_by: [tenant]
    incident_merge_gap_minutes: 2
  web:
    name: Web app
    description: The browser application
    group: Platform
    source: sample
    availability:
      errors: http_requests_total{{service="web",code=~"5.."}}
      total: http_requests_total{{service="web"}}
    latency:
      histogram: http_request_duration_seconds_bucket{{service="web"}}
  auth:
    name: Sign-in
    description: Login and single sign-on
    group: Identity
    source: sample
    availability:
      probe: probe_success{{job="blackbox",service="auth"}}
  db:
    name: Database
    group: Data
    source: sample
    no_data: down
    availability:
      probe: pg_up{{service="db"}}

customers:
  acme:
    name: ACME Corporation
    contact: ap@acme.example
    tier: professional
    monthly_fee: "12000.00"
    currency: USD
    services: [api, web]
    match: {{tenant: acme}}
  globex:
    name: Globex GmbH
    contact: billing@globex.example
    tier: enterprise
    monthly_fee: "4999.99"
    currency: EUR
    services: [api, auth]
    match: {{tenant: globex}}
  initech:
    name: Initech LLC
    tier: standard
    monthly_fee: "800.00"
    currency: USD
    services: [api, db]
    match: {{tenant: initech}}

maintenance:
  - start: {year:04d}-{month:02d}-17T02:00:00Z
    end: {year:04d}-{month:02d}-17T04:00:00Z
    services: [db]
    reason: Database engine upgrade

company:
  name: Generic Corp
  address: ["1 Main St", "Springfield"]
  contact: billing@genericcorp.example
  claim_days: 30

report:
  history_months: 6
  pdf: true

status_page:
  title: Generic Corp Status
  url: https://status.genericcorp.example/
  days: 90
"""


def demo_config(month: str, seed: int) -> str:
    year, mon = parse_month(month)
    return DEMO_CONFIG.format(seed=seed, year=year, month=mon)


def run_demo(out: Path, *, month: str, seed: int, now: datetime) -> list[str]:
    """Write the demo config and every artefact; return lines saying where they are."""
    out = out.resolve()
    config_path = out / "slactl.yaml"
    write_atomic(config_path, demo_config(month, seed).encode("utf-8"))
    cfg = load(config_path)
    store = Store(cfg.store_url)
    # The status page as it looked when the month closed.
    at = datetime.fromisoformat(minute_to_iso(month_period(month, cfg.timezone).end + 2).replace("Z", "+00:00"))
    at = min(at, now).astimezone(UTC)
    try:
        # The months before, as a scheduler running since then would have stored
        # them: the report's history reads only the store.
        for m in months_before(month, cfg.report.history_months):
            p = month_period(m, cfg.timezone)
            ingest(cfg, store, p.start, p.end, now)
        report = report_monthly(cfg, store, month, out / "reports", now)
        credits = run_credits(cfg, store, month, out / "reports", now)
        site, site_warnings = build_site(cfg, store, at, now)
    finally:
        store.close()
    publish_site(cfg, site, out=out / "status")
    # The sample source's selectors are PromQL: the rules come from the demo config itself.
    rule_paths = alerts.write(alerts.generate(cfg), out / "alerts")
    boards = {out / "dashboards" / name: data for name, data in build_all(cfg).items()}
    write_all(boards)
    lines = [f"slactl demo: {month}, seed {seed}, sample data generated into {out / 'slactl.db'}"]
    lines.append(f"  config:      {config_path}")
    lines += [f"  report:      {p}" for p in report.files]
    lines += [f"  credits:     {p}" for p in credits.files if p.parent.name != "statements"]
    statements = [p for p in credits.files if p.parent.name == "statements"]
    if statements:
        lines.append(f"  statements:  {statements[0].parent}/ ({len(statements)} files, HTML and PDF)")
    lines.append(f"  status page: {out / 'status' / 'index.html'} (as of {minute_to_iso(int(at.timestamp() // 60))})")
    lines.append(f"  alerts:      {out / 'alerts'}/ ({len(rule_paths)} files: rules and promtool tests)")
    lines.append(f"  dashboards:  {out / 'dashboards'}/ ({len(boards)} Grafana JSON files)")
    lines += [f"  warning:     {w}" for w in report.warnings + credits.warnings + site_warnings]
    lines.append(f"  summary:     {report_summary(report.report, report.pulled)}")
    return lines
