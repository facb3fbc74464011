"""``slactl report`` with options on the demo's month: the files it writes and its one summary line.

Moved out of the CLI message tests (``tests/unit/test_cli_messages.py``) because it renders
the whole demo month, which the unit tests should not wait for.
"""

from __future__ import annotations

import json

from slactl.cli.main import main


def run(args: list[str], capsys) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_report_with_options_runs_monthly(tmp_path, capsys):
    demo = tmp_path / "demo"
    assert main(["demo", "--out", str(demo)]) == 0
    capsys.readouterr()
    code, out, err = run(["--config", str(demo / "slactl.yaml"), "report", "--month", "2026-01",
                          "--out", str(tmp_path / "r")], capsys)  # fmt: skip
    assert code == 0, err
    lines = out.splitlines()
    exts = ("json", "html", "md", "pdf")
    assert lines[:4] == [str(tmp_path / "r" / f"report-2026-01.{ext}") for ext in exts]
    report = json.loads((tmp_path / "r" / "report-2026-01.json").read_text())
    met = sum(t["met"] for s in report["services"].values() for t in s["tiers"].values())
    total = sum(len(s["tiers"]) for s in report["services"].values())
    incidents = sum(s["incident_count"] for s in report["services"].values())
    # The store already holds the month (the demo pulled it): nothing is pulled again.
    assert lines[4] == f"2026-01: {len(report['services'])} services, tiers met {met} of {total}, {incidents} incidents, 0 minutes pulled"
    assert len(lines) == 5
    assert err == ""  # not a terminal: no progress bar
