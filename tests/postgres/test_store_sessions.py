"""Every PostgreSQL session slactl opens is bounded: keepalives, lock, statement and idle-in-transaction timeouts.

A process that stalls in the middle of a write (SIGSTOP, a frozen VM) holds its
per-service locks until the server ends its session; without these settings that
took the operating system's keepalive time, about two hours, and every other
writer waited as long.  Real cluster (``postgres`` fixture); every wait is bounded.
"""

from __future__ import annotations

import threading
import time

import psycopg
import pytest
import sqlalchemy as sa

from slactl.errors import StoreError
from slactl.model import MinuteSeries
from slactl.store.engine import lock_key, waited_for_lock
from slactl.store.lease import PostgresLeader
from slactl.store.sql import Store

BASE = 29_459_520  # 2026-01-05 00:00 UTC
SETTINGS = ("lock_timeout", "statement_timeout", "idle_in_transaction_session_timeout",
            "tcp_keepalives_idle", "tcp_keepalives_interval", "tcp_keepalives_count")  # fmt: skip


def ratio(start: int, n: int) -> MinuteSeries:
    ms = MinuteSeries.empty("ratio", start, n)
    ms.has_data[:] = True
    ms.total[:] = 10
    return ms


def settings(conn: sa.Connection, *names: str) -> dict[str, str]:
    rows = conn.execute(sa.text("SELECT name, setting FROM pg_settings WHERE name = ANY(:n)"), {"n": list(names)})
    return dict(rows.all())


def dbname(url: str) -> str:
    return url.rsplit("/", 1)[1].split("?", 1)[0]


def test_every_store_session_has_keepalives_and_timeouts(postgres):
    url = postgres.new_database("bounded")
    store = Store(url)
    try:
        with store.engine.connect() as conn:
            got = settings(conn, *SETTINGS)
            params = conn.connection.dbapi_connection.info.get_parameters()
    finally:
        store.close()
    assert got == {"lock_timeout": "15000", "statement_timeout": "120000", "idle_in_transaction_session_timeout": "30000",
                   "tcp_keepalives_idle": "10", "tcp_keepalives_interval": "5", "tcp_keepalives_count": "3"}  # fmt: skip
    assert (params["keepalives_idle"], params["keepalives_interval"], params["keepalives_count"]) == ("10", "5", "3")
    assert params["connect_timeout"] == "10"


def test_the_leader_session_also_ends_when_idle_so_a_stalled_leader_cannot_keep_the_lead(postgres):
    leader = PostgresLeader(postgres.new_database("idle"))
    try:
        assert leader.poll()
        assert leader._conn is not None
        got = settings(leader._conn, "idle_session_timeout", "lock_timeout", "tcp_keepalives_idle")
        assert got == {"idle_session_timeout": "30000", "lock_timeout": "15000", "tcp_keepalives_idle": "10"}
    finally:
        leader.release()


def test_settings_in_the_store_url_win(postgres):
    url = postgres.new_database("override") + "?options=-c%20lock_timeout%3D3s&keepalives_idle=7"
    store = Store(url)
    try:
        with store.engine.connect() as conn:
            got = settings(conn, "lock_timeout", "statement_timeout")
            params = conn.connection.dbapi_connection.info.get_parameters()
    finally:
        store.close()
    assert got == {"lock_timeout": "3000", "statement_timeout": "120000"}
    assert params["keepalives_idle"] == "7"


def test_a_stalled_writer_blocks_another_for_the_lock_timeout_only_and_loses_its_locks_soon(postgres):
    """A store session stops in the middle of a save, holding the service's lock.

    Another writer of that service gives up after ``lock_timeout`` with one line; the
    server ends the stalled session after ``idle_in_transaction_session_timeout``, and
    then the write goes through.
    """
    url = postgres.new_database("stalled")
    stalled, other = Store(url), Store(url)
    conn = stalled.engine.connect()
    try:
        conn.begin()
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock_key("service", "api")})
        pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
        stalled_at = time.monotonic()  # from here the session is idle in its transaction, as if stopped

        done: list[BaseException | None] = []

        def save() -> None:
            try:
                other.save("api", "fp", "ratio", BASE, BASE + 10, {(): ratio(BASE, 10)})
                done.append(None)
            except BaseException as exc:  # noqa: BLE001 (checked below)
                done.append(exc)

        t0 = time.monotonic()
        writer = threading.Thread(target=save, daemon=True)
        writer.start()
        writer.join(40)
        waited = time.monotonic() - t0
        assert not writer.is_alive(), "the second writer was still waiting for the lock after 40 s"
        print(f"the second writer gave up after {waited:.1f}s")
        [err] = done
        assert isinstance(err, StoreError), err
        msg = str(err)
        assert 14 <= waited <= 20, waited
        assert "another process held the lock for more than 15 s" in msg and "\n" not in msg
        assert "cannot save service 'api'" in msg and waited_for_lock(err)

        # The server ends the stalled session (its locks go with it) 30 s after its last statement.
        with psycopg.connect(postgres.dsn(dbname(url)), autocommit=True) as admin:
            while admin.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone()[0]:
                assert time.monotonic() - stalled_at < 45, "the stalled session was never ended"
                time.sleep(0.5)
        ended = time.monotonic() - stalled_at
        print(f"the server ended the stalled session {ended:.1f}s after its last statement")
        assert 29 <= ended <= 40, ended
        other.save("api", "fp", "ratio", BASE, BASE + 10, {(): ratio(BASE, 10)})
        assert other.load("api", BASE, BASE + 10)[()].total.sum() == 100
        with pytest.raises(sa.exc.DBAPIError):  # the stalled session is gone: its write rolled back
            conn.exec_driver_sql("SELECT 1")
    finally:
        try:
            conn.close()
        except sa.exc.SQLAlchemyError:
            pass
        stalled.close()
        other.close()


def test_a_writer_stalled_right_after_a_batch_insert_is_ended_too(postgres, monkeypatch):
    """psycopg sends a batch (executemany) in pipeline mode; the server must still end a client stalled after it."""
    from slactl.store import write

    url = postgres.new_database("batch")
    store = Store(url)
    real, stalled, resume, pid = write._days, threading.Event(), threading.Event(), []

    def stall_after(conn, items):  # noqa: ANN001, ANN202
        pid.append(conn.exec_driver_sql("SELECT pg_backend_pid()").scalar())
        real(conn, items)  # its last statement is a batch insert of the day rows
        stalled.set()
        resume.wait(60)

    monkeypatch.setattr(write, "_days", stall_after)
    done: list[BaseException | None] = []

    def save() -> None:
        try:
            store.save("api", "fp", "ratio", BASE, BASE + 10, {(): ratio(BASE, 10)})
            done.append(None)
        except BaseException as exc:  # noqa: BLE001 (checked below)
            done.append(exc)

    writer = threading.Thread(target=save, daemon=True)
    writer.start()
    try:
        assert stalled.wait(30)
        t0 = time.monotonic()
        with psycopg.connect(postgres.dsn(dbname(url)), autocommit=True) as admin:
            while admin.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", (pid[0],)).fetchone()[0]:
                assert time.monotonic() - t0 < 45, "the session stalled after a batch insert was never ended"
                time.sleep(0.5)
        assert time.monotonic() - t0 <= 32
    finally:
        resume.set()
        writer.join(30)
        store.close()
    [err] = done
    assert isinstance(err, StoreError)  # its write rolled back


def test_a_new_leader_stays_healthy_while_its_first_ingest_only_waits_for_a_lock(tmp_path):
    """A lock wait is retried at the next run; the leader fails /healthz only after its three intervals."""
    from datetime import UTC, datetime, timedelta
    from types import SimpleNamespace

    from kits.scheduler import write_config

    from slactl.config import load
    from slactl.scheduler.service import Scheduler

    class Always:
        def poll(self) -> bool:
            return True

        def release(self) -> None:
            pass

        def describe(self) -> str:
            return "always"

    def lock_wait() -> StoreError:
        orig = psycopg.errors.LockNotAvailable("canceling statement due to lock timeout")
        try:
            raise sa.exc.OperationalError("SELECT pg_advisory_xact_lock(1)", {}, orig)
        except sa.exc.OperationalError as exc:
            try:
                raise StoreError("store x: cannot save 4 services: another process held the lock") from exc
            except StoreError as err:
                return err

    clock = [datetime(2026, 2, 1, tzinfo=UTC)]
    sched = Scheduler(load(write_config(tmp_path)), clock=lambda: clock[0], leadership=Always())
    sched._aps = SimpleNamespace(running=True)
    failure = [lock_wait()]

    def ingest() -> None:
        raise failure[0]

    sched.ingest_job = ingest
    assert sched._run("ingest") is False and "ingest" in sched.lock_waits
    assert sched.health() == (True, "ok: leader, first ingest waiting for a store lock")
    clock[0] += timedelta(seconds=3 * sched.ingest_every + 1)
    assert sched.health()[0] is False  # past its three intervals it fails, as any leader without an ingest
    clock[0] -= timedelta(seconds=3 * sched.ingest_every + 1)
    failure[0] = StoreError("store x: cannot save 4 services: disk full")
    assert sched._run("ingest") is False and "ingest" not in sched.lock_waits
    assert sched.health() == (False, "no successful ingest yet: store x: cannot save 4 services: disk full")
