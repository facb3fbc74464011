"""The store on PostgreSQL and SQLite alike: migrations, the same bytes, repairs, a missing driver.

PostgreSQL is a real cluster (``postgres`` fixture: initdb in a temp folder, loopback).
"""

from __future__ import annotations

import json
import subprocess
import sys

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

# The tables exactly as slactl created them before it managed its schema with Alembic.
LEGACY_DDL = (
    'CREATE TABLE slactl_service (name VARCHAR(200) NOT NULL, fingerprint VARCHAR(64) NOT NULL, '
    'kind VARCHAR(10) NOT NULL, PRIMARY KEY (name))',
    'CREATE TABLE slactl_chunk (service VARCHAR(200) NOT NULL, grp TEXT NOT NULL, field VARCHAR(60) NOT NULL, '
    'day BIGINT NOT NULL, data {blob} NOT NULL, PRIMARY KEY (service, grp, field, day))',
    'CREATE TABLE slactl_coverage (service VARCHAR(200) NOT NULL, start BIGINT NOT NULL, "end" BIGINT NOT NULL, '
    'PRIMARY KEY (service, start))',
)


def ratio(start: int, n: int, total: float) -> MinuteSeries:
    ms = MinuteSeries.empty("ratio", start, n)
    ms.has_data[:] = True
    ms.total[:] = total
    ms.errors[:] = 1
    return ms


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 's.db'}"
    return request.getfixturevalue("postgres").new_database()


def tables(url: str) -> set[str]:
    engine = sa.create_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_an_empty_database_is_migrated_to_the_newest_revision(url):
    store = Store(url)
    try:
        with store.engine.connect() as conn:
            assert migrate.current(conn) == migrate.head()
        store.save("api", "fp", "ratio", BASE, BASE + 10, {(): ratio(BASE, 10, 5)})
        assert store.load("api", BASE, BASE + 10)[()].total.sum() == 50
    finally:
        store.close()
    assert {"slactl_service", "slactl_chunk", "slactl_coverage", "slactl_pull", migrate.VERSION_TABLE} <= tables(url)
    Store(url).close()  # opening again is a no-op


def test_a_store_from_before_migrations_keeps_its_months(url):
    engine = sa.create_engine(url)
    blob = "BYTEA" if engine.dialect.name == "postgresql" else "BLOB"
    data = np.full(DAY, 7.0).astype("<f8").tobytes()
    with engine.begin() as conn:
        for ddl in LEGACY_DDL:
            conn.exec_driver_sql(ddl.format(blob=blob))
        conn.execute(sa.text("INSERT INTO slactl_service VALUES ('api', 'fp', 'ratio')"))
        for field in ("has_data", "total"):
            conn.execute(sa.text("INSERT INTO slactl_chunk VALUES ('api', '[]', :f, :d, :b)"),
                         {"f": field, "d": BASE, "b": data})  # fmt: skip
        conn.execute(sa.text('INSERT INTO slactl_coverage VALUES (\'api\', :a, :b)'), {"a": BASE, "b": BASE + DAY})
    engine.dispose()
    store = Store(url)
    try:
        with store.engine.connect() as conn:
            assert migrate.current(conn) == migrate.head()
        back = store.load("api", BASE, BASE + DAY)[()]
        assert back.has_data.all() and back.total.sum() == 7 * DAY
        assert store.missing("api", "fp", BASE, BASE + DAY) == []
    finally:
        store.close()


def test_every_earlier_revision_upgrades_to_the_newest_keeping_data(url):
    """Walk the chain: stop at each revision, store a day, then upgrade to head."""
    from alembic.script import ScriptDirectory

    revisions = [s.revision for s in ScriptDirectory.from_config(migrate._config()).walk_revisions()][::-1]
    assert revisions[0] == migrate.BASELINE and revisions[-1] == migrate.head()
    engine = make_engine(url)
    try:
        for rev in revisions:
            migrate.upgrade(engine, rev)
            with engine.connect() as conn:
                assert migrate.current(conn) == rev
    finally:
        engine.dispose()
    store = Store(url)
    try:
        store.save("api", "fp", "ratio", BASE, BASE + 60, {(): ratio(BASE, 60, 2)})
    finally:
        store.close()


def test_a_store_at_0001_gains_provenance_and_keeps_its_raw_days(url):
    """The previous revision's store: raw 11,520-byte rows, no slactl_pull; opening upgrades it."""
    engine = make_engine(url)
    try:
        migrate.upgrade(engine, "0001")
        assert "slactl_pull" not in tables(url)
        with engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO slactl_service VALUES ('api', 'fp', 'ratio')"))
            for field in ("has_data", "total"):
                conn.execute(sa.text("INSERT INTO slactl_chunk VALUES ('api', '[]', :f, :d, :b)"),
                             {"f": field, "d": BASE, "b": np.full(DAY, 3.0).astype("<f8").tobytes()})  # fmt: skip
            conn.execute(sa.text("INSERT INTO slactl_coverage VALUES ('api', :a, :b)"), {"a": BASE, "b": BASE + DAY})
    finally:
        engine.dispose()
    store = Store(url)
    try:
        with store.engine.connect() as conn:
            assert migrate.current(conn) == migrate.head()
        assert store.load("api", BASE, BASE + DAY)[()].total.sum() == 3 * DAY
        assert store.pulls("api", BASE, BASE + DAY) == []
        store.save("api", "fp", "ratio", BASE + DAY, BASE + DAY + 60, {(): ratio(BASE + DAY, 60, 2)}, {"source": "p"}, 7)
        assert store.pulls("api", BASE, BASE + 2 * DAY) == [(BASE + DAY, BASE + DAY + 60, 7, {"source": "p"})]
        assert store.load("api", BASE, BASE + DAY + 60)[()].total.sum() == 3 * DAY + 120
        store.forget("api", BASE + DAY, BASE + DAY + 1)
        assert store.pulls("api", BASE, BASE + 2 * DAY) == []
    finally:
        store.close()
    assert "slactl_pull" in tables(url)


def test_a_corrupt_chunk_names_service_month_and_the_repair(url):
    store = Store(url)
    try:
        store.save("api", "fp", "ratio", BASE, BASE + 100, {(): ratio(BASE, 100, 10)})
        with store.engine.begin() as conn:
            conn.execute(sa.text("UPDATE slactl_chunk SET data = :d WHERE field = 'total'"), {"d": b"\x00" * 13})
        with pytest.raises(StoreError) as err:
            store.load("api", BASE, BASE + 100)
        msg = str(err.value)
        assert "'api'" in msg and "2026-01" in msg and "slactl store forget --service api --month 2026-01" in msg
        assert "\n" not in msg
        store.forget("api", BASE + 5, BASE + 6)
        assert store.load("api", BASE, BASE + 100) == {} or not store.load("api", BASE, BASE + 100)[()].has_data.any()
        assert store.missing("api", "fp", BASE, BASE + 100) == [(BASE, BASE + 100)]
    finally:
        store.close()


def test_the_same_month_gives_byte_identical_report_json(tmp_path, postgres):
    from datetime import datetime

    now = datetime.fromisoformat("2026-02-03T00:00:00+00:00")
    outs = []
    for name, store_url in (("sqlite", f"sqlite:///{tmp_path / 'r.db'}"), ("pg", postgres.new_database())):
        raw = yaml.safe_load(demo_config("2026-01", 11))
        raw["store"] = store_url
        (tmp_path / name).mkdir()
        path = tmp_path / name / "slactl.yaml"
        path.write_text(yaml.safe_dump(raw, sort_keys=False))
        cfg = load(path)
        for _ in range(2):  # cold (pulls into the store), then warm (reads back what was stored)
            store = Store(cfg.store_url)
            try:
                report_monthly(cfg, store, "2026-01", tmp_path / name / "out", now)
            finally:
                store.close()
        outs.append((tmp_path / name / "out" / "report-2026-01.json").read_bytes())
    assert outs[0] == outs[1]
    assert json.loads(outs[0])["month"] == "2026-01"


def test_a_missing_driver_names_the_extra_and_exits_2(tmp_path):
    with pytest.raises(ConfigError, match=r"pip install 'slactl\[postgresql\]'"):
        raise_if_missing()
    raw = yaml.safe_load(demo_config("2026-01", 11))
    raw["store"] = "postgresql+psycopg://slactl:hunter2hunter2@127.0.0.1:1/slactl"
    config = tmp_path / "slactl.yaml"
    config.write_text(yaml.safe_dump(raw))
    # A Python where importing psycopg fails, as on an install without the extra.
    code = ("import sys; sys.modules['psycopg'] = None; sys.modules['psycopg2'] = None\n"
            "from slactl.cli.main import main; sys.exit(main())")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", code, "--config", str(config), "report", "monthly", "--month",
                           "2026-01", "--out", str(tmp_path / "o")], capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "pip install 'slactl[postgresql]'" in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "hunter2" not in done.stderr


def raise_if_missing() -> None:
    saved = sys.modules.get("psycopg")
    sys.modules["psycopg"] = None  # type: ignore[assignment]
    try:
        make_engine("postgresql+psycopg://u@127.0.0.1/x")
    finally:
        if saved is not None:
            sys.modules["psycopg"] = saved
        else:
            del sys.modules["psycopg"]


def test_unreachable_postgres_is_one_line_without_the_password():
    with pytest.raises(StoreError) as err:
        Store("postgresql+psycopg://slactl:hunter2hunter2@127.0.0.1:1/slactl")
    assert "hunter2" not in str(err.value) and "cannot open store" in str(err.value)


def test_slactl_store_replaces_the_config_store(tmp_path, monkeypatch):
    raw = yaml.safe_load(demo_config("2026-01", 11))
    path = tmp_path / "slactl.yaml"
    path.write_text(yaml.safe_dump(raw))
    assert load(path).store_url == f"sqlite:///{tmp_path / 'slactl.db'}"
    monkeypatch.setenv("SLACTL_STORE", "postgresql://slactl:pw@db.example/slactl")
    assert load(path).store_url == "postgresql://slactl:pw@db.example/slactl"


def test_concurrent_writers_of_one_service_never_double_or_fail(url):
    """Two processes' worth of stores saving overlapping ranges at once: one result, no conflict."""
    import threading

    stores = [Store(url), Store(url)]
    errors: list[BaseException] = []

    def writer(store: Store, offset: int) -> None:
        try:
            for i in range(4):
                a = BASE + offset + 30 * i
                store.save("api", "fp", "ratio", a, a + 200, {(): ratio(a, 200, 3)})
        except BaseException as exc:  # noqa: BLE001 (reported below)
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(stores[i % 2], 10 * i)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    try:
        assert not errors, errors
        back = stores[0].load("api", BASE, BASE + 400)[()]
        lo, hi = BASE, BASE + 30 * 3 + 30 + 200
        assert back.has_data[: hi - lo].all() and not back.has_data[hi - lo :].any()
        assert back.total[: hi - lo].sum() == 3 * (hi - lo)
        assert stores[0].missing("api", "fp", lo, hi) == []
    finally:
        for s in stores:
            s.close()
