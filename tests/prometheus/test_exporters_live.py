"""The threshold pack and the platform dashboards against the real exporters.

Starts, all on 127.0.0.1 and free ports: a PostgreSQL 15 cluster (``initdb`` in a temp
folder, as an unprivileged user when run as root, ``pg_stat_statements`` preloaded),
Debian's ``prometheus-postgres-exporter`` over it, ``prometheus-node-exporter``,
``prometheus-blackbox-exporter`` probing the node exporter, and a Prometheus that
scrapes the three every second and loads the rule files ``slactl alerts generate``
writes.  Then:

- every rule is healthy in Prometheus and every rule's query evaluates;
- every metric name a generated rule or dashboard panel reads is in the exporters'
  real output, or ``docs/dashboards.md`` names the exporter version or flag it needs;
- with ``alerts.metric_names`` pointing the names Debian 12's postgres_exporter
  0.11.1 lacks (``pg_stat_statements_*``, ``pg_replication_lag_seconds``) at a
  custom-query file's names, nothing is missing, and ``SlowQueries`` goes pending
  on real slow statements.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import promql_parser
import pytest
import yaml
from kits.exporters import (
    BLACKBOX_EXPORTER,
    NODE_EXPORTER,
    POSTGRES_EXPORTER,
    Postgres,
    exporter,
    missing,
    version,
    wait_until,
)
from kits.paths import ROOT
from kits.prometheus import PrometheusServer

from slactl.cli.main import main
from slactl.config import EXPORTER_METRICS, load
from slactl.dashboards.build import build_all

# One stack per module: the last test stops its PostgreSQL, so the module stays on one worker.
pytestmark = [pytest.mark.prometheus, pytest.mark.xdist_group("exporters_live")]

DOCS = ROOT / "docs" / "dashboards.md"
WAIT = 60.0
# What Prometheus itself makes, never an exporter's: alert state series.
PROMETHEUS_OWN = {"ALERTS", "ALERTS_FOR_STATE"}
GRAFANA_VARIABLES = {
    "$__rate_interval": "1m",
    "$__interval": "15s",
    "$__range": "1h",
    "$__from": "0",
    "$instance": ".+",
    "$service": "x",
}

# A custom-query file for postgres_exporter 0.11.1 (``--extend.query-path``): the
# statement and replication figures newer releases export, under names of its own.
QUERIES = """
pg_statements:
  query: "SELECT d.datname, s.queryid::text AS queryid, s.calls AS calls_total,
    s.total_exec_time / 1000 AS exec_seconds_total
    FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid"
  master: true
  metrics:
    - datname: {usage: LABEL, description: database}
    - queryid: {usage: LABEL, description: statement}
    - calls_total: {usage: COUNTER, description: times executed}
    - exec_seconds_total: {usage: COUNTER, description: seconds spent executing}
pg_replication:
  query: "SELECT CASE WHEN NOT pg_is_in_recovery() THEN 0 ELSE GREATEST(0,
    EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())) END AS lag"
  master: true
  metrics:
    - lag: {usage: GAUGE, description: seconds behind the primary}
"""
OVERRIDES = {
    "pg_stat_statements_calls_total": "pg_statements_calls_total",
    "pg_stat_statements_seconds_total": "pg_statements_exec_seconds_total",
    "pg_replication_lag_seconds": "pg_replication_lag",
}


def config_text(metric_names: dict[str, str]) -> str:
    """Services on what the exporters export: the node exporter's own handler counts
    requests (ratio form), the blackbox probe and ``pg_up`` are probes."""
    return f"""
sources: {{prom: {{type: prometheus, url: "http://127.0.0.1:9"}}}}
tiers: {{standard: {{uptime_target: 99.9}}}}
services:
  nodeapi:
    source: prom
    availability:
      errors: promhttp_metric_handler_requests_total{{job="node",code=~"5.."}}
      total: promhttp_metric_handler_requests_total{{job="node"}}
  auth:
    source: prom
    availability: {{probe: 'probe_success{{job="blackbox",service="auth"}}'}}
  db:
    source: prom
    no_data: down
    availability: {{probe: 'pg_up{{job="postgres"}}'}}
alerts:
  infrastructure: true
  metric_names: {json.dumps(metric_names)}
"""


@pytest.fixture(scope="module")
def binaries() -> None:
    gone = missing()
    if gone:
        reason = f"not installed: {', '.join(gone)}"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)


@pytest.fixture(scope="module")
def stack(binaries, prometheus_binaries, tmp_path_factory) -> Iterator[dict[str, Any]]:
    """PostgreSQL, the three exporters and Prometheus loading the override config's rules."""
    work = tmp_path_factory.mktemp("exporters")
    pg = Postgres()
    procs = []
    try:
        pg.start()
        pg.execute("CREATE EXTENSION pg_stat_statements")
        pg.execute("CREATE DATABASE app")
        (work / "queries.yaml").write_text(QUERIES)
        pg_exp, pg_addr = exporter(
            POSTGRES_EXPORTER,
            work,
            f"--extend.query-path={work / 'queries.yaml'}",
            env={"DATA_SOURCE_NAME": pg.dsn},
        )
        procs.append(pg_exp)
        node, node_addr = exporter(NODE_EXPORTER, work)
        procs.append(node)
        (work / "blackbox.yml").write_text(
            "modules:\n  http_2xx:\n    prober: http\n    timeout: 5s\n"
        )
        box, box_addr = exporter(BLACKBOX_EXPORTER, work, f"--config.file={work / 'blackbox.yml'}")
        procs.append(box)

        rules: dict[str, Path] = {}
        for name, names in (("default", {}), ("override", OVERRIDES)):
            folder = work / name
            folder.mkdir()
            (folder / "slactl.yaml").write_text(config_text(names))
            assert (
                main(
                    [
                        "--config",
                        str(folder / "slactl.yaml"),
                        "alerts",
                        "generate",
                        "--out",
                        str(folder),
                    ]
                )
                == 0
            )
            rules[name] = folder
        scrape = f"""
scrape_configs:
  - job_name: node
    static_configs: [{{targets: ["{node_addr}"]}}]
  - job_name: postgres
    # With PostgreSQL down, the exporter's answer (pg_up 0) was seen to take longer
    # than a 1s scrape on a busy machine: the target went down and pg_up vanished.
    scrape_interval: 5s
    scrape_timeout: 5s
    static_configs: [{{targets: ["{pg_addr}"]}}]
  - job_name: blackbox
    metrics_path: /probe
    params: {{module: [http_2xx]}}
    static_configs: [{{targets: ["http://{node_addr}/metrics"], labels: {{service: auth}}}}]
    relabel_configs:
      - {{source_labels: [__address__], target_label: __param_target}}
      - {{source_labels: [__param_target], target_label: instance}}
      - {{target_label: __address__, replacement: "{box_addr}"}}
"""
        prom = PrometheusServer(
            work / "tsdb",
            workdir=work,
            extra_config=scrape,
            rule_files=sorted(rules["override"].glob("*.rules.yml")),
            scrape_interval="1s",
            evaluation_interval="1s",
        )
        prom.start()
        procs.append(prom)
        url = prom.url
        wait_until(lambda: _targets_up(url) == 3, WAIT, "three scrape targets up")
        # Two scrapes of every counter, so rate() has something to say.
        wait_until(
            lambda: bool(_query(url, "rate(node_cpu_seconds_total[1m])")), WAIT, "node rates"
        )
        yield {
            "url": url,
            "pg": pg,
            "rules": rules,
            "configs": {k: load(v / "slactl.yaml") for k, v in rules.items()},
        }
    finally:
        for proc in reversed(procs):
            proc.stop()
        pg.cleanup()


def _query(url: str, expr: str) -> list[dict[str, Any]]:
    resp = httpx.post(f"{url}/api/v1/query", data={"query": expr}, timeout=10)
    body = resp.json()
    assert body["status"] == "success", (expr, body)
    return body["data"]["result"]


def _targets_up(url: str) -> int:
    return sum(1 for s in _query(url, "up") if s["value"][1] == "1")


def _rule_docs(folder: Path) -> list[dict[str, Any]]:
    return [
        rule
        for path in sorted(folder.glob("*.rules.yml"))
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
    ]


def metric_names(expr: str) -> set[str]:
    """Every metric name a PromQL expression selects."""
    for var in sorted(GRAFANA_VARIABLES, key=len, reverse=True):
        expr = expr.replace(var, GRAFANA_VARIABLES[var])
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, promql_parser.VectorSelector):
            name = node.name or next(
                (m.value for m in node.matchers.matchers if m.name == "__name__"), None
            )
            if name:
                found.add(name)
        for attr in ("expr", "lhs", "rhs", "vector_selector", "param"):
            child = getattr(node, attr, None)
            if child is not None and not isinstance(child, str | int | float):
                walk(child)
        for child in getattr(node, "args", None) or ():
            walk(child)

    walk(promql_parser.parse(expr))
    return found


def used_names(cfg, rules_dir: Path) -> tuple[set[str], set[str]]:
    """(names read by rules and dashboards, names the rules record themselves)."""
    rules = _rule_docs(rules_dir)
    recorded = {r["record"] for r in rules if "record" in r}
    used = set().union(*(metric_names(r["expr"]) for r in rules))
    business = set(cfg.dashboards.business.model_dump().values())
    for name, data in build_all(cfg).items():
        if name == "business-metrics.json":
            continue  # the application's own metrics, not an exporter's
        for panel in json.loads(data)["panels"]:
            for target in panel.get("targets", []):
                used |= metric_names(target["expr"])
    return used - recorded - PROMETHEUS_OWN - business, recorded


def exported(url: str) -> set[str]:
    resp = httpx.get(f"{url}/api/v1/label/__name__/values", timeout=10)
    return set(resp.json()["data"])


def test_versions_of_what_runs(binaries):
    """Pins in the log what was tested (the docs name these versions)."""
    for binary in (NODE_EXPORTER, BLACKBOX_EXPORTER, POSTGRES_EXPORTER):
        line = version(binary)
        print(line)
        assert re.search(r"version \d+\.\d+", line), line


def test_every_rule_loads_healthy_and_evaluates(stack):
    url = stack["url"]

    def groups() -> list[dict[str, Any]]:
        return httpx.get(f"{url}/api/v1/rules", timeout=10).json()["data"]["groups"]

    def infra_evaluated() -> bool:
        return any(
            g["name"] == "slactl-infrastructure"
            and all(r["lastEvaluation"] > "2000" for r in g["rules"])
            for g in groups()
        )

    wait_until(infra_evaluated, WAIT, "the threshold pack evaluated once")
    loaded = groups()
    names = {g["name"] for g in loaded}
    assert "slactl-infrastructure" in names
    for group in loaded:
        for rule in group["rules"]:
            assert rule["health"] != "err", (group["name"], rule["name"], rule.get("lastError"))
            if group["name"] == "slactl-infrastructure":
                assert rule["health"] == "ok", (rule["name"], rule.get("lastError"))
    pack = {r["name"] for g in loaded if g["name"] == "slactl-infrastructure" for r in g["rules"]}
    assert {"DatabaseDown", "DiskAlmostFull", "HighCPU", "HighMemory", "SlowQueries"} <= pack
    assert {"HighErrorRate", "ServiceDown"} <= pack
    # Both configs' rule queries run without error against the real series.
    for folder in stack["rules"].values():
        for rule in _rule_docs(folder):
            _query(url, rule["expr"])


def test_threshold_pack_sees_real_series(stack):
    """Each threshold alert's condition, without its comparison, finds the exporters' series."""
    url = stack["url"]
    for expr in (
        "pg_up",
        '1 - node_filesystem_avail_bytes{fstype!~"tmpfs|ramfs|devtmpfs|squashfs|overlay|nsfs"}'
        " / (node_filesystem_size_bytes > 0)",
        '1 - avg by (job, instance) (rate(node_cpu_seconds_total{mode="idle"}[1m]))',
        "1 - node_memory_MemAvailable_bytes / (node_memory_MemTotal_bytes > 0)",
        'probe_success{job="blackbox",service="auth"}',
    ):
        assert _query(url, expr), expr
    assert _query(url, "pg_up")[0]["value"][1] == "1"


def documented_requirements() -> dict[str, str]:
    """Metric name → its line in docs/dashboards.md's table of names."""
    text = DOCS.read_text(encoding="utf-8")
    out = {}
    for line in text.splitlines():
        if line.startswith("|"):
            for name in re.findall(r"`([a-zA-Z_:][a-zA-Z0-9_:]*)`", line.split("|")[1]):
                out[name] = line
    return out


def test_every_metric_name_is_exported_or_documented(stack):
    url = stack["url"]
    have = exported(url)
    docs = documented_requirements()
    default_used, _ = used_names(stack["configs"]["default"], stack["rules"]["default"])
    assert {"pg_up", "node_cpu_seconds_total", "probe_success"} <= default_used  # parsed at all
    missing_names = default_used - have
    print(f"exported by {version(POSTGRES_EXPORTER)} and friends; missing: {sorted(missing_names)}")
    for name in sorted(missing_names):
        line = docs.get(name)
        assert line, f"{name} is not exported here and docs/dashboards.md does not list it"
        assert re.search(r"\d+\.\d+|--[a-z]", line), f"{name}: the docs name no version or flag"
    # Every exporter name the pack and dashboards read is overridable and documented.
    assert default_used - {n for n in default_used if not n.startswith(("pg_", "node_"))} <= set(
        EXPORTER_METRICS
    )
    for name in EXPORTER_METRICS:
        assert name in docs, f"{name} is missing from docs/dashboards.md's table"
    # With the overrides, every name resolves to a real series.
    over_used, _ = used_names(stack["configs"]["override"], stack["rules"]["override"])
    assert not over_used - have, sorted(over_used - have)


def test_docs_show_the_mapping_the_tests_use():
    text = DOCS.read_text(encoding="utf-8")
    for standard, custom in OVERRIDES.items():
        assert f"{standard}: {custom}" in text


def test_slow_queries_fires_through_the_override(stack):
    """Slow statements in a database put SlowQueries (renamed metrics) in pending."""
    url, pg = stack["url"], stack["pg"]
    stop = threading.Event()

    def slow_statements() -> None:
        for _ in range(40):  # bounded: at most ~40 statements
            if stop.is_set():
                return
            pg.execute("SELECT pg_sleep(0.25)", database="app")
            time.sleep(0.5)

    worker = threading.Thread(target=slow_statements, daemon=True)
    worker.start()
    try:

        def pending() -> bool:
            alerts = httpx.get(f"{url}/api/v1/alerts", timeout=10).json()["data"]["alerts"]
            return any(
                a["labels"]["alertname"] == "SlowQueries" and a["labels"].get("datname") == "app"
                for a in alerts
            )

        wait_until(pending, WAIT, "SlowQueries pending for database app", step=0.5)
    finally:
        stop.set()
        worker.join(timeout=30)
    mean = _query(
        url,
        'sum by (datname) (rate(pg_statements_exec_seconds_total{datname="app"}[5m]))'
        ' / sum by (datname) (rate(pg_statements_calls_total{datname="app"}[5m]))',
    )
    assert 0.2 < float(mean[0]["value"][1]) < 1.0


def test_database_down_condition_follows_a_stopped_postgres(stack):
    """Last (it stops PostgreSQL): the exporter reports pg_up 0, DatabaseDown's condition."""
    url = stack["url"]
    stack["pg"].stop()
    try:
        wait_until(lambda: bool(_query(url, "pg_up == 0")), WAIT, "pg_up == 0 after the stop")
    except TimeoutError as exc:  # say what the exporter reported instead
        raise AssertionError(f"{exc}; pg_up: {_query(url, 'pg_up')}; up: {_query(url, 'up')}") from None
