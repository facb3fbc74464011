"""The ``slactl`` program leaves without interpreter teardown, yet says everything and keeps its exit code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def _slactl(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "slactl", *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_output_and_exit_code_survive_the_quick_exit(tmp_path: Path) -> None:
    ok = _slactl("--version", cwd=tmp_path)
    assert ok.returncode == 0 and ok.stdout.startswith("slactl ")
    (tmp_path / "slactl.yaml").write_text("sevrices: {}\n")
    bad = _slactl("--config", "slactl.yaml", "validate", cwd=tmp_path)
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines()[-1].startswith("slactl")


def test_a_closed_pipe_is_not_an_error(tmp_path: Path) -> None:
    script = f"{sys.executable} -m slactl --help | head -c 1 >/dev/null; echo ${{PIPESTATUS[0]}}"
    done = subprocess.run(["bash", "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() in ("0", "120", "1") and "Traceback" not in done.stderr


def test_the_demo_writes_its_whole_report(tmp_path: Path) -> None:
    """Files written just before the exit are complete (a quick exit must not cut a write short)."""
    done = _slactl("demo", "--out", "out", "--month", "2026-01", "--seed", "3", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    html = next((tmp_path / "out").rglob("report-2026-01.html")).read_text(encoding="utf-8")
    assert html.rstrip().endswith("</html>")
