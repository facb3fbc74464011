"""The generated rules in a real Prometheus: a burst of errors pages, a healthy service stays quiet.

Prometheus scrapes two tiny loopback exporters every second: one whose requests
all fail from its start, one whose requests all succeed.  The rule files are
generated from a config naming both; only the page alerts' ``for:`` is shortened
(a real 2m would make the test wait minutes; the ``for:`` values themselves are
checked by the generated promtool unit tests).  ``rate()`` needs just two
samples, so a 100% error ratio is over 14.4x the budget in every window within
seconds.  ``push`` is tested against a Prometheus started with
``--web.enable-lifecycle`` whose ``rule_files`` glob points into a temp folder.
"""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from kits.flaky import FlakyProxy
from kits.prometheus import PrometheusServer, free_loopback_port

from slactl.app.alerts import INFRA_RULES, SLO_RULES, Reload, generate, push_files, write
from slactl.cli.main import main
from slactl.config import load
from slactl.errors import PublishError
from slactl.promql.connection import Connection
from slactl.rules.burnrate import table

WAIT_SECONDS = 90


@pytest.fixture(autouse=True)
def _binaries(prometheus_binaries):
    """Every test here starts its own prometheus."""


class Exporter:
    """``/metrics`` with request counters growing at fixed rates since start, on 127.0.0.1."""

    def __init__(self, errors_per_second: float, ok_per_second: float) -> None:
        self.rates = (errors_per_second, ok_per_second)
        self.start = time.monotonic()
        exporter = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                body = exporter.body().encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.server.server_address[1]}"

    def body(self) -> str:
        elapsed = time.monotonic() - self.start
        err, ok = (r * elapsed for r in self.rates)
        return (
            "# TYPE http_requests_total counter\n"
            f'http_requests_total{{code="500"}} {err}\n'
            f'http_requests_total{{code="200"}} {ok}\n'
        )

    def __enter__(self) -> Exporter:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def config_text(url: str, source_extra: str = "") -> str:
    services = "".join(
        f"""
  {name}:
    source: prom
    objective: 99.9
    availability:
      errors: http_requests_total{{job="{name}",code=~"5.."}}
      total: http_requests_total{{job="{name}"}}
"""
        for name in ("burst", "healthy")
    )
    return f"""
sources:
  prom: {{type: prometheus, url: "{url}"{source_extra}}}
tiers:
  standard: {{uptime_target: 99.9}}
services:{services}
  gone:
    source: prom
    objective: 99.9
    availability: {{probe: 'up{{job="gone"}}'}}
  alive:
    source: prom
    objective: 99.9
    availability: {{probe: 'up{{job="healthy"}}'}}
alerts: {{burn_on: requests, infrastructure: true, runbook_base_url: "https://runbooks.example.com"}}
"""


def query(url: str, expr: str) -> list[dict]:
    resp = httpx.post(f"{url}/api/v1/query", data={"query": expr}, timeout=10)
    resp.raise_for_status()
    return resp.json()["data"]["result"]


def test_a_burst_of_errors_pages_and_a_healthy_service_stays_quiet(tmp_path):
    cfg_path = tmp_path / "slactl.yaml"
    cfg_path.write_text(config_text("http://127.0.0.1:9"))
    cfg = load(cfg_path)
    rules = tmp_path / "rules"
    short = table({"1h/5m": "5s", "6h/30m": "5s"})
    write(generate(cfg, short), rules)
    dead = f"127.0.0.1:{free_loopback_port()}"  # nothing listens: up == 0, as a failing probe
    with Exporter(10, 0) as burst, Exporter(0, 10) as healthy:
        scrape = "scrape_configs:\n" + "".join(
            f"  - job_name: {job}\n    static_configs: [{{targets: ['{target}']}}]\n"
            for job, target in (("burst", burst.target), ("healthy", healthy.target), ("gone", dead))
        )
        with PrometheusServer(
            tmp_path / "tsdb",
            extra_config=scrape,
            rule_files=[rules / SLO_RULES, rules / INFRA_RULES],
            scrape_interval="1s",
            evaluation_interval="1s",
        ) as prom:
            started = time.monotonic()
            seen: dict[str, set[str]] = {}
            paging: set[str] = set()
            while time.monotonic() - started < WAIT_SECONDS and paging != {"burst", "gone"}:
                for alert in query(prom.url, 'ALERTS{alertname="ErrorBudgetBurn"}'):
                    m = alert["metric"]
                    seen.setdefault(m["service"], set()).add(f"{m['severity']}/{m['alertstate']}")
                paging = {
                    a["metric"]["service"]
                    for a in query(prom.url, 'ALERTS{alertname="ErrorBudgetBurn",severity="page",alertstate="firing"}')
                }
                time.sleep(1)
            took = time.monotonic() - started
            assert paging == {"burst", "gone"}, f"after {took:.0f}s paging: {paging}, seen: {seen}"
            time.sleep(3)  # a few more evaluations of the healthy services
            assert not query(prom.url, 'ALERTS{service=~"healthy|alive"}')
            assert "healthy" not in seen and "alive" not in seen
            ratios = {
                r["metric"]["service"]: float(r["value"][1])
                for r in query(prom.url, "service:slactl_errors:ratio_rate5m")
            }
            assert ratios == {"burst": 1.0, "healthy": 0.0, "gone": 1.0, "alive": 0.0}
            groups = httpx.get(f"{prom.url}/api/v1/rules", timeout=10).json()["data"]["groups"]
            # every rule evaluated fine (the 1m minute-state groups may not have run yet)
            assert all(r["health"] != "err" for g in groups for r in g["rules"]), groups
            assert all(r["health"] == "ok" for g in groups if g["interval"] < 60 for r in g["rules"]), groups
    assert took < WAIT_SECONDS


def _rule_groups(url: str) -> dict[str, int]:
    groups = httpx.get(f"{url}/api/v1/rules", timeout=10).json()["data"]["groups"]
    return {g["name"]: len(g["rules"]) for g in groups}


def test_push_installs_checked_files_and_reloads_prometheus(tmp_path, capsys):
    rules = tmp_path / "rules"
    rules.mkdir()
    with PrometheusServer(tmp_path / "tsdb", rule_files=[rules / "*.rules.yml"]) as prom:
        cfg_path = tmp_path / "slactl.yaml"
        cfg_path.write_text(config_text(prom.url))
        assert _rule_groups(prom.url) == {}
        assert main(["--config", str(cfg_path), "alerts", "push", "--rules-dir", str(rules)]) == 0
        assert f"reloaded {prom.url}" in capsys.readouterr().out
        assert sorted(p.name for p in rules.iterdir()) == [INFRA_RULES, SLO_RULES]
        groups = _rule_groups(prom.url)
        assert groups == {
            **{f"slactl-slo-{s}": 11 for s in ("burst", "healthy", "gone", "alive")},
            **{f"slactl-minutes-{s}": 8 for s in ("burst", "healthy", "gone", "alive")},  # the dashboards' minute states
            "slactl-infrastructure": 9,
        }
        before = {p.name: p.read_bytes() for p in rules.iterdir()}

        # A file promtool refuses is never written, and Prometheus is not touched.
        broken = {SLO_RULES: b"groups:\n- name: x\n  rules:\n  - record: bad name\n    expr: up\n"}
        with pytest.raises(PublishError, match="refusing to push"):
            push_files(broken, rules, Reload(Connection(prom.url)))
        assert {p.name: p.read_bytes() for p in rules.iterdir()} == before
        assert _rule_groups(prom.url) == groups

        # A reload that cannot happen leaves the folder as it was: exit 1, one line.
        dead = f"http://127.0.0.1:{free_loopback_port()}"
        cfg_path.write_text(config_text(prom.url).replace("infrastructure: true", "infrastructure: false"))
        code = main(["--config", str(cfg_path), "alerts", "push", "--rules-dir", str(rules), "--prometheus-url", dead])
        assert code == 1
        err = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip()]
        assert len(err) == 1 and "cannot reach Prometheus" in err[0] and "left as it was" in err[0]
        assert {p.name: p.read_bytes() for p in rules.iterdir()} == before

        # Turning the threshold pack off removes its file on the next push.
        assert main(["--config", str(cfg_path), "alerts", "push", "--rules-dir", str(rules)]) == 0
        assert sorted(p.name for p in rules.iterdir()) == [SLO_RULES]
        assert "slactl-infrastructure" not in _rule_groups(prom.url)


def test_push_uses_the_sources_credentials_and_undoes_a_rejected_reload(tmp_path, capsys, monkeypatch):
    rules = tmp_path / "rules"
    rules.mkdir()
    previous = b"# installed by hand\ngroups: []\n"
    (rules / SLO_RULES).write_bytes(previous)
    monkeypatch.setenv("PROM_TOKEN", "s3cr3t")
    with PrometheusServer(tmp_path / "tsdb", rule_files=[rules / "*.rules.yml"]) as prom:
        with FlakyProxy(prom.url, script=[500]) as proxy:
            cfg_path = tmp_path / "slactl.yaml"
            cfg_path.write_text(config_text(proxy.url, ", bearer_token_env: PROM_TOKEN, headers: {X-Scope-OrgID: ops}"))
            args = ["--config", str(cfg_path), "alerts", "push", "--rules-dir", str(rules)]
            assert main(args) == 1
            err = capsys.readouterr().err
            assert "rejected the reload (HTTP 500)" in err and "left as it was" in err
            assert sorted(p.name for p in rules.iterdir()) == [SLO_RULES]
            assert (rules / SLO_RULES).read_bytes() == previous
            assert main(args) == 0
        assert [path for path, _ in proxy.seen] == ["/-/reload", "/-/reload"]
        assert all(h["authorization"] == "Bearer s3cr3t" and h["x-scope-orgid"] == "ops" for h in proxy.headers)
        assert "slactl-slo-burst" in _rule_groups(prom.url)


def test_push_to_prometheus_without_lifecycle_api_names_the_flag(tmp_path, capsys):
    rules = tmp_path / "rules"
    with PrometheusServer(tmp_path / "tsdb") as prom:
        # PrometheusServer always enables the lifecycle API; a proxy path that 404s stands in.
        cfg_path = tmp_path / "slactl.yaml"
        cfg_path.write_text(config_text(prom.url))
        code = main(
            ["--config", str(cfg_path), "alerts", "push", "--rules-dir", str(rules), "--prometheus-url", prom.url + "/nope"]
        )
    assert code == 1
    err = capsys.readouterr().err
    assert "--web.enable-lifecycle" in err
    assert not rules.exists() or not any(rules.iterdir())


def test_push_without_a_prometheus_source_asks_for_the_url(tmp_path, capsys):
    cfg = Path(tmp_path / "slactl.yaml")
    cfg.write_text(
        """
sources: {aws: {type: cloudwatch, region: us-east-1}}
tiers: {standard: {uptime_target: 99.9}}
services:
  web:
    source: aws
    availability:
      errors: {namespace: AWS/ApplicationELB, metric: HTTPCode_Target_5XX_Count, stat: Sum}
      total: {namespace: AWS/ApplicationELB, metric: RequestCount, stat: Sum}
"""
    )
    assert main(["--config", str(cfg), "alerts", "push", "--rules-dir", str(tmp_path / "r")]) == 2
    assert "--prometheus-url" in capsys.readouterr().err
