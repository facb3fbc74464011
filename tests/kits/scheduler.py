"""``slactl scheduler run`` as a real process, for the scheduler, replica, secret and close tests.

The process tests of several kinds (SQLite, PostgreSQL, S3) start the same CLI on the
built-in ``sample`` source, with the clock pinned (``SLACTL_NOW``) just after January
2026 closed, and talk to it over loopback only; the helpers live here so that no test
module imports another.  Every wait is bounded.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml

from slactl.app.demo import demo_config

NOW = "2026-02-01T00:05:00Z"
# The CLI with this module's commands registered, whether or not cli/main.py imports them yet.
SLACTL = [sys.executable, "-c", "import sys; import slactl.cli.scheduler; from slactl.cli.main import main; sys.exit(main())"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_config(tmp: Path, **changes: object) -> Path:
    """The demo config, published into tmp folders, scheduled every second, metrics on a free port."""
    raw = yaml.safe_load(demo_config("2026-01", 11))
    raw["schedule"] = {"ingest_every": "1s", "status_page_every": "1s", "metrics_listen": f"127.0.0.1:{free_port()}"}
    raw["publish"] = {"status_page": {"dir": str(tmp / "public")}, "reports": {"dir": str(tmp / "reports")}}
    for key, value in changes.items():
        raw[key] = value
    path = tmp / "slactl.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def env(**extra: str) -> dict[str, str]:
    out = {k: v for k, v in os.environ.items() if k not in ("SLACTL_CONFIG", "SLACTL_DEBUG")}
    return {**out, "SLACTL_NOW": NOW, **extra}


def listen_of(config: Path) -> str:
    return yaml.safe_load(config.read_text())["schedule"]["metrics_listen"]


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def samples(text: str) -> dict[str, float]:
    """``name{labels}`` → value of every sample line of a text exposition."""
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out


class Proc:
    """A ``slactl scheduler run`` subprocess, stderr to a file (no pipe to fill up)."""

    def __init__(self, config: Path, *args: str, **extra_env: str) -> None:
        self.err = config.parent / "stderr.log"
        self.base = f"http://{listen_of(config)}"
        with self.err.open("wb") as fh:
            self.p = subprocess.Popen([*SLACTL, "--config", str(config), "scheduler", "run", *args],
                                      stdout=subprocess.DEVNULL, stderr=fh, env=env(**extra_env))  # fmt: skip

    @property
    def stderr(self) -> str:
        return self.err.read_text()

    def poll_until(self, path: str, ok, timeout: float = 30.0) -> tuple[int, str]:  # noqa: ANN001
        deadline, last = time.monotonic() + timeout, None
        while time.monotonic() < deadline:
            if self.p.poll() is not None:
                pytest.fail(f"scheduler exited with {self.p.returncode}:\n{self.stderr}")
            try:
                last = get(self.base + path)
                if ok(*last):
                    return last
            except OSError:
                pass  # not listening yet
            time.sleep(0.2)
        pytest.fail(f"{path} never satisfied the check; last answer {last}\n{self.stderr}")

    def terminate(self, sig: signal.Signals = signal.SIGTERM, timeout: float = 10.0) -> int:
        self.p.send_signal(sig)
        return self.p.wait(timeout=timeout)

    def kill(self) -> None:
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait(timeout=10)
