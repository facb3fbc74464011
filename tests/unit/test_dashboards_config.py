"""Business metric names come from the config (`dashboards.business`), checked like every selector."""

from __future__ import annotations

from pathlib import Path

import pytest
from kits.paths import ROOT

from slactl.config import load
from slactl.dashboards.build import build_all
from slactl.errors import ConfigError

EXAMPLE = ROOT / "examples" / "slactl.yaml"


def with_business(tmp_path: Path, block: str) -> Path:
    path = tmp_path / "slactl.yaml"
    path.write_text(EXAMPLE.read_text() + "\ndashboards:\n  business:\n" + block)
    return path


def test_configured_business_selectors_reach_the_dashboard(tmp_path):
    cfg = load(with_business(tmp_path, '    active_users: app_active_users{env="prod"}\n'))
    text = build_all(cfg)["business-metrics.json"].decode()
    assert 'app_active_users{env=\\"prod\\"}' in text
    assert "tasks_created_total" in text  # the others keep their defaults


def test_bad_business_selector_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match=r"dashboards\.business\.tasks_created: PromQL syntax error"):
        load(with_business(tmp_path, "    tasks_created: tasks_created_total{\n"))
