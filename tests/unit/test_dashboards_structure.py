"""The generated dashboards' structure: what Grafana needs to import them and an SRE to use them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import promql_parser
import pytest
from kits.paths import ROOT

from slactl.cli.main import main
from slactl.config import load, parse
from slactl.dashboards import build as build_mod
from slactl.dashboards.build import build_all
from slactl.dashboards.common import DATASOURCE, detail_uid, overview_uid

EXAMPLE = ROOT / "examples" / "slactl.yaml"
VARIABLES = {
    "$__rate_interval": "5m",
    "$__interval": "1m",
    "$__range": "2678400s",
    "$__from": "1767225600000",
    "$instance": ".+",
}

EDGE = """
timezone: Europe/Berlin
sources:
  prom: {type: prometheus, url: "http://127.0.0.1:9090"}
  aws: {type: cloudwatch, region: us-east-1}
tiers:
  gold: {uptime_target: 99.5}
latency_targets_seconds: {p99.9: 2.0, p95: 0.3}
services:
  "Web App/EU":
    source: prom
    no_data: up
    objective: 99.0
    availability: {probe: 'probe_success{job="web"}'}
  checkout:
    source: prom
    slice_threshold: 0.99
    group_by: [tenant, region]
    availability:
      errors: 'http_requests_total{job="checkout",code=~"5.."}'
      total: 'http_requests_total{job="checkout"}'
    latency: {histogram: 'http_request_duration_seconds_bucket{job="checkout"}'}
  lb:
    source: aws
    availability:
      errors: {namespace: AWS/ApplicationELB, metric: HTTPCode_Target_5XX_Count}
      total: {namespace: AWS/ApplicationELB, metric: RequestCount}
"""

CLOUDWATCH_ONLY = """
sources: {aws: {type: cloudwatch, region: us-east-1}}
tiers: {standard: {uptime_target: 99.9}}
services:
  lb:
    source: aws
    availability: {probe: {namespace: AWS/ApplicationELB, metric: HealthyHostCount, stat: Minimum}}
"""

NO_TIERS = """
sources: {prom: {type: prometheus, url: "http://127.0.0.1:9090"}}
tiers: {}
services:
  ping: {source: prom, no_data: down, availability: {probe: 'probe_success{job="ping"}'}}
"""


def configs() -> dict[str, Any]:
    return {
        "example": load(EXAMPLE),
        "edge": parse(EDGE, base_dir=Path("."), source_file="edge.yaml"),
        "cloudwatch": parse(CLOUDWATCH_ONLY, base_dir=Path("."), source_file="cw.yaml"),
        "no-tiers": parse(NO_TIERS, base_dir=Path("."), source_file="no-tiers.yaml"),
    }


CONFIGS = configs()


@pytest.fixture(scope="module", params=sorted(CONFIGS))
def built(request) -> tuple[Any, dict[str, bytes]]:
    cfg = CONFIGS[request.param]
    return cfg, build_all(cfg)


def dashboards(files: dict[str, bytes]) -> dict[str, dict[str, Any]]:
    return {name: json.loads(data) for name, data in files.items()}


def walk(node: Any, key: str) -> list[Any]:
    """Every value stored under ``key`` anywhere in a JSON tree."""
    found = []
    if isinstance(node, dict):
        for k, v in node.items():
            if k == key:
                found.append(v)
            found += walk(v, key)
    elif isinstance(node, list):
        for item in node:
            found += walk(item, key)
    return found


def data_panels(dash: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in dash["panels"] if p["type"] not in ("row", "text")]


def test_deterministic_json_from_grafanalibs_encoder(built):
    cfg, files = built
    assert build_all(cfg) == files
    for dash in build_mod.dashboards(cfg):
        data = files[build_mod.file_name(dash)]
        assert data == build_mod.to_json(dash)  # grafanalib's DashboardEncoder, sorted keys
        again = json.dumps(json.loads(data), sort_keys=True, indent=2, ensure_ascii=False) + "\n"
        assert again.encode() == data


def test_uids_and_file_names(built):
    _, files = built
    uids = [d["uid"] for d in dashboards(files).values()]
    assert len(set(uids)) == len(uids)
    for name, dash in dashboards(files).items():
        assert len(dash["uid"]) <= 40 and dash["uid"].replace("-", "").isalnum()
        assert name == dash["uid"].removeprefix("slactl-") + ".json"
        assert dash["id"] is None


def test_schema_version_is_current(built):
    for dash in dashboards(built[1]).values():
        assert 38 <= dash["schemaVersion"] <= 41  # Grafana 10.0 wrote 38, 10.4/11.x 39-41
        assert dash["panels"] and "rows" not in dash  # no pre-5.0 rows model


def test_panel_ids_unique_and_grid_without_overlap(built):
    for name, dash in dashboards(built[1]).items():
        ids = [p["id"] for p in dash["panels"]]
        assert len(set(ids)) == len(ids), name
        cells: dict[tuple[int, int], int] = {}
        for p in dash["panels"]:
            g = p["gridPos"]
            assert g["w"] > 0 and g["h"] > 0 and g["x"] >= 0 and g["x"] + g["w"] <= 24, (
                name,
                p["title"],
            )
            for x in range(g["x"], g["x"] + g["w"]):
                for y in range(g["y"], g["y"] + g["h"]):
                    assert (x, y) not in cells, (
                        f"{name}: {p['title']} overlaps panel {cells[(x, y)]}"
                    )
                    cells[(x, y)] = p["id"]


def test_datasource_is_the_variable_everywhere(built):
    for name, dash in dashboards(built[1]).items():
        variables = {v["name"]: v for v in dash["templating"]["list"]}
        assert variables["datasource"]["type"] == "datasource"
        assert variables["datasource"]["query"] == "prometheus"
        for p in data_panels(dash):
            assert p["datasource"] == DATASOURCE, (name, p["title"])
            assert p["targets"], (name, p["title"])
            for t in p["targets"]:
                assert t["datasource"] == DATASOURCE
        for value in walk(dash, "datasource"):
            assert value is None or value == DATASOURCE, (name, value)


def test_every_panel_has_a_description_and_data_panels_a_unit(built):
    for name, dash in dashboards(built[1]).items():
        for p in dash["panels"]:
            if p["type"] != "row":  # Grafana's model gives rows a title only
                assert p["description"] and len(p["description"]) > 10, (name, p["title"])
        for p in data_panels(dash):
            if p["type"] != "heatmap":
                assert p["fieldConfig"]["defaults"]["unit"], (name, p["title"])


def test_every_expression_parses(built):
    for dash in dashboards(built[1]).values():
        for expr in walk(dash["panels"], "expr"):
            for var, value in VARIABLES.items():
                expr = expr.replace(var, value)
            promql_parser.parse(expr)


def test_links_between_overview_and_details(built):
    cfg, files = built
    dashes = dashboards(files)
    overview = dashes["sla-overview.json"]
    panel_urls = " ".join(walk(overview["panels"], "url"))
    names = [n for n, s in cfg.services.items() if cfg.sources[s.source].type == "prometheus"]
    for service in names:
        assert f"/d/{detail_uid(service)}?" in panel_urls
        detail = next(d for d in dashes.values() if d["uid"] == detail_uid(service))
        assert "slactl-slo" in detail["tags"]
        assert any(link["url"] == f"/d/{overview_uid()}" for link in detail["links"])
        variables = {v["name"]: v for v in detail["templating"]["list"]}
        assert variables["service"]["query"] == service
    assert len(dashes) == 5 + len(names)
    for dash in dashes.values():
        assert "slactl" in dash["tags"]
        assert any(
            link["type"] == "dashboards" and link["tags"] == ["slactl-slo"]
            for link in dash["links"]
        )


def test_thresholds_come_from_tiers_and_targets():
    cfg = CONFIGS["example"]
    overview = json.loads(build_all(cfg)["sla-overview.json"])
    uptime = overview["panels"][0]["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert [s["value"] for s in uptime] == [None, 99.9, 99.95, 99.99]
    assert [s["color"] for s in uptime] == ["red", "orange", "yellow", "green"]  # one per tier
    latency = next(p for p in overview["panels"] if p["title"] == "Latency this month")
    assert [t["legendFormat"] for t in latency["targets"]] == ["P50", "P95", "P99"]
    limits = [
        o["properties"][0]["value"]["steps"][1]["value"]
        for o in latency["fieldConfig"]["overrides"]
    ]
    assert limits == [0.05, 0.2, 0.5]
    detail = json.loads(build_all(cfg)["slo-api.json"])
    page = next(p for p in detail["panels"] if p["title"] == "Burn rate: page windows")
    assert [s["value"] for s in page["fieldConfig"]["defaults"]["thresholds"]["steps"]] == [
        None,
        6.0,
        14.4,
    ]
    assert [t["legendFormat"] for t in page["targets"]] == [
        "1h window",
        "5m window",
        "6h window",
        "30m window",
    ]


def test_edge_config():
    files = build_all(CONFIGS["edge"])
    odd = detail_uid("Web App/EU")
    assert odd.startswith("slactl-slo-web-app-eu-") and len(odd) <= 40
    detail = json.loads(files[odd.removeprefix("slactl-") + ".json"])
    exprs = " ".join(walk(detail["panels"], "expr"))
    assert "or vector(0)" in exprs  # no_data: up
    assert detail["timezone"] == "Europe/Berlin"
    checkout = json.loads(files["slo-checkout.json"])
    titles = [p["title"] for p in checkout["panels"]]
    assert "SLI by tenant, region" in titles and "Latency heatmap" in titles
    lat = next(p for p in checkout["panels"] if p["title"] == "Latency percentiles")
    assert [t["legendFormat"] for t in lat["targets"]] == ["P50", "P95", "P99", "P99.9"]
    overview = json.loads(files["sla-overview.json"])
    note = next(p for p in overview["panels"] if p["type"] == "text")
    assert "lb" in note["options"]["content"]
    assert not any("lb" in t for t in walk(overview["panels"], "legendFormat"))


def test_cloudwatch_only_config_still_builds():
    files = build_all(CONFIGS["cloudwatch"])
    assert sorted(files) == [
        "api-performance.json",
        "business-metrics.json",
        "database-performance.json",
        "sla-overview.json",
        "system-health.json",
    ]
    overview = json.loads(files["sla-overview.json"])
    assert [p["type"] for p in overview["panels"]] == ["text"]


def test_cli_generate(tmp_path, capsys):
    out = tmp_path / "dash"
    assert main(["--config", str(EXAMPLE), "dashboards", "generate", "--out", str(out)]) == 0
    written = sorted(p.name for p in out.iterdir())
    assert written == sorted(build_all(load(EXAMPLE)))
    assert str(out / "sla-overview.json") in capsys.readouterr().out


def test_cli_generate_bad_config(tmp_path, capsys):
    bad = tmp_path / "slactl.yaml"
    bad.write_text(
        "sources: {}\ntiers: {}\nservices: {x: {source: nope, availability: {probe: up}}}\n"
    )
    assert main(["--config", str(bad), "dashboards", "generate", "--out", str(tmp_path / "o")]) == 2
    assert "services.x.source" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
