"""The configuration reference and the JSON Schema are generated from the models and current."""

from __future__ import annotations

import jsonschema
import pytest
import yaml
from kits.paths import ROOT

from slactl.app.demo import demo_config
from slactl.cli.main import main
from slactl.config import Config
from slactl.config.reference import (
    json_schema,
    json_schema_text,
    markdown,
    missing_descriptions,
    rows,
)

STALE = "is stale: run `make examples` (or `slactl config docs/schema --out ...`) and commit it"


def test_every_key_of_the_models_is_described():
    assert missing_descriptions() == [], "describe these keys in slactl/config/docs.py"


def test_docs_configuration_md_is_current():
    assert (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8") == markdown(), f"docs/configuration.md {STALE}"


def test_shipped_schema_is_current():
    assert (ROOT / "docs" / "slactl.schema.json").read_text(encoding="utf-8") == json_schema_text(), (
        f"docs/slactl.schema.json {STALE}"
    )


def _model_keys(model, prefix=""):
    """Every key path of the models, walked independently of the generator."""
    from slactl.config.reference import _members  # the same unwrapping of Optional/Annotated

    out = set()
    for name, field in model.model_fields.items():
        if field.exclude:
            continue
        path = f"{prefix}.{name}" if prefix else name
        out.add(path)
        for tp in _members(field.annotation):
            args = getattr(tp, "__args__", ())
            if isinstance(tp, type) and hasattr(tp, "model_fields") and tp.__name__ != "MetricSpec":
                out |= _model_keys(tp, path)
            elif args:
                for inner in (m for a in args for m in _members(a)):
                    if isinstance(inner, type) and hasattr(inner, "model_fields") and inner.__name__ != "MetricSpec":
                        sep = "[]" if str(tp).startswith("list") else ".<name>"
                        out |= _model_keys(inner, path + sep)
    return out


def test_table_lists_every_key_of_the_models_and_nothing_else():
    documented = {r.path for r in rows() if r.section != "metric spec"}
    assert documented == _model_keys(Config)
    text = markdown()
    for path in documented:
        assert f"| `{path}` |" in text


def test_each_row_has_type_default_and_example():
    for row in rows():
        assert row.type and row.default and row.example, row


@pytest.mark.parametrize("which", ["examples", "demo"])
def test_schema_accepts_the_shipped_configs(which):
    text = (ROOT / "examples" / "slactl.yaml").read_text() if which == "examples" else demo_config("2026-01", 1)
    data = yaml.safe_load(text)
    # YAML timestamps load as datetimes; an editor sees them as strings.
    for m in data.get("maintenance", []):
        m["start"], m["end"] = str(m["start"]).replace(" ", "T"), str(m["end"]).replace(" ", "T")
    jsonschema.validate(data, json_schema())


def test_schema_refuses_unknown_keys_like_the_loader():
    data = yaml.safe_load((ROOT / "examples" / "slactl.yaml").read_text())
    data["tiers"]["standard"]["uptime_traget"] = 99.9
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, json_schema())


def test_config_commands_print_and_write(tmp_path, capsys):
    assert main(["config", "schema"]) == 0
    assert capsys.readouterr().out == json_schema_text()
    out = tmp_path / "ref.md"
    assert main(["config", "docs", "--out", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == markdown()
    assert main(["config", "schema", "--out", str(tmp_path)]) == 2
    assert "is a folder; give a file name" in capsys.readouterr().err
