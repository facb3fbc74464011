"""``alerts/`` holds the rules generated from ``examples/slactl.yaml``: CI fails when they are stale."""

from __future__ import annotations

from kits.paths import ROOT

from slactl.cli.main import main


def test_checked_in_alerts_are_what_generate_writes(tmp_path):
    out = tmp_path / "alerts"
    assert main(["--config", str(ROOT / "examples" / "slactl.yaml"), "alerts", "generate", "--out", str(out)]) == 0
    fresh = {p.name: p.read_bytes() for p in out.iterdir()}
    checked_in = {p.name: p.read_bytes() for p in (ROOT / "alerts").glob("slactl-*.yml")}
    stale = sorted(n for n in fresh.keys() | checked_in.keys() if fresh.get(n) != checked_in.get(n))
    assert not stale, f"alerts/ is stale ({', '.join(stale)}): run `make examples` and commit the result"
