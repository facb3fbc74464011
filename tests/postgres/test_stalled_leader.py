"""A leader stalled in the middle of a save (SIGSTOP) blocks no one for long.

Two ``slactl scheduler run`` replicas on a real PostgreSQL (``postgres`` fixture),
the built-in ``sample`` source on the wall clock.  The leader stops itself with
SIGSTOP right after writing a save's day rows, holding the per-service locks in
an open transaction and the leader lock in its own session, as a frozen VM or a
debugger would leave it.  Then:

- ``slactl report monthly --timeout 20`` on the same store ends within its
  timeout: one line and exit 1 (or done, exit 0);
- the standby leads within the documented time (the stalled leader's session
  ends 30 s after its last ping, and a standby asks every few seconds) and its
  ingest goes through;
- the standby's ``/healthz`` never answers 503 meanwhile.

Every wait is bounded; the stopped process is continued and killed at the end.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import kits.scheduler
import pytest
import yaml
from kits.scheduler import SLACTL, Proc, env, free_port, get, samples, write_config

from slactl.app.ingest import fingerprint
from slactl.config import load
from slactl.store.lease import IDLE_SESSION_S
from slactl.store.sql import Store

INGEST_EVERY = 10  # seconds; a standby asks for the lock every 5 s
ELECT_EVERY = INGEST_EVERY // 2
# The scheduler, stopping itself once (SIGSTOP) after a save's day rows are written, when the file
# named by SLACTL_TEST_STALL exists.
STALLING = [sys.executable, "-c", """
import os, signal, sys
import slactl.cli.scheduler
import slactl.store.write as w
real = w._days
def stalling(conn, items):
    real(conn, items)
    trigger = os.environ.get("SLACTL_TEST_STALL", "")
    if trigger and os.path.exists(trigger):
        os.remove(trigger)
        os.kill(os.getpid(), signal.SIGSTOP)
w._days = stalling
from slactl.cli.main import main
sys.exit(main())
"""]


def replica_config(tmp: Path, store: str, name: str) -> Path:
    folder = tmp / name
    folder.mkdir()
    config = write_config(folder)
    raw = yaml.safe_load(config.read_text())
    raw["store"] = store
    raw["schedule"] = {"ingest_every": f"{INGEST_EVERY}s", "status_page_every": "1h",
                       "metrics_listen": f"127.0.0.1:{free_port()}"}  # fmt: skip
    config.write_text(yaml.safe_dump(raw, sort_keys=False))
    return config


def metrics(proc: Proc) -> dict[str, float]:
    try:
        status, body = get(proc.base + "/metrics")
    except OSError:
        return {}
    return samples(body) if status == 200 else {}


def wait_for(what: str, check, timeout: float):  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.2)
    pytest.fail(f"timed out after {timeout}s waiting for {what}")


def stopped(pid: int) -> bool:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat.rsplit(")", 1)[1].split()[0] == "T"


def ingested_at(proc: Proc) -> float:
    return metrics(proc).get('slactl_task_last_success_timestamp_seconds{task="ingest"}', 0.0)


class HealthWatch(threading.Thread):
    """Asks a replica's /healthz twice a second and keeps every answer that is not 200."""

    def __init__(self, proc: Proc) -> None:
        super().__init__(daemon=True)
        self.proc, self.bad, self.asked = proc, [], 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.5):
            try:
                status, body = get(self.proc.base + "/healthz")
            except OSError as exc:
                status, body = 0, str(exc)
            self.asked += 1
            if status != 200:
                self.bad.append((status, body.strip()))


def test_a_leader_stopped_mid_save_blocks_no_writer_for_long_and_a_standby_takes_over(tmp_path, postgres, monkeypatch):
    store_url = postgres.new_database("stalled")
    trigger = tmp_path / "stall-now"
    monkeypatch.setattr(kits.scheduler, "SLACTL", STALLING)
    a = Proc(replica_config(tmp_path, store_url, "a"), SLACTL_NOW="", SLACTL_TEST_STALL=str(trigger))
    monkeypatch.setattr(kits.scheduler, "SLACTL", SLACTL)
    b: Proc | None = None
    watch: HealthWatch | None = None
    try:
        wait_for("the first replica to lead and ingest", lambda: metrics(a).get("slactl_leader") == 1 and ingested_at(a) > 0, 180)
        b = Proc(replica_config(tmp_path, store_url, "b"), SLACTL_NOW="")
        wait_for("the second replica to stand by", lambda: metrics(b).get("slactl_leader") == 0.0, 60)
        watch = HealthWatch(b)
        watch.start()

        # Make the leader save again (a day it must pull back), and stop it in the middle of that save.
        cfg = load(a.err.parent / "slactl.yaml")
        first = datetime.now(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        last_day = int((first - timedelta(days=1)).timestamp()) // 60
        service = sorted(cfg.services)[0]
        trigger.touch()
        store = Store(store_url)
        try:
            store.forget(service, last_day, last_day + 1)
        finally:
            store.close()
        wait_for("the leader to stop itself mid-save", lambda: stopped(a.p.pid), 60)
        stalled_at = time.monotonic()

        # A report by hand saves the same services: it waits for their locks, but not for ever.
        month = f"{first - timedelta(days=1):%Y-%m}"
        t0 = time.monotonic()
        done = subprocess.run(
            [*SLACTL, "--config", str(a.err.parent / "slactl.yaml"), "report", "monthly", "--month", month,
             "--out", str(tmp_path / "out"), "--timeout", "20"],
            capture_output=True, text=True, timeout=60, env=env(SLACTL_NOW=""),
        )  # fmt: skip
        took = time.monotonic() - t0
        print(f"report monthly --timeout 20 ended after {took:.1f}s with exit {done.returncode}: {done.stderr.strip()}")
        assert took <= 22, f"the report ran {took:.1f}s"
        assert "Traceback" not in done.stderr
        if done.returncode != 0:
            assert done.returncode == 1 and len(done.stderr.strip().splitlines()) == 1, done.stderr
            assert "another process held the lock for more than 15 s" in done.stderr

        # The standby leads once the stalled leader's session ends, and its ingest goes through.
        wait_for("the standby to take the lead", lambda: metrics(b).get("slactl_leader") == 1, IDLE_SESSION_S + 30)
        takeover = time.monotonic() - stalled_at
        print(f"the standby led {takeover:.1f}s after the leader stopped (idle_session_timeout {IDLE_SESSION_S}s)")
        assert takeover <= IDLE_SESSION_S + ELECT_EVERY + 5, takeover
        led_at = time.time()
        wait_for("an ingest by the new leader", lambda: ingested_at(b) >= led_at, 3 * INGEST_EVERY)
        store = Store(store_url)
        try:
            assert store.missing(service, fingerprint(cfg, service), last_day, last_day + 1440) == []
        finally:
            store.close()
        watch.done.set()
        watch.join(5)
        assert watch.asked > 20 and watch.bad == [], watch.bad

        # Continued, the old leader finds its sessions gone: it stands by and writes nothing.
        os.kill(a.p.pid, signal.SIGCONT)
        wait_for("the old leader to stand by", lambda: metrics(a).get("slactl_leader") == 0.0, 30)
        assert metrics(b).get("slactl_leader") == 1
        assert "Traceback" not in a.stderr and "Traceback" not in b.stderr
    finally:
        if watch is not None:
            watch.done.set()
        if a.p.poll() is None:
            os.kill(a.p.pid, signal.SIGCONT)
        a.kill()
        if b is not None:
            b.kill()
