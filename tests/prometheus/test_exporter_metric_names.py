"""``alerts.metric_names`` / ``dashboards.metric_names``: exporter metrics under other names.

The live check against real exporters is ``test_exporters_live.py``; these run without
any binary: the renames reach the rules and the panels, the dashboards' own map wins
for the dashboards only, and every exporter name they read can be renamed.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from kits.paths import ROOT

from slactl.config import EXPORTER_METRICS, load
from slactl.dashboards.build import build_all
from slactl.errors import ConfigError
from slactl.rules.threshold import infrastructure_rules

EXAMPLE = ROOT / "examples" / "slactl.yaml"
PLATFORM = ("system-health.json", "database-performance.json")
NAME = re.compile(r"\b((?:node|pg)_[a-zA-Z0-9_]+)\b")


def config(tmp_path: Path, extra: str, *, under_alerts: bool = True):
    """The example config with ``extra`` inside its ``alerts:`` block (else at the end)."""
    text = EXAMPLE.read_text()
    anchor = "alerts:\n  infrastructure: true\n"
    assert anchor in text
    text = text.replace(anchor, anchor + extra) if under_alerts else text + extra
    path = tmp_path / "slactl.yaml"
    path.write_text(text)
    return load(path)


def pack_text(cfg) -> str:
    return yaml.safe_dump(infrastructure_rules(cfg))


def exprs(cfg, name: str) -> str:
    dash = json.loads(build_all(cfg)[name])
    variables = [v.get("query", "") for v in dash["templating"]["list"]]
    targets = [t["expr"] for p in dash["panels"] for t in p.get("targets", [])]
    return "\n".join(variables + targets)


def test_every_exporter_name_read_can_be_renamed():
    cfg = load(EXAMPLE)
    rules = infrastructure_rules(cfg)["groups"][0]["rules"]
    used = set(NAME.findall("\n".join(r["expr"] for r in rules)))
    for name in PLATFORM:
        used |= set(NAME.findall(exprs(cfg, name)))
    assert used == set(EXPORTER_METRICS)


def test_alerts_map_renames_in_rules_and_dashboards(tmp_path):
    cfg = config(
        tmp_path,
        "\n".join(
            [
                "  metric_names:",
                "    pg_stat_statements_seconds_total: pg_statements_exec_seconds_total",
                "    pg_stat_statements_calls_total: pg_statements_calls_total",
                "    node_load1: host_load1",
                "",
            ]
        ),
    )
    assert cfg.alerts.metric_names["node_load1"] == "host_load1"
    rules = pack_text(cfg)
    assert "pg_statements_exec_seconds_total" in rules and "pg_statements_calls_total" in rules
    assert "pg_stat_statements" not in rules.replace("(pg_stat_statements)", "")
    db = exprs(cfg, "database-performance.json")
    assert "pg_statements_exec_seconds_total" in db and "pg_stat_statements_" not in db
    assert "host_load1" in exprs(cfg, "system-health.json")


def test_dashboards_map_wins_for_dashboards_only(tmp_path):
    cfg = config(
        tmp_path,
        "\ndashboards:\n  metric_names:\n    pg_up: postgres_up\n    node_uname_info: host_info\n",
        under_alerts=False,
    )
    assert "pg_up == 0" in pack_text(cfg)  # the rules keep the standard name
    db = exprs(cfg, "database-performance.json")
    assert "label_values(postgres_up, instance)" in db and "pg_up" not in db
    assert "label_values(host_info, instance)" in exprs(cfg, "system-health.json")


@pytest.mark.parametrize(
    ("block", "message"),
    [
        ("    pg_stat_statement_calls: x\n", r"alerts\.metric_names\.pg_stat_statement_calls"),
        ("    pg_up: 'pg up'\n", r"alerts\.metric_names\.pg_up"),
    ],
)
def test_bad_names_are_config_errors(tmp_path, block, message):
    with pytest.raises(ConfigError, match=message):
        config(tmp_path, "  metric_names:\n" + block)


def test_generated_tests_pass_with_renamed_metrics(tmp_path, prometheus_binaries):
    import subprocess

    from slactl.cli.main import main

    config(tmp_path, "  metric_names: {pg_up: postgres_up, node_load1: host_load1}\n")
    out = tmp_path / "out"
    assert (
        main(["--config", str(tmp_path / "slactl.yaml"), "alerts", "generate", "--out", str(out)])
        == 0
    )
    proc = subprocess.run(
        ["promtool", "test", "rules", "slactl-infrastructure.test.yml"],
        cwd=out, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
