"""Several ``slactl scheduler run`` replicas on one PostgreSQL store: one leader, failover, no minute twice.

Real processes on a real PostgreSQL cluster (``postgres`` fixture), the built-in
``sample`` source on the wall clock, so new minutes keep settling while the test
runs.  Every wait is bounded.
"""

from __future__ import annotations

import signal
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
import yaml
from kits.scheduler import Proc, free_port, get, samples, write_config

from slactl.app.ingest import fingerprint
from slactl.config import load
from slactl.sources import base
from slactl.sources.base import FetchRequest
from slactl.store.sql import Store

INGEST_EVERY = 10  # seconds; a standby asks for the lock every 5 s


@pytest.fixture
def procs():
    started: list[Proc] = []
    yield started
    for p in started:
        p.kill()


def replica_config(tmp: Path, store: str, name: str) -> Path:
    folder = tmp / name
    folder.mkdir()
    config = write_config(folder)
    raw = yaml.safe_load(config.read_text())
    raw["store"] = store
    raw["schedule"] = {"ingest_every": f"{INGEST_EVERY}s", "status_page_every": "1h",
                       "metrics_listen": f"127.0.0.1:{free_port()}"}  # fmt: skip
    raw["status_page"] = {**raw.get("status_page", {}), "days": 3}
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


def ingested_ok(m: dict[str, float]) -> float:
    return m.get('slactl_task_last_success_timestamp_seconds{task="ingest"}', 0.0)


def test_one_leader_takes_over_within_one_interval_and_no_minute_is_lost_or_doubled(tmp_path, postgres, procs):
    store_url = postgres.new_database("replicas")
    a = Proc(replica_config(tmp_path, store_url, "a"), **{"SLACTL_NOW": ""})
    procs.append(a)
    b = Proc(replica_config(tmp_path, store_url, "b"), **{"SLACTL_NOW": ""})
    procs.append(b)

    def one_leader_ingested():
        ma, mb = metrics(a), metrics(b)
        if not ma or not mb:
            return None
        leaders = [p for p, m in ((a, ma), (b, mb)) if m.get("slactl_leader") == 1]
        assert len(leaders) <= 1, "two replicas lead at once"
        if leaders and ingested_ok(ma if leaders[0] is a else mb) > 0:
            return leaders[0]
        return None

    leader = wait_for("one leader with a finished ingest", one_leader_ingested, 180)
    standby = b if leader is a else a
    m = metrics(standby)
    assert m["slactl_leader"] == 0 and m['slactl_task_runs_total{task="ingest"}'] == 0
    status, body = get(standby.base + "/healthz")
    assert status == 200 and "standby" in body

    cfg = load(leader.err.parent / "slactl.yaml")
    with_store = Store(store_url)
    try:
        before = {s: with_store.missing(s, fingerprint(cfg, s), 0, 1 << 40) for s in cfg.services}
    finally:
        with_store.close()

    leader.p.send_signal(signal.SIGKILL)
    leader.p.wait(timeout=10)
    killed = time.monotonic()
    wait_for("the standby to take the lead", lambda: metrics(standby).get("slactl_leader") == 1, 60)
    takeover = time.monotonic() - killed
    print(f"failover: the standby led {takeover:.1f}s after SIGKILL (ingest_every {INGEST_EVERY}s)")
    assert takeover <= INGEST_EVERY, f"takeover took {takeover:.1f}s, more than one ingest_every"
    assert "leading: this replica runs the jobs" in standby.stderr

    # Ingest goes on under the new leader: a newly settled minute lands in the store.
    def advanced() -> bool:
        store = Store(store_url)
        try:
            return all(store.missing(s, fingerprint(cfg, s), 0, 1 << 40)[-1][0] > before[s][-1][0] for s in cfg.services)
        finally:
            store.close()

    wait_for("a new minute ingested by the new leader", lambda: ingested_ok(metrics(standby)) > 0 and advanced(), 150)
    assert standby.terminate(timeout=30) == 0
    assert "Traceback" not in standby.stderr

    # Every stored minute is exactly what the source says: none lost, none counted twice.
    store = Store(store_url)
    try:
        for name, svc in cfg.services.items():
            gaps = store.missing(name, fingerprint(cfg, name), 0, 1 << 40)
            assert len(gaps) == 2, f"{name}: coverage has holes: {gaps}"
            start, end = gaps[0][1], gaps[1][0]
            source = base.build(svc.source, cfg)
            try:
                (want,) = source.fetch([FetchRequest(name, svc, start, end)])
            finally:
                source.close()
            got = store.load(name, start, end)
            assert set(got) == set(want), name
            for group, ms in want.items():
                for field, arr in ms.arrays().items():
                    assert np.array_equal(getattr(got[group], field), arr), (name, group, field)
                assert np.array_equal(got[group].has_data, ms.has_data)
        assert end > int(datetime.now(UTC).timestamp()) // 60 - 10
    finally:
        store.close()


def test_a_leader_whose_session_is_cut_stops_leading_and_a_standby_takes_over(postgres):
    from slactl.store.lease import PostgresLeader

    url = postgres.new_database("lease")
    a, b = PostgresLeader(url), PostgresLeader(url)
    try:
        assert a.poll() is True and b.poll() is False and a.poll() is True
        # The server ends the leader's session, as after a lost connection.
        import psycopg

        with psycopg.connect(postgres.dsn(url.rsplit("/", 1)[1]), autocommit=True) as conn:
            killed = conn.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_locks WHERE locktype = 'advisory' AND granted"
            ).fetchone()[0]
        assert killed == 1
        deadline = time.monotonic() + 30
        while not b.poll():
            assert time.monotonic() < deadline, "the standby never took the lead"
            time.sleep(0.1)
        assert a.poll() is False  # its session is gone, and the lock is b's now
    finally:
        a.release()
        b.release()


def test_a_standby_runs_no_job_and_once_refuses(tmp_path):
    from slactl.errors import StoreError
    from slactl.scheduler.service import Scheduler

    class Never:
        released = False

        def poll(self) -> bool:
            return False

        def release(self) -> None:
            self.released = True

        def describe(self) -> str:
            return "never"

    cfg = load(write_config(tmp_path))
    ran: list[str] = []
    lease = Never()
    sched = Scheduler(cfg, clock=lambda: datetime(2026, 2, 1, tzinfo=UTC), leadership=lease)
    sched.ingest_job = lambda: ran.append("ingest")  # type: ignore[method-assign]
    assert sched._run("ingest") is False and ran == []
    assert sched.metrics.value("slactl_task_runs_total", task="ingest") == 0
    assert sched.metrics.value("slactl_leader") == 0
    with pytest.raises(StoreError, match="another slactl scheduler leads"):
        sched.run_once()
    assert lease.released
