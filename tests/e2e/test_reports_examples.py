"""`reports/` holds the demo's rendered month for seed 42; it must match what the code renders now.

These are the golden files of the fixed-seed demo month (JSON, CSV, HTML, Markdown).
PDFs are checked for presence only: they are renders of the checked HTML.
"""

from __future__ import annotations

from datetime import datetime, timezone

from kits.paths import ROOT

from slactl.app.demo import run_demo

STALE = "reports/ is stale: run `make examples` and commit the result"


def test_reports_folder_is_current(tmp_path):
    run_demo(tmp_path, month="2026-01", seed=42, now=datetime(2026, 11, 1, tzinfo=timezone.utc))
    fresh = tmp_path / "reports"
    checked = ROOT / "reports"
    names = sorted(p.relative_to(fresh).as_posix() for p in fresh.rglob("*") if p.is_file())
    assert names == sorted(p.relative_to(checked).as_posix() for p in checked.rglob("*") if p.is_file()), STALE
    assert any(n.endswith(".pdf") for n in names) and "credits-2026-01.csv" in names
    for name in names:
        if name.endswith(".pdf"):
            assert (checked / name).read_bytes()[:5] == b"%PDF-", name
            continue
        assert (fresh / name).read_bytes() == (checked / name).read_bytes(), f"{name}: {STALE}"
