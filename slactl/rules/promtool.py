"""The one place slactl runs Prometheus' ``promtool``: checking and unit-testing rule files.

promtool is the authority on what Prometheus accepts, so slactl asks it rather
than re-implementing its checks.  Its failures become :class:`DataError` (the
rules or their tests are wrong: exit 1 with promtool's words, on one line); a
missing or hanging binary becomes a :class:`SlactlError` saying how to get one.
``SLACTL_PROMTOOL`` names another binary.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from pathlib import Path

from slactl.errors import DataError, SlactlError

TIMEOUT_SECONDS = 300
_MAX_MESSAGE = 600


def binary() -> str:
    return os.environ.get("SLACTL_PROMTOOL") or "promtool"


def _run(args: Sequence[str], cwd: Path | None = None) -> tuple[int, str]:
    cmd = [binary(), *args]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT_SECONDS, cwd=cwd)
    except FileNotFoundError:
        raise SlactlError(
            f"{cmd[0]} not found: install Prometheus' promtool (Debian/Ubuntu: apt-get install prometheus) "
            "or set SLACTL_PROMTOOL to its path"
        ) from None
    except subprocess.TimeoutExpired:
        raise SlactlError(f"{' '.join(cmd[:3])} did not finish within {TIMEOUT_SECONDS}s") from None
    except OSError as exc:
        raise SlactlError(f"cannot run {cmd[0]}: {exc.strerror or exc}") from exc
    return proc.returncode, (proc.stdout + proc.stderr).strip()


def _one_line(output: str) -> str:
    text = " | ".join(line.strip() for line in output.splitlines() if line.strip())
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 3] + "..."


def check_rules(files: Sequence[Path]) -> str:
    """``promtool check rules FILES``; promtool's report, or DataError naming what it refused."""
    if not files:
        return ""
    code, output = _run(["check", "rules", *map(str, files)])
    if code != 0:
        raise DataError(f"promtool check rules refused {', '.join(f.name for f in files)}: {_one_line(output)}")
    return output


def test_rules(files: Sequence[Path]) -> str:
    """``promtool test rules FILES`` (run in their folder, as their ``rule_files`` are relative)."""
    if not files:
        return ""
    folder = files[0].parent
    code, output = _run(["test", "rules", *(str(f.resolve()) for f in files)], cwd=folder)
    if code != 0:
        raise DataError(f"promtool test rules failed for {', '.join(f.name for f in files)}: {_one_line(output)}")
    return output
