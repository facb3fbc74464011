"""``make demo`` in a fresh checkout: it works, and installs no test tool.

This is the newcomer's first command, so it runs in the suite (about two minutes:
a new virtualenv and a real ``pip install``).  Set ``SLACTL_SKIP_FRESH_CLONE=1``
to skip it in quick local runs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from kits.paths import ROOT

TEST_TOOLS = {"pytest", "pytest-xdist", "playwright", "moto", "hypothesis", "ruff", "feedparser", "jsonschema"}

pytestmark = pytest.mark.skipif(
    os.environ.get("SLACTL_SKIP_FRESH_CLONE") == "1", reason="SLACTL_SKIP_FRESH_CLONE=1"
)


def _checkout(dest: Path) -> None:
    """The files git tracks, as they are in the work tree: what a clone of this state holds."""
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=False)
    if listed.returncode != 0:
        pytest.skip("not a git checkout")
    for rel in filter(None, listed.stdout.decode().split("\0")):
        src = ROOT / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)


def test_make_demo_in_a_fresh_checkout_installs_only_what_runs(tmp_path):
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    clone = tmp_path / "slactl"
    _checkout(clone)
    assert not (clone / ".venv").exists()
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if ".venv" not in p)
    done = subprocess.run(["make", "demo"], cwd=clone, env=env, capture_output=True, text=True, timeout=1500)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert (clone / "demo-out" / "reports" / "report-2026-01.json").is_file()
    assert "summary:     2026-01: " in done.stdout
    listed = subprocess.run(
        [str(clone / ".venv" / "bin" / "python"), "-m", "pip", "list", "--format=json"],
        capture_output=True, text=True, timeout=120, env=env, check=True,
    )  # fmt: skip
    installed = {p["name"].lower() for p in json.loads(listed.stdout)}
    assert "slactl" in installed
    assert installed & TEST_TOOLS == set(), "make demo must not install test tools"
    assert not (clone / ".venv" / ".stamp-test").exists()
