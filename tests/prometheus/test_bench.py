"""The benchmark harness runs end to end in its smallest mode; no timing is asserted here.

Speed lives in ``make bench``: this only checks that every step runs, that the
user's script and slactl agree on every uptime, and that the tables are written.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from kits.paths import ROOT


def test_bench_smallest_scenario_runs(tmp_path: Path, prometheus_binaries: None) -> None:
    pytest.importorskip("prometheus_api_client")
    pytest.importorskip("pandas")
    out = tmp_path / "results.md"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--scenarios", "s10", "--rounds", "1",
         "--out", str(out), "--json", str(tmp_path / "raw.json"), "--plot", ""],  # fmt: skip
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    text = out.read_text()
    assert "| 10 series, 1 month |" in text
    assert "script uptimes vs slactl's report: equal (2)" in text
    assert "warm report same as cold: True" in text
    assert "| cold ≤ 1.5× floor + 2 s, 200 series | not run | – |" in text
