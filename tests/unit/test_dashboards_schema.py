"""Every generated dashboard validates against Grafana's published dashboard schema.

The schema (draft-07, ``additionalProperties: false``) is vendored in ``tests/data``
(see ``SOURCES.md`` there), so the check needs no network and no sibling folder.
"""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
from kits.paths import ROOT
from test_dashboards_structure import CONFIGS, walk

from slactl.dashboards.build import build_all
from slactl.dashboards.common import num, uptime_steps
from slactl.dashboards.tidy import tidy

SCHEMA = ROOT / "tests" / "data" / "grafana-dashboard-v1.schema.json"


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft7Validator:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


def errors(validator: jsonschema.Draft7Validator, dash: dict[str, Any]) -> list[str]:
    return [
        f"{'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message[:200]}"
        for e in validator.iter_errors(dash)
    ]


@pytest.mark.parametrize("config", sorted(CONFIGS))
def test_generated_dashboards_validate(validator, config):
    files = build_all(CONFIGS[config])
    assert files
    for name, data in files.items():
        found = errors(validator, json.loads(data))
        assert not found, f"{config}/{name}: {len(found)} schema errors, first: {found[:5]}"


def test_checked_in_dashboards_validate(validator):
    paths = sorted((ROOT / "dashboards").glob("*.json"))
    assert len(paths) >= 9
    for path in paths:
        found = errors(validator, json.loads(path.read_text(encoding="utf-8")))
        assert not found, f"{path.name}: {found[:5]}"


def test_vendored_schema_rejects_what_grafanalib_writes(validator):
    """The legacy keys and nulls the tidy step removes are what the schema rejects."""
    raw = {
        "title": "t",
        "uid": "u",
        "schemaVersion": 39,
        "rows": [],
        "hideControls": False,
        "sharedCrosshair": False,
        "gnetId": None,
        "templating": {"list": [{"name": "x", "type": "query", "regex": None}]},
        "annotations": {"list": []},
        "panels": [
            {"type": "row", "id": 1, "collapsed": False, "panels": [], "span": None},
            {"type": "stat", "id": 2, "cacheTimeout": None, "editable": True},
        ],
    }
    assert len(errors(validator, raw)) >= 5
    assert errors(validator, tidy(raw)) == []


def test_thresholds_carry_no_float_noise():
    for cfg in CONFIGS.values():
        for data in build_all(cfg).values():
            for steps in walk(json.loads(data), "steps"):
                for step in steps if isinstance(steps, list) else ():  # not heatmap's count
                    value = step["value"]
                    if value is not None:
                        assert float(num(value)) == value, value


def test_each_tier_keeps_its_own_colour():
    cfg = CONFIGS["example"]
    steps = uptime_steps(cfg.tiers)
    assert [s["value"] for s in steps] == [None, 99.9, 99.95, 99.99]
    assert len({s["color"] for s in steps}) == len(steps)
    assert steps[-1]["color"] == "green" and steps[0]["color"] == "red"
    base = cfg.tiers["standard"]
    many = {f"t{i}": base.model_copy(update={"uptime_target": 90 + i}) for i in range(7)}
    colours = [s["color"] for s in uptime_steps(many)]
    assert len(set(colours)) == 8
