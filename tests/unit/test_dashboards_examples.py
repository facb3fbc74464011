"""The checked-in ``dashboards/`` folder is exactly what ``examples/slactl.yaml`` generates."""

from __future__ import annotations

from kits.paths import ROOT

from slactl.cli.main import main

FIX = "dashboards/ is stale: run `make examples` and commit the result"


def test_checked_in_dashboards_are_fresh(tmp_path, capsys):
    out = tmp_path / "dashboards"
    assert (
        main(
            [
                "--config",
                str(ROOT / "examples" / "slactl.yaml"),
                "dashboards",
                "generate",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    capsys.readouterr()
    generated = {p.name: p.read_bytes() for p in sorted(out.glob("*.json"))}
    checked_in = {p.name: p.read_bytes() for p in sorted((ROOT / "dashboards").glob("*.json"))}
    assert sorted(checked_in) == sorted(generated), FIX
    for name, data in generated.items():
        assert checked_in[name] == data, f"{name}: {FIX}"
