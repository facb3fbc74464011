"""``promtool check rules`` and ``promtool test rules`` on generated output for several configs.

The unit tests slactl generates are checked here too: they must pass on the
generated rules and fail when a rule is wrong (a threshold, a ``for:``, a guard).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from slactl.cli.main import main

pytestmark = pytest.mark.skipif(
    shutil.which("promtool") is None and not os.environ.get("CI"), reason="promtool not on PATH (run `make prometheus`)"
)

SERVICES = {
    "ratio": """
  api:
    source: prom
    objective: {objective}
    availability:
      errors: http_requests_total{{job="api",code=~"5.."}}
      total: http_requests_total{{job="api"}}
""",
    "probe": """
  auth:
    source: prom
    objective: {objective}
    availability: {{probe: 'probe_success{{job="blackbox",service="auth"}}'}}
""",
    "split": """
  queue:
    source: prom
    objective: {objective}
    availability:
      errors: jobs_failed_total{{queue="mail"}}
      total: jobs_processed_total{{queue="mail"}}
""",
    "exotic": """
  rpc:
    source: prom
    objective: {objective}
    availability:
      errors: '{{__name__="grpc_server_handled_total",grpc_code!~"OK|NotFound|Canceled"}}'
      total: grpc_server_handled_total{{grpc_service!=""}}
""",
}


def write_config(tmp_path: Path, objective: str, kinds: list[str], *, infra: bool = True, burn_on: str = "minutes") -> Path:
    services = "".join(SERVICES[k].format(objective=objective) for k in kinds)
    path = tmp_path / "slactl.yaml"
    path.write_text(
        f"""
sources:
  prom: {{type: prometheus, url: "http://127.0.0.1:9090"}}
tiers:
  standard: {{uptime_target: 99.9}}
services:{services}
alerts: {{burn_on: {burn_on}, infrastructure: {str(infra).lower()}, runbook_base_url: "https://runbooks.example.com"}}
"""
    )
    return path


def one_line(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


@pytest.mark.parametrize(
    ("objective", "kinds", "burn_on"),
    [
        ("99", ["ratio", "probe"], "minutes"),
        ("99.9", ["ratio", "probe", "split"], "minutes"),
        ("99.95", ["ratio", "probe"], "requests"),
        ("99.99", ["ratio", "probe", "exotic"], "minutes"),
        ("99.9", ["ratio", "probe", "split"], "requests"),
    ],
)
def test_generated_rules_pass_promtool_check_and_their_unit_tests(tmp_path, capsys, objective, kinds, burn_on):
    cfg = write_config(tmp_path, objective, kinds, burn_on=burn_on)
    out = tmp_path / "rules"
    assert main(["--config", str(cfg), "alerts", "generate", "--out", str(out)]) == 0
    assert main(["alerts", "test", "--dir", str(out)]) == 0
    printed = capsys.readouterr().out
    assert printed.count("SUCCESS") == 4, printed  # two rule files checked, two test files passed
    # promtool itself, run by hand as a user would, agrees:
    rules = sorted(str(p) for p in out.glob("*.rules.yml"))
    assert subprocess.run(["promtool", "check", "rules", *rules], capture_output=True).returncode == 0


def test_alerts_test_without_dir_generates_into_a_scratch_folder(tmp_path, capsys):
    cfg = write_config(tmp_path, "99.9", ["probe"], infra=False)
    assert main(["--config", str(cfg), "alerts", "test"]) == 0
    printed = capsys.readouterr().out
    assert "slactl-slo.rules.yml" in printed and "slactl-slo.test.yml" in printed
    assert printed.count("SUCCESS") == 2


@pytest.mark.parametrize(
    ("burn_on", "old", "new", "why"),
    [
        ("requests", "for: 2m", "for: 1m", "a shorter for: pages before the tests say it may"),
        ("requests", "> 0.001\n", "> 0.0025\n", "a wrong threshold lets twice the budget burn without a ticket"),
        ("requests", " or vector(0)", "", "without the guard a missing errors series is no data instead of 0"),
        ("requests", " > 0)", ")", "without the guard no traffic records NaN"),
        ("minutes", "for: 2m", "for: 1m", "a shorter for: pages before the tests say it may"),
        ("minutes", "< bool 0.95", "< bool 0.98", "a wrong slice threshold counts 2.5% errors as down minutes"),
        ("minutes", " or vector(0)", "", "without it a missing errors series is no data instead of 0"),
        ("minutes", "> 0.0144\n", "> 0.9\n", "a wrong threshold pages later than the tests say"),
    ],
)
def test_generated_unit_tests_catch_a_wrong_rule(tmp_path, capsys, burn_on, old, new, why):
    cfg = write_config(tmp_path, "99.9", ["ratio"], infra=False, burn_on=burn_on)
    out = tmp_path / "rules"
    assert main(["--config", str(cfg), "alerts", "generate", "--out", str(out)]) == 0
    rules = out / "slactl-slo.rules.yml"
    text = rules.read_text()
    assert old in text
    rules.write_text(text.replace(old, new))
    capsys.readouterr()
    assert main(["alerts", "test", "--dir", str(out)]) == 1, why
    line = one_line(capsys.readouterr().err)
    assert "promtool test rules failed for slactl-slo.test.yml" in line


def test_a_broken_rule_file_fails_the_check_with_one_line(tmp_path, capsys):
    out = tmp_path / "rules"
    out.mkdir()
    (out / "bad.rules.yml").write_text("groups:\n- name: x\n  rules:\n  - alert: Broken\n    expr: sum(rate(x[5m]) >\n")
    assert main(["alerts", "test", "--dir", str(out)]) == 1
    line = one_line(capsys.readouterr().err)
    assert "promtool check rules refused bad.rules.yml" in line


def test_empty_folder_and_missing_promtool_are_explained(tmp_path, capsys, monkeypatch):
    assert main(["alerts", "test", "--dir", str(tmp_path)]) == 2
    assert "holds no *.rules.yml" in one_line(capsys.readouterr().err)
    cfg = write_config(tmp_path, "99.9", ["ratio"])
    monkeypatch.setenv("SLACTL_PROMTOOL", str(tmp_path / "no-such-promtool"))
    assert main(["--config", str(cfg), "alerts", "test"]) == 1
    assert "install Prometheus' promtool" in one_line(capsys.readouterr().err)


TWINS = """
sources:
  prom: {{type: prometheus, url: "http://127.0.0.1:9090"}}
  other: {{type: prometheus, url: "http://127.0.0.1:9091"}}
tiers:
  standard: {{uptime_target: 99.9}}
services:
  api:
    source: prom
    availability:
      errors: http_requests_total{{job="api",code=~"5.."}}
      total: http_requests_total{{job="api"}}
  api2:
    source: {source}
    availability:
      errors: http_requests_total{{code=~"5..", job="api"}}
      total: http_requests_total{{job="api"}}
  wide:
    source: other
    availability:
      errors: http_requests_total{{code="500"}}
      total: http_requests_total
  auth:
    source: prom
    availability: {{probe: 'probe_success{{job="blackbox"}}'}}
"""


@pytest.mark.parametrize(("source", "burn_on"), [("prom", "minutes"), ("prom", "requests"), ("other", "minutes")])
def test_identical_or_overlapping_selectors_still_give_passing_unit_tests(tmp_path, capsys, source, burn_on):
    """Two services may read the same series (say, with different slice thresholds): valid, and tested."""
    cfg = tmp_path / "slactl.yaml"
    cfg.write_text(TWINS.format(source=source) + f"alerts: {{burn_on: {burn_on}}}\n")
    assert main(["--config", str(cfg), "validate"]) == 0
    out = tmp_path / "rules"
    assert main(["--config", str(cfg), "alerts", "generate", "--out", str(out)]) == 0
    err = capsys.readouterr().err
    for name in ("api", "api2", "wide"):
        assert f"service '{name}': the series its unit tests need are also selected by service" in err
    assert "'auth'" not in err  # its probe series is its own: it keeps its tests
    assert main(["alerts", "test", "--dir", str(out)]) == 0


def test_a_no_data_down_service_that_would_burn_in_every_test_turns_the_tests_off(tmp_path, capsys):
    cfg = tmp_path / "slactl.yaml"
    cfg.write_text(TWINS.format(source="other").replace("  wide:\n    source: other\n", "  wide:\n    source: other\n    no_data: down\n"))
    out = tmp_path / "rules"
    assert main(["--config", str(cfg), "alerts", "generate", "--out", str(out)]) == 0
    assert "service 'wide' (no_data: down)" in capsys.readouterr().err
    assert main(["alerts", "test", "--dir", str(out)]) == 0
