"""Only the leader writes: a scheduler replica that lost the leader lock commits nothing.

The lock is a session-level advisory lock of the leader's own session; the
scheduler's store checks, inside each write transaction, that this session still
holds it.  Here the session is ended as a bad day ends it: ``pg_terminate_backend``
before a write, in the middle of one, and a PostgreSQL restart after which the
store's own connections come back.  Real cluster (``postgres`` fixture).
"""

from __future__ import annotations

import logging
import signal
import subprocess
import time
from datetime import UTC, datetime

import psycopg
import pytest
import yaml
from kits.postgres import PgCluster
from kits.scheduler import NOW, write_config

from slactl.config import load
from slactl.errors import StoreError
from slactl.model import MinuteSeries
from slactl.scheduler.service import Scheduler
from slactl.store import write
from slactl.store.lease import PostgresLeader, lost_lead
from slactl.store.sql import Store

BASE = 29_459_520  # 2026-01-05 00:00 UTC


def ratio(start: int, n: int) -> MinuteSeries:
    ms = MinuteSeries.empty("ratio", start, n)
    ms.has_data[:] = True
    ms.total[:] = 10
    return ms


def dsn_of(cluster: PgCluster, url: str) -> str:
    return cluster.dsn(url.rsplit("/", 1)[1])


def terminate(cluster: PgCluster, url: str, pid: int | None) -> None:
    """End a session as the server does on a lost connection, and wait until its locks are gone."""
    assert pid is not None
    with psycopg.connect(dsn_of(cluster, url), autocommit=True) as conn:
        assert conn.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone()[0]
        deadline = time.monotonic() + 10
        while conn.execute("SELECT (SELECT count(*) FROM pg_locks WHERE pid = %(p)s) + "
                           "(SELECT count(*) FROM pg_stat_activity WHERE pid = %(p)s)", {"p": pid}).fetchone()[0]:  # fmt: skip
            assert time.monotonic() < deadline, f"session {pid} did not end"
            time.sleep(0.05)


def rows(cluster: PgCluster, url: str, service: str | None = None) -> int:
    """Rows of every store table (of one service, when given)."""
    where, args = ("WHERE service = %s", (service,)) if service else ("", ())
    with psycopg.connect(dsn_of(cluster, url), autocommit=True) as conn:
        n = sum(conn.execute(f"SELECT count(*) FROM {t} {where}", args).fetchone()[0]
                for t in ("slactl_chunk", "slactl_coverage", "slactl_pull"))  # fmt: skip
        named = "WHERE name = %s" if service else ""
        return n + conn.execute(f"SELECT count(*) FROM slactl_service {named}", args).fetchone()[0]


def fenced(url: str) -> tuple[PostgresLeader, Store]:
    leader, store = PostgresLeader(url), Store(url)
    store.fence = leader.fence
    return leader, store


def save(store: Store, service: str) -> None:
    store.save(service, "fp", "ratio", BASE, BASE + 10, {(): ratio(BASE, 10)}, {"source": "test"}, 1)


def test_a_replica_whose_session_was_terminated_writes_nothing_until_it_leads_again(postgres):
    url = postgres.new_database("fence")
    leader, store = fenced(url)
    other = PostgresLeader(url)
    try:
        assert leader.poll()
        save(store, "api")  # the leader writes
        written = rows(postgres, url, "api")
        assert written > 0
        terminate(postgres, url, leader.pid)
        with pytest.raises(StoreError) as err:
            save(store, "web")
        msg = str(err.value)
        assert lost_lead(err.value) and "\n" not in msg
        assert "did not save service 'web'" in msg and "no longer holds the scheduler's leader lock" in msg
        assert rows(postgres, url, "web") == 0

        assert other.poll()  # a standby takes over; the old leader's store reconnects and still writes nothing
        assert not leader.poll()
        with pytest.raises(StoreError):
            save(store, "web")
        with pytest.raises(StoreError):
            store.forget("api", BASE, BASE + 10)
        assert rows(postgres, url, "web") == 0 and rows(postgres, url, "api") == written

        other.release()
        assert leader.poll()  # the lock is free again: it leads, and writes
        save(store, "web")
        assert rows(postgres, url, "web") == written
    finally:
        store.close()
        leader.release()
        other.release()


def test_a_write_in_flight_when_the_session_ends_is_rolled_back(postgres, monkeypatch):
    url = postgres.new_database("inflight")
    leader, store = fenced(url)
    real = write._days

    def cut_mid_save(conn, items):  # noqa: ANN001, ANN202
        real(conn, items)  # the day rows are written (not yet committed) when the session ends
        terminate(postgres, url, leader.pid)

    try:
        assert leader.poll()
        monkeypatch.setattr(write, "_days", cut_mid_save)
        with pytest.raises(StoreError) as err:
            save(store, "api")
        assert lost_lead(err.value)
        assert rows(postgres, url) == 0
    finally:
        store.close()
        leader.release()


def test_after_a_postgresql_restart_the_reconnected_store_writes_nothing_until_it_leads_again(postgres):
    cluster = PgCluster()  # a cluster of its own: the shared one keeps running for the other tests
    cluster.start()
    try:
        url = cluster.new_database("restart")
        leader, store = fenced(url)
        try:
            assert leader.poll()
            save(store, "api")
            restart(cluster)
            with pytest.raises(StoreError) as err:  # the pool reconnects; the leader session is gone
                save(store, "web")
            assert lost_lead(err.value)
            assert rows(cluster, url, "web") == 0
            assert leader.poll()  # it asks again and leads: its writes go through
            save(store, "web")
            assert rows(cluster, url, "web") == rows(cluster, url, "api") > 0
        finally:
            store.close()
            leader.release()
    finally:
        cluster.stop()


def restart(cluster: PgCluster) -> None:
    """A fast shutdown (every session ends) and a start on the same data and port."""
    assert cluster.proc is not None
    cluster.proc.send_signal(signal.SIGINT)
    cluster.proc.wait(timeout=30)
    args = cluster.proc.args
    with (cluster.root / "postgres.log").open("ab") as log:
        cluster.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, cwd=cluster.root, **cluster._user)
    deadline = time.monotonic() + 60
    while True:
        try:
            psycopg.connect(cluster.dsn("postgres"), connect_timeout=2).close()
            return
        except psycopg.OperationalError:
            assert time.monotonic() < deadline, "postgres did not come back"
            time.sleep(0.2)


def test_a_scheduler_that_loses_the_lock_mid_job_stops_it_with_one_line_and_writes_nothing(tmp_path, postgres, caplog):
    url = postgres.new_database("job")
    config = write_config(tmp_path)
    raw = yaml.safe_load(config.read_text())
    raw["store"] = url
    config.write_text(yaml.safe_dump(raw, sort_keys=False))
    cfg = load(config)
    leader = PostgresLeader(url)
    now = datetime.fromisoformat(NOW.replace("Z", "+00:00")).astimezone(UTC)
    sched = Scheduler(cfg, clock=lambda: now, leadership=leader)
    try:
        assert sched.leading()
        store = sched.store
        real = store.save_many

        def cut_then_save(items):  # noqa: ANN001, ANN202
            terminate(postgres, url, leader.pid)  # the session ends while the job runs
            real(items)

        store.save_many = cut_then_save
        with caplog.at_level(logging.INFO, logger="slactl.scheduler"):
            assert sched._run("ingest") is False
        stopped = [r.getMessage() for r in caplog.records if "job ingest" in r.getMessage()]
        assert len(stopped) == 1 and stopped[0].startswith("job ingest stopped: ")
        assert "no longer holds the scheduler's leader lock" in stopped[0]
        assert "ingest" not in sched.errors
        assert rows(postgres, url) == 0

        del store.save_many  # the replica asked again and leads: the next run writes
        assert sched.leading_since is not None
        assert sched._run("ingest") is True
        assert rows(postgres, url) > 0
    finally:
        sched.close()
