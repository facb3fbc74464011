"""A damaged or hand-edited store is one line naming the problem and the repair, with the right exit code.

Each case is made by editing the tables as a restore gone wrong or a hand edit
would: a series group that is not JSON, a service's kind changed under its rows, a
field no kind keeps, two rows (or none) in the schema's version table, and a store
URL that cannot be read.  SQLite and a real PostgreSQL (``postgres`` fixture) alike.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa
import yaml

from slactl.app.demo import demo_config
from slactl.app.report import report_monthly
from slactl.config import load
from slactl.errors import ConfigError, StoreError
from slactl.model import MinuteSeries
from slactl.store import migrate
from slactl.store.engine import make_engine
from slactl.store.sql import DAY, Store

BASE = 29_459_520  # 2026-01-05 00:00 UTC, a day boundary
JAN_15 = BASE + 10 * DAY
SLACTL = [sys.executable, "-m", "slactl"]
NOW = "2026-02-03T00:00:00Z"


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 's.db'}"
    return request.getfixturevalue("postgres").new_database("damage")


def probe(start: int, n: int) -> MinuteSeries:
    ms = MinuteSeries.empty("probe", start, n)
    ms.has_data[:] = True
    ms.probe_sum[:] = 1
    ms.probe_count[:] = 1
    return ms


def execute(url: str, sql: str, **params: object) -> None:
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(sql), params)
    finally:
        engine.dispose()


def one_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in text, text
    return lines[0]


def filled_demo(tmp_path: Path, store_url: str) -> Path:
    """The demo config on ``store_url``, with January 2026 reported once (so the store holds it)."""
    raw = yaml.safe_load(demo_config("2026-01", 11))
    raw["store"] = store_url
    path = tmp_path / "slactl.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    cfg = load(path)
    store = Store(cfg.store_url)
    try:
        report_monthly(cfg, store, "2026-01", tmp_path / "first", datetime.fromisoformat(NOW.replace("Z", "+00:00")))
    finally:
        store.close()
    return path


def slactl(config: Path, *args: str, store: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("SLACTL_CONFIG", "SLACTL_DEBUG", "SLACTL_STORE")}
    env.update({"SLACTL_NOW": NOW, **({"SLACTL_STORE": store} if store else {})})
    return subprocess.run([*SLACTL, "--config", str(config), *args], capture_output=True, text=True, timeout=120, env=env)


def report(config: Path) -> subprocess.CompletedProcess[str]:
    return slactl(config, "report", "monthly", "--month", "2026-01", "--out", str(config.parent / "out"))


def test_a_group_that_is_not_json_names_service_month_and_forget(tmp_path, url):
    config = filled_demo(tmp_path, url)
    execute(url, "UPDATE slactl_chunk SET grp = :g WHERE service = 'api' AND field = 'has_data' AND day = :d "
                 "AND grp = (SELECT min(grp) FROM slactl_chunk WHERE service = 'api' AND day = :d)",
            g='{"broken', d=JAN_15)  # fmt: skip
    done = report(config)
    line = one_line(done.stderr)
    assert done.returncode == 1, done.stderr
    assert "service 'api'" in line and "2026-01" in line and "series group" in line
    assert "slactl store forget --service api --month 2026-01" in line
    forgot = slactl(config, "store", "forget", "--service", "api", "--month", "2026-01")
    assert forgot.returncode == 0, forgot.stderr
    again = report(config)
    assert again.returncode == 0, again.stderr


def test_a_kind_changed_under_the_stored_rows_names_the_forget_that_repairs_it(tmp_path, url):
    config = filled_demo(tmp_path, url)
    execute(url, "UPDATE slactl_service SET kind = 'ratio' WHERE name = 'auth'")  # auth is a probe service
    done = report(config)
    line = one_line(done.stderr)
    assert done.returncode == 1, done.stderr
    assert "service 'auth'" in line and "slactl store forget --service auth --month 2026-01" in line
    assert "ratio service does not keep" in line
    assert slactl(config, "store", "forget", "--service", "auth", "--month", "2026-01").returncode == 0
    again = report(config)  # the pull stores the service afresh, with its kind
    assert again.returncode == 0, again.stderr


@pytest.mark.parametrize(("kind", "field", "why"), [
    ("probe", "le:abc", "a field 'le:abc' that a probe service does not keep"),
    ("bogus", None, "the store records its kind as 'bogus'"),
])  # fmt: skip
def test_a_field_or_kind_no_service_keeps_is_one_line(url, kind, field, why):
    store = Store(url)
    try:
        store.save("db", "fp", "probe", BASE, BASE + 60, {(): probe(BASE, 60)})
        if field:
            execute(url, "UPDATE slactl_chunk SET field = :f WHERE field = 'probe_sum'", f=field)
        execute(url, "UPDATE slactl_service SET kind = :k", k=kind)
        with pytest.raises(StoreError) as err:
            store.load("db", BASE, BASE + 60)
        msg = str(err.value)
        assert why in msg and "`slactl store forget --service db --month 2026-01`" in msg and "\n" not in msg
        store.forget("db", BASE, BASE + 60)
        store.save("db", "fp", "probe", BASE, BASE + 60, {(): probe(BASE, 60)})  # stored afresh
        back = store.load("db", BASE, BASE + 60)[()]
        assert back.kind == "probe" and np.array_equal(back.probe_sum, np.ones(60))
    finally:
        store.close()


def test_two_rows_in_the_version_table_are_refused_with_the_repair(tmp_path, url):
    Store(url).close()
    execute(url, f"INSERT INTO {migrate.VERSION_TABLE} (version_num) VALUES ('0002')")
    with pytest.raises(StoreError) as err:
        Store(url)
    msg = str(err.value)
    assert f"{migrate.VERSION_TABLE} holds 2 revisions (0002, {migrate.head()})" in msg and "\n" not in msg
    assert "delete every row but the store's real revision" in msg
    config = tmp_path / "slactl.yaml"
    config.write_text(demo_config("2026-01", 11))
    done = slactl(config, "report", "monthly", "--month", "2026-01", "--out", str(tmp_path / "o"), store=url)
    assert done.returncode == 1 and "holds 2 revisions" in one_line(done.stderr)


@pytest.mark.parametrize("drop_pull", [False, True])
def test_an_empty_version_table_is_read_from_the_tables_and_keeps_the_data(url, drop_pull):
    store = Store(url)
    try:
        store.save("db", "fp", "probe", BASE, BASE + 60, {(): probe(BASE, 60)}, {"source": "s"}, 5)
    finally:
        store.close()
    execute(url, f"DELETE FROM {migrate.VERSION_TABLE}")
    if drop_pull:  # a store of revision 0001, its version row lost
        execute(url, "DROP TABLE slactl_pull")
    store = Store(url)
    try:
        with store.engine.connect() as conn:
            assert migrate.stored_revisions(conn) == [migrate.head()]
        assert store.load("db", BASE, BASE + 60)[()].probe_sum.sum() == 60
        assert store.pulls("db", BASE, BASE + 60) == ([] if drop_pull else [(BASE, BASE + 60, 5, {"source": "s"})])
    finally:
        store.close()


def test_an_empty_version_table_beside_tables_of_no_known_revision_is_one_line(url):
    Store(url).close()
    execute(url, f"DELETE FROM {migrate.VERSION_TABLE}")
    execute(url, "DROP TABLE slactl_coverage")
    with pytest.raises(StoreError) as err:
        Store(url)
    msg = str(err.value)
    assert "no schema revision in slactl_alembic_version" in msg and "restore the store from a backup" in msg
    assert "already exists" not in msg and "\n" not in msg


@pytest.mark.parametrize("bad", [
    "postgresql+psycopg://u@[::1:15432/s1",
    "postgresql+psycopg://u@host:port/s1",
    "postgresql+psycopg://u@127.0.0.1:99999/s1",
    "postgresql://u:pa@ss-Secret9@db.example/s1",
])  # fmt: skip
def test_a_store_url_that_cannot_be_read_is_a_config_error_naming_store(tmp_path, bad):
    with pytest.raises(ConfigError) as err:
        make_engine(bad)
    assert err.value.key == "store" and "\n" not in str(err.value)
    config = tmp_path / "slactl.yaml"
    config.write_text(demo_config("2026-01", 11))
    done = slactl(config, "report", "monthly", "--month", "2026-01", "--out", str(tmp_path / "o"), store=bad)
    line = one_line(done.stderr)
    assert done.returncode == 2, done.stderr
    assert "store" in line and "is not a database URL" in line and "internal error" not in line
    assert "ss-Secret9" not in line
