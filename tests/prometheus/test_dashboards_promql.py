"""Every query of every generated dashboard, run on a real Prometheus over a backfilled month.

The TSDB holds January 2026 of the series ``examples/slactl.yaml`` selects (with an
api outage, a merged second one and a failing auth probe), plus two days of
node_exporter, postgres_exporter and business series. Each panel target is run
with Grafana's variables substituted as Grafana would (``$__range`` = the month) as
an instant query at the month's end and as a short range query; the SLA panels
must return data for every configured service, and their figures must match the
injected outages.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from kits.paths import ROOT
from kits.prometheus import OpenMetrics

from slactl.app.alerts import SLO_RULES, generate
from slactl.config import load
from slactl.dashboards.build import build_all
from slactl.promql.burn import WINDOWS

pytestmark = pytest.mark.prometheus

EXAMPLE = ROOT / "examples" / "slactl.yaml"
T0 = int(datetime(2026, 1, 1, tzinfo=UTC).timestamp())
T1 = int(datetime(2026, 2, 1, tzinfo=UTC).timestamp())
MINUTES = (T1 - T0) // 60
OFFSET = 15  # scrapes 15 s after each whole minute
API_OUTAGES = (range(10000, 10010), range(10012, 10014))  # 2 minutes apart: one incident
AUTH_DOWN = range(20000, 20005)
BUCKETS = ("0.025", "0.05", "0.1", "0.25", "0.5", "1", "+Inf")
PER_MINUTE = (40, 70, 90, 97, 99, 100, 100)  # cumulative bucket increments per minute

VARIABLES = {
    "$__rate_interval": "5m",
    "$__interval": "1m",
    "$__range": f"{T1 - T0}s",
    "$__from": str(T0 * 1000),
    "$instance": ".+",
}


def api_bad(k: int) -> bool:
    return any(k in outage for outage in API_OUTAGES)


def month_times() -> list[int]:
    return [T0 + 60 * k + OFFSET for k in range(-5, MINUTES)]


def add_http(om: OpenMetrics, job: str, tenants: tuple[str, ...], bad) -> None:
    times = month_times()
    for tenant in tenants:
        extra = {"tenant": tenant} if tenant else {}
        ok, err, oks, errs = 0.0, 0.0, [], []
        for i, ts in enumerate(times):
            if bad(i - 5):
                err += 100
            else:
                ok += 100
            oks.append((ts, ok))
            errs.append((ts, err))
        om.counter("http_requests_total", {"job": job, "code": "200", **extra}, oks)
        om.counter("http_requests_total", {"job": job, "code": "500", **extra}, errs)
    for le, per_minute in zip(BUCKETS, PER_MINUTE, strict=True):
        om.counter(
            "http_request_duration_seconds_bucket",
            {"job": job, "le": le},
            [(ts, float(per_minute * i)) for i, ts in enumerate(times)],
        )


def add_platform(om: OpenMetrics) -> None:
    """Two days of node_exporter, postgres_exporter and business series."""
    times = [T1 - 2 * 86400 + 60 * k + OFFSET for k in range(2 * 1440)]

    def gauge(name: str, labels: dict[str, str], value: float) -> None:
        om.gauge(name, labels, [(ts, value) for ts in times])

    def counter(name: str, labels: dict[str, str], per_minute: float) -> None:
        om.counter(name, labels, [(ts, per_minute * i) for i, ts in enumerate(times)])

    for host in ("node1:9100", "node2:9100"):
        h = {"instance": host, "job": "node"}
        for cpu in ("0", "1"):
            counter("node_cpu_seconds_total", {**h, "cpu": cpu, "mode": "idle"}, 45)
            counter("node_cpu_seconds_total", {**h, "cpu": cpu, "mode": "user"}, 15)
        gauge("node_memory_MemAvailable_bytes", h, 4e9)
        gauge("node_memory_MemTotal_bytes", h, 16e9)
        fs = {**h, "mountpoint": "/", "fstype": "ext4", "device": "/dev/sda1"}
        gauge("node_filesystem_avail_bytes", fs, 20e9)
        gauge("node_filesystem_size_bytes", fs, 100e9)
        gauge("node_load1", h, 0.7)
        counter("node_network_receive_bytes_total", {**h, "device": "eth0"}, 6e6)
        counter("node_network_transmit_bytes_total", {**h, "device": "eth0"}, 3e6)
        counter("node_disk_io_time_seconds_total", {**h, "device": "sda"}, 12)
        gauge("node_uname_info", {**h, "nodename": host.split(":")[0]}, 1)
        gauge("up", h, 1)
    pg = {"instance": "db1:9187", "job": "postgres"}
    for state, n in (("active", 12), ("idle", 30)):
        gauge("pg_stat_activity_count", {**pg, "datname": "app", "state": state}, n)
        gauge("pg_stat_activity_max_tx_duration", {**pg, "datname": "app", "state": state}, 2.5)
    gauge("pg_settings_max_connections", pg, 100)
    counter(
        "pg_stat_statements_seconds_total",
        {**pg, "datname": "app", "queryid": "1", "user": "app"},
        3,
    )
    counter(
        "pg_stat_statements_calls_total",
        {**pg, "datname": "app", "queryid": "1", "user": "app"},
        600,
    )
    gauge("pg_replication_lag_seconds", pg, 0.4)
    for name, per_minute in (
        ("xact_commit", 900),
        ("xact_rollback", 3),
        ("blks_hit", 99000),
        ("blks_read", 400),
    ):
        counter(f"pg_stat_database_{name}", {**pg, "datname": "app"}, per_minute)
    gauge("up", pg, 1)
    for inst in ("app1:8080", "app2:8080"):
        b = {"instance": inst, "job": "app"}
        gauge("active_users", b, 250)
        counter("tasks_created_total", b, 7)
        gauge("websocket_connections", b, 120)


DB_MAINTENANCE = range(
    (int(datetime(2026, 1, 17, 2, tzinfo=UTC).timestamp()) - T0) // 60,
    (int(datetime(2026, 1, 17, 4, tzinfo=UTC).timestamp()) - T0) // 60,
)
RULE_OFFSET = 30  # the minute-state rule evaluates 30 s after each whole minute


def minute_states() -> dict[str, dict[int, int]]:
    """What the minute-state rule records for each service: minute → 1 down / 0 up (none: no state)."""
    ks = range(-5, MINUTES)
    return {
        "api": {k: int(api_bad(k)) for k in ks},
        "web": dict.fromkeys(ks, 0),
        "auth": {k: int(k in AUTH_DOWN) for k in ks},
        "db": {k: 0 for k in ks if k not in DB_MAINTENANCE},
    }


def add_recorded(om: OpenMetrics) -> None:
    """The recording rules' series over the month, as ``alerts generate``'s rules would have written them.

    Rules do not run over backfilled history, so the test writes their output;
    ``test_the_minute_state_rule_records_these_states`` checks that the rule's
    expression, run on the same TSDB, gives exactly these states.
    """
    for service, states in minute_states().items():
        times = [T0 + 60 * k + RULE_OFFSET for k in states]
        om.gauge("service:slactl_minute_down:state", {"service": service},
                 list(zip(times, map(float, states.values()), strict=True)))
        for window in WINDOWS:
            w = {"m": 1, "h": 60, "d": 1440}[window[-1]] * int(window[:-1])
            shares = []
            for k in states:
                got = [states[j] for j in range(k - w + 1, k + 1) if j in states]
                shares.append((T0 + 60 * k + RULE_OFFSET, sum(got) / len(got)))
            if w <= 360:  # the dashboards read the page windows and the 2h/6h ticket ones
                om.gauge(f"service:slactl_down_minutes:ratio_rate{window}", {"service": service}, shares)


@pytest.fixture(scope="module")
def prom(make_prometheus) -> str:
    om = OpenMetrics()
    add_recorded(om)
    add_http(om, "api", ("acme", "globex", "initech"), api_bad)
    add_http(om, "web", ("",), lambda k: False)
    times = month_times()
    om.gauge(
        "probe_success",
        {"job": "blackbox", "service": "auth", "instance": "https://auth.example.com"},
        [(ts, 0.0 if i - 5 in AUTH_DOWN else 1.0) for i, ts in enumerate(times)],
    )
    om.gauge("pg_up", {"job": "postgres", "instance": "db1:9187"}, [(ts, 1.0) for ts in times])
    add_platform(om)
    return make_prometheus(om)


@pytest.fixture(scope="module")
def dashboards() -> dict[str, dict[str, Any]]:
    import json

    return {name: json.loads(data) for name, data in build_all(load(EXAMPLE)).items()}


def substitute(expr: str) -> str:
    for name in sorted(VARIABLES, key=len, reverse=True):
        expr = expr.replace(name, VARIABLES[name])
    assert "$" not in expr, f"unsubstituted variable in {expr}"
    return expr


def all_targets(dashboards) -> list[tuple[str, dict, dict]]:
    return [
        (name, panel, t)
        for name, dash in dashboards.items()
        for panel in dash["panels"]
        for t in panel.get("targets", [])
    ]


def query(url: str, expr: str, *, instant: bool) -> dict[str, Any]:
    if instant:
        params = {"query": expr, "time": T1}
        path = "/api/v1/query"
    else:
        params = {"query": expr, "start": T1 - 3600, "end": T1, "step": 300}
        path = "/api/v1/query_range"
    resp = httpx.post(url + path, data=params, timeout=60)
    return resp.json()


@pytest.fixture(scope="module")
def results(prom, dashboards) -> dict[tuple[str, int, str, bool], dict[str, Any]]:
    """Every target run both ways, in parallel: (file, panel id, refId, instant) → answer."""
    jobs = [
        ((name, panel["id"], t["refId"], instant), substitute(t["expr"]), instant)
        for name, panel, t in all_targets(dashboards)
        for instant in (True, False)
    ]
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = pool.map(lambda job: query(prom, job[1], instant=job[2]), jobs)
        return {job[0]: answer for job, answer in zip(jobs, answers, strict=True)}


def test_every_query_runs(results, dashboards):
    failed = {
        key: ans.get("error") for key, ans in results.items() if ans.get("status") != "success"
    }
    assert not failed
    assert len(results) == 2 * len(all_targets(dashboards)) > 300


def test_every_platform_panel_has_data(results, dashboards):
    """The fixture feeds every metric the platform dashboards read: no panel is empty."""
    empty = [
        (name, panel["title"], t["refId"])
        for name, panel, t in all_targets(dashboards)
        if name not in ("sla-overview.json",) and not name.startswith("slo-")
        if not results[(name, panel["id"], t["refId"], True)]["data"]["result"]
    ]
    assert not empty


def test_sla_panels_have_data_for_every_service(results, dashboards):
    overview = dashboards["sla-overview.json"]
    cfg = load(EXAMPLE)
    top = overview["panels"][0]
    assert [t["legendFormat"] for t in top["targets"]] == list(cfg.services)
    for name, panel, t in all_targets({"sla-overview.json": overview}):
        answer = results[(name, panel["id"], t["refId"], True)]
        assert answer["data"]["result"], f"{panel['title']} {t['legendFormat']}: no data"
    for service in cfg.services:
        detail = f"slo-{service}.json"
        for name, panel, t in all_targets({detail: dashboards[detail]}):
            if panel["type"] == "stat":
                answer = results[(name, panel["id"], t["refId"], True)]
                assert answer["data"]["result"], f"{service}: {panel['title']}: no data"


def _stat(
    results, dashboards, file: str, title: str, legend: str | None = None
) -> dict[str, float]:
    dash = dashboards[file]
    out: dict[str, float] = {}
    for panel in dash["panels"]:
        if panel["title"] != title:
            continue
        for t in panel["targets"]:
            if legend is not None and t["legendFormat"] != legend:
                continue
            for series in results[(file, panel["id"], t["refId"], True)]["data"]["result"]:
                key = series["metric"].get("tier") or t["legendFormat"]
                out[key] = float(series["value"][1])
    return out


def test_figures_follow_the_injected_outages(results, dashboards):
    uptime = _stat(results, dashboards, "sla-overview.json", "Uptime by service")
    assert uptime["web"] == 100.0 and uptime["db"] == 100.0
    # 5 failing probe minutes and 10 + 2 bad api minutes
    # (Prometheus 2's closed subquery window holds MINUTES + 1 points, hence abs=1e-6)
    assert uptime["auth"] == pytest.approx(100 * (1 - 5 / MINUTES), abs=1e-6)
    api_down = round((100 - uptime["api"]) / 100 * MINUTES)
    assert api_down == 12
    incidents = {
        s: _stat(results, dashboards, f"slo-{s}.json", "Incidents")["incidents"]
        for s in ("api", "web", "auth", "db")
    }
    assert incidents == {
        "api": 1.0,
        "web": 0.0,
        "auth": 1.0,
        "db": 0.0,
    }  # api's two runs merge (gap 2)
    margins = _stat(results, dashboards, "slo-auth.json", "Margin to each tier")
    assert set(margins) == {"standard", "professional", "enterprise"}
    assert margins["enterprise"] == pytest.approx(uptime["auth"] - 99.99)
    budget = _stat(results, dashboards, "slo-web.json", "Error budget left")
    assert budget == {"budget left": 1.0}
    auth_budget = _stat(results, dashboards, "slo-auth.json", "Error budget left")["budget left"]
    assert auth_budget == pytest.approx(1 - 5 / (0.0005 * 43200))  # auth's objective is 99.95
    p95 = _stat(results, dashboards, "slo-web.json", "Latency this month", "P95")["P95"]
    assert 0.1 < p95 <= 0.25


def test_the_minute_state_rule_records_these_states(prom):
    """The generated rule's expression, evaluated where the rule would run, gives the states the fixture recorded."""
    import yaml

    rules = yaml.safe_load(generate(load(EXAMPLE)).files[SLO_RULES])
    for group in rules["groups"]:
        rule = next(r for r in group["rules"] if r.get("record") == "service:slactl_minute_down:state")
        service = rule["labels"]["service"]
        got: dict[int, int] = {}
        for first in range(0, MINUTES, 10000):  # query_range answers at most 11,000 points
            last = min(first + 10000, MINUTES) - 1
            params = {"query": rule["expr"], "start": T0 + 60 * first + RULE_OFFSET,
                      "end": T0 + 60 * last + RULE_OFFSET, "step": 60}
            answer = httpx.post(prom + "/api/v1/query_range", data=params, timeout=120).json()
            for series in answer["data"]["result"]:
                got.update({(int(t) - T0 - RULE_OFFSET) // 60: int(float(v)) for t, v in series["values"]})
        want = {k: v for k, v in minute_states()[service].items() if k >= 0}
        assert got == want, service


def test_incidents_count_a_run_already_down_when_the_range_starts(prom, dashboards):
    """The range starts inside api's first outage: the report clips it and counts it, so must the panel."""
    panel = next(p for p in dashboards["slo-api.json"]["panels"] if p["title"] == "Incidents")
    start = T0 + 60 * (API_OUTAGES[0].start + 3)
    expr = panel["targets"][0]["expr"]
    expr = expr.replace("$__range", f"{T1 - start}s").replace("$__from", str(start * 1000))
    result = httpx.post(prom + "/api/v1/query", data={"query": expr, "time": T1}, timeout=60).json()
    assert [float(s["value"][1]) for s in result["data"]["result"]] == [1.0]


def test_burndown_counts_from_the_range_start(results, dashboards):
    dash = dashboards["slo-auth.json"]
    panel = next(p for p in dash["panels"] if p["title"] == "Error budget burn-down")
    answer = results[("slo-auth.json", panel["id"], "A", False)]
    values = [float(v) for _, v in answer["data"]["result"][0]["values"]]
    assert values == pytest.approx([1 - 5 / (0.0005 * 43200)] * len(values))


def test_variable_queries_return_values(prom, dashboards):
    for name, dash in dashboards.items():
        for var in dash["templating"]["list"]:
            if var["type"] != "query":
                continue
            m = re.fullmatch(r"label_values\((\w+), (\w+)\)", var["query"])
            assert m, var["query"]
            resp = httpx.get(
                f"{prom}/api/v1/label/{m[2]}/values", params={"match[]": m[1]}, timeout=30
            )
            assert resp.json()["data"], f"{name}: {var['name']} has no values"
