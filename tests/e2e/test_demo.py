"""`slactl demo`, as a newcomer runs it: the console script, no server, a complete report."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

SPEC_FIELDS = [
    "uptime_percent", "minutes", "coverage_percent", "incidents", "incident_count", "mttr_minutes",
    "error_ratio", "latency_seconds", "latency_bounds_seconds", "tiers", "latency_targets",
]


def slactl() -> list[str]:
    exe = Path(sys.executable).with_name("slactl")
    return [str(exe)] if exe.exists() else [shutil.which("slactl") or "slactl"]


def run_demo(out: Path) -> subprocess.CompletedProcess:
    return subprocess.run([*slactl(), "demo", "--out", str(out)], capture_output=True, text=True, timeout=120)


def test_demo_writes_a_complete_deterministic_report(tmp_path):
    first = run_demo(tmp_path / "a")
    assert first.returncode == 0, first.stderr
    assert "report-2026-01.json" in first.stdout
    report_path = tmp_path / "a" / "reports" / "report-2026-01.json"
    report = json.loads(report_path.read_text())
    assert report["month"] == "2026-01" and report["period"] == {
        "start": "2026-01-01T00:00:00Z", "end": "2026-02-01T00:00:00Z"
    }
    assert set(report["services"]) == {"api", "web", "auth", "db"}
    for name, svc in report["services"].items():
        assert list(svc)[: len(SPEC_FIELDS)] == SPEC_FIELDS, name
        m = svc["minutes"]
        assert m["total"] == 44640 == m["up"] + m["down"] + m["no_data"] + m["excluded"]
        assert 0 <= svc["uptime_percent"] <= 100
        assert svc["incident_count"] == len(svc["incidents"])
        assert all(i["severity"] in ("minor", "major", "critical") for i in svc["incidents"])
    assert report["services"]["db"]["minutes"]["excluded"] == 120  # the maintenance window
    assert report["services"]["auth"]["error_ratio"] is None  # a probe service
    assert report["services"]["auth"]["latency_seconds"] is None
    lat = report["services"]["api"]["latency_seconds"]
    assert 0 < lat["p50"] < lat["p95"] < lat["p99"]
    for html in ("report-2026-01.html", "report-2026-01.md"):
        assert (tmp_path / "a" / "reports" / html).stat().st_size > 500
    assert (tmp_path / "a" / "reports" / "report-2026-01.pdf").read_bytes()[:5] == b"%PDF-"
    # The deck's story: tiers mostly met, quiet history months, tenants that differ, one credit.
    assert report["company"]["name"] == "Generic Corp"
    assert [h["month"] for h in report["history"]] == [f"2025-{m:02d}" for m in range(7, 13)] + ["2026-01"]
    assert all(h["platform"] is not None for h in report["history"])  # the demo stored them all
    assert report["history"][-1]["platform"]["uptime_percent"] == report["platform"]["uptime_percent"]
    assert sum(h["platform"]["incident_count"] <= 4 for h in report["history"]) >= 5
    met = [v["met"] for s in report["services"].values() for v in s["tiers"].values()]
    assert sum(met) >= 0.75 * len(met)
    tenants = {g["labels"]["tenant"]: g["uptime_percent"] for g in report["services"]["api"]["groups"]}
    assert len(set(tenants.values())) > 1
    # Every artefact slactl makes, from the same month.
    a = tmp_path / "a"
    credits = json.loads((a / "reports" / "credits-2026-01.json").read_text())
    assert set(credits["customers"]) == {"acme", "globex", "initech"}
    assert [k for k, c in credits["customers"].items() if c["credit_percent"]] == ["globex"]
    assert sorted(p.name for p in (a / "reports" / "statements").iterdir()) == [
        f"{c}-2026-01.{ext}" for c in ("acme", "globex", "initech") for ext in ("html", "pdf")
    ]
    summary = json.loads((a / "status" / "api" / "v2" / "summary.json").read_text())
    assert {c["name"] for c in summary["components"] if not c["group"]} == {
        "Public API", "Web app", "Sign-in", "Database"}
    assert summary["page"]["url"] == "https://status.genericcorp.example/"
    assert (a / "status" / "index.html").exists() and (a / "status" / "history.atom").exists()
    assert sorted(p.name for p in (a / "alerts").iterdir()) == [
        "slactl-infrastructure.rules.yml", "slactl-infrastructure.test.yml",
        "slactl-slo.rules.yml", "slactl-slo.test.yml",
    ]
    assert "ErrorBudgetBurn" in (a / "alerts" / "slactl-slo.rules.yml").read_text()
    assert (a / "dashboards" / "sla-overview.json").exists()
    # Same seed, fresh folder: byte-identical JSON.
    assert run_demo(tmp_path / "b").returncode == 0
    assert (tmp_path / "b" / "reports" / "report-2026-01.json").read_bytes() == report_path.read_bytes()
