"""``alerts backtest`` with ``burn_on: minutes``: the demo month and the replay arithmetic.

The demo month must page for every incident of five minutes or more and page
for nothing else.  The replay's down shares, conditions and false-page minutes
are checked against a brute-force computation on a small history.
"""

from __future__ import annotations

import json

import numpy as np

from slactl.app.alerts import SLO_RULES, generate
from slactl.cli.main import main
from slactl.config import load
from slactl.model import DOWN, EXCLUDED, NO_DATA, UP
from slactl.rules.backtest import Firing, false_minutes, true_steps
from slactl.rules.burnsim import down_shares


def test_the_demo_month_pages_every_long_incident_and_nothing_else(tmp_path, capsys, monkeypatch):
    assert main(["demo", "--out", str(tmp_path / "demo")]) == 0
    cfg = tmp_path / "demo" / "slactl.yaml"
    # The demo's alerts come from its own config: regenerating gives the same bytes.
    assert generate(load(cfg)).files[SLO_RULES] == (tmp_path / "demo" / "alerts" / SLO_RULES).read_bytes()
    capsys.readouterr()
    monkeypatch.setenv("SLACTL_NOW", "2026-02-02T00:00:00Z")
    out = tmp_path / "bt.json"
    assert main(["--config", str(cfg), "alerts", "backtest", "--month", "2026-01", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    got = json.loads(out.read_text())
    assert got["burn_on"] == "minutes" and set(got["services"]) == {"api", "web", "auth", "db"}
    incidents = 0
    for name, svc in got["services"].items():
        for sev, block in svc["severities"].items():
            assert block["false_minutes"] == 0, (name, sev)
            assert block["unmatched_firings"] == 0, (name, sev)
        page = svc["severities"]["page"]
        assert page["missed_long"] == 0, name
        incidents += page["incidents"]
    report = json.loads((tmp_path / "demo" / "reports" / "report-2026-01.json").read_text())
    assert incidents == sum(s["incident_count"] for s in report["services"].values()) > 0
    assert "false min" in printed


def brute_share(states: np.ndarray, m: int, w: int) -> float:
    window = [s for s in states[max(0, m - w + 1) : m + 1] if s in (UP, DOWN)]
    return float("nan") if not window else sum(s == DOWN for s in window) / len(window)


def test_down_shares_and_conditions_match_a_brute_force_replay():
    rng = np.random.default_rng(7)
    states = rng.choice([UP, UP, UP, DOWN, NO_DATA, EXCLUDED], size=400).astype(np.int8)
    for w in (1, 5, 30, 60):
        got = down_shares(states, w)
        want = np.array([brute_share(states, m, w) for m in range(len(states))])
        assert np.allclose(got, want, equal_nan=True), w
    steps = true_steps(states, 1000, 60, 5, 0.2)
    want = [1000 + m for m in range(len(states))
            if brute_share(states, m, 60) > 0.2 and brute_share(states, m, 5) > 0.2]
    assert steps == want


def test_false_minutes_leave_out_incident_tails_and_maintenance():
    incidents = [(100, 110)]
    firings = [Firing("1h", "5m", 103, 118, 5), Firing("1h", "5m", 200, 204, 5)]
    # 103..114 explained by the incident and its 5-minute tail; 115..117 and 200..203 are not.
    assert false_minutes(firings, incidents, 0, 1000) == 3 + 4
    assert false_minutes(firings, incidents, 0, 1000, excluded=range(200, 204)) == 3
