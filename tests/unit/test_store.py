"""The per-minute store: idempotent replacement, coverage, definition changes, atomicity."""

from __future__ import annotations

import numpy as np
import pytest

from slactl.errors import StoreError
from slactl.model import MinuteSeries
from slactl.store.sql import DAY, Store

BASE = 29_459_520  # an epoch minute at a UTC day boundary (2026-01-05)
assert BASE % DAY == 0


def ratio(start: int, n: int, total: float, errors: float = 0.0, le: float | None = None) -> MinuteSeries:
    ms = MinuteSeries.empty("ratio", start, n)
    ms.has_data[:] = True
    ms.total[:] = total
    ms.errors[:] = errors
    if le is not None:
        ms.buckets[le] = np.full(n, total)
        ms.buckets[float("inf")] = np.full(n, total)
    return ms


@pytest.fixture
def store(tmp_path):
    s = Store(f"sqlite:///{tmp_path / 's.db'}")
    yield s
    s.close()


def test_round_trip_across_days_with_groups_and_buckets(store):
    start, n = BASE + 100, 3 * DAY  # straddles four stored days
    groups = {(("tenant", "acme"),): ratio(start, n, 10, 1, le=0.25), (("tenant", "b\"}<x>"),): ratio(start, n, 5)}
    store.save("api", "fp", "ratio", start, start + n, groups)
    back = store.load("api", start - 50, start + n + 50)
    assert set(back) == set(groups)
    acme = back[(("tenant", "acme"),)]
    assert not acme.has_data[:50].any() and acme.has_data[50:-50].all() and not acme.has_data[-50:].any()
    assert acme.total[50:-50].sum() == 10 * n and acme.errors[50:-50].sum() == n
    assert acme.buckets[0.25][50:-50].sum() == 10 * n and float("inf") in acme.buckets
    assert store.missing("api", "fp", start - 50, start + n + 50) == [(start - 50, start), (start + n, start + n + 50)]


def test_resaving_replaces_minutes_and_merges_coverage(store):
    store.save("api", "fp", "ratio", BASE, BASE + 100, {(): ratio(BASE, 100, 10)})
    # A re-pull of minutes 50..150 replaces 50..99 and adds 100..149; a group missing now is cleared there.
    store.save("api", "fp", "ratio", BASE + 50, BASE + 150, {(("t", "x"),): ratio(BASE + 50, 100, 7)})
    back = store.load("api", BASE, BASE + 150)
    assert back[()].total[:50].sum() == 500 and back[()].total[50:].sum() == 0
    assert not back[()].has_data[50:].any()
    assert back[(("t", "x"),)].total[50:].sum() == 700
    assert store.missing("api", "fp", BASE, BASE + 150) == []
    # Saving the same thing twice changes nothing.
    before = store.load("api", BASE, BASE + 150)
    store.save("api", "fp", "ratio", BASE + 50, BASE + 150, {(("t", "x"),): ratio(BASE + 50, 100, 7)})
    after = store.load("api", BASE, BASE + 150)
    for g in before:
        assert np.array_equal(before[g].total, after[g].total)


def test_changed_definition_drops_old_minutes(store):
    store.save("api", "fp1", "ratio", BASE, BASE + 100, {(): ratio(BASE, 100, 10)})
    assert store.missing("api", "fp2", BASE, BASE + 100) == [(BASE, BASE + 100)]
    store.save("api", "fp2", "probe", BASE + 10, BASE + 20, {})
    assert store.missing("api", "fp2", BASE, BASE + 100) == [(BASE, BASE + 10), (BASE + 20, BASE + 100)]
    assert store.load("api", BASE, BASE + 100) == {}


def test_a_failed_save_leaves_the_old_state(store, monkeypatch):
    store.save("api", "fp", "ratio", BASE, BASE + 100, {(): ratio(BASE, 100, 10)})

    def boom(*args, **kwargs):
        raise RuntimeError("killed between the data and the coverage")

    monkeypatch.setattr("slactl.store.write._coverage", boom)
    with pytest.raises(RuntimeError):
        store.save("api", "fp", "ratio", BASE, BASE + 200, {(): ratio(BASE, 200, 99)})
    back = store.load("api", BASE, BASE + 200)
    assert back[()].total.sum() == 1000  # the new minutes were rolled back with the coverage
    assert store.missing("api", "fp", BASE, BASE + 200) == [(BASE + 100, BASE + 200)]


def test_unusable_store_is_a_store_error(tmp_path):
    (tmp_path / "dir.db").mkdir()
    with pytest.raises(StoreError, match="cannot open store"):
        Store(f"sqlite:///{tmp_path / 'dir.db'}")


def test_day_rows_are_packed_and_raw_rows_of_older_stores_still_read(store):
    import sqlalchemy as sa

    from slactl.store.sql import chunks_t, pack_day, unpack_day

    noisy = np.random.default_rng(1).random(DAY)
    for arr in (np.ones(DAY), np.zeros(DAY), noisy, np.full(DAY, np.nan)):
        packed = pack_day(arr)
        assert len(packed) <= DAY * 8
        np.testing.assert_array_equal(unpack_day(packed), arr)
    assert len(pack_day(np.ones(DAY))) < 100
    store.save("api", "fp", "ratio", BASE, BASE + DAY, {(): ratio(BASE, DAY, 10)})
    with store.engine.begin() as conn:  # rewrite one row as an older store wrote it: raw float64
        conn.execute(sa.update(chunks_t).where(chunks_t.c.field == "total").values(data=np.full(DAY, 3.0).astype("<f8").tobytes()))
    assert store.load("api", BASE, BASE + DAY)[()].total.sum() == 3 * DAY


def test_each_range_keeps_where_it_was_pulled_from(store):
    a = {"source": "prom", "url": "http://a"}
    b = {"source": "prom", "url": "http://b"}
    ms = {(): ratio(BASE, 3 * DAY, 1)}
    store.save("api", "fp", "ratio", BASE, BASE + 100, {(): ratio(BASE, 100, 1)}, a, 1000)
    store.save("api", "fp", "ratio", BASE + 100, BASE + 200, {(): ratio(BASE + 100, 100, 1)}, a, 2000)
    assert store.pulls("api", BASE, BASE + 200) == [(BASE, BASE + 200, 2000, a)]  # pulled alike: merged
    store.save("api", "fp", "ratio", BASE + 50, BASE + 150, {(): ratio(BASE + 50, 100, 1)}, b, 3000)
    assert store.pulls("api", BASE, BASE + 200) == [
        (BASE, BASE + 50, 2000, a),
        (BASE + 50, BASE + 150, 3000, b),
        (BASE + 150, BASE + 200, 2000, a),
    ]
    store.save("api", "fp2", "ratio", BASE, BASE + 3 * DAY, ms, b, 4000)  # new definition: old records go
    assert store.pulls("api", 0, 2**40) == [(BASE, BASE + 3 * DAY, 4000, b)]


def test_lacks_data_sees_any_minute_of_any_group_without_data(store):
    assert store.lacks_data("api", BASE, BASE + 10)  # nothing stored
    full = ratio(BASE, 2 * DAY, 1)
    gap = ratio(BASE, 2 * DAY, 1)
    gap.has_data[DAY + 5] = False
    store.save("api", "fp", "ratio", BASE, BASE + 2 * DAY, {(("t", "a"),): full, (("t", "b"),): gap})
    assert not store.lacks_data("api", BASE, BASE + DAY + 5)
    assert store.lacks_data("api", BASE + DAY, BASE + DAY + 6)
    assert not store.lacks_data("api", BASE + DAY + 6, BASE + 2 * DAY)
    assert store.lacks_data("api", BASE + 2 * DAY - 1, BASE + 2 * DAY + 1)  # a day never stored


def test_many_services_saved_at_once_equal_each_saved_alone(tmp_path):
    """One transaction for many ranges (a service twice among them) stores what separate saves store."""
    from slactl.store.sql import Saving

    one, many = Store(f"sqlite:///{tmp_path / 'one.db'}"), Store(f"sqlite:///{tmp_path / 'many.db'}")
    plan = [
        ("api", BASE, BASE + DAY + 30, 3),
        ("web", BASE + 10, BASE + 50, 5),
        ("api", BASE + DAY, BASE + 2 * DAY, 7),  # overlaps api's first range: applied after it
        ("db", BASE + 5, BASE + 6, 1),
    ]
    for st in (one, many):
        st.save("web", "fp", "ratio", BASE, BASE + 100, {(): ratio(BASE, 100, 2)}, {"q": "old"}, 1)
    for name, a, b, per in plan:
        one.save(name, "fp", "ratio", a, b, {(): ratio(a, b - a, per)}, {"q": name}, 2)
    many.save_many([Saving(name, "fp", "ratio", a, b, {(): ratio(a, b - a, per)}, {"q": name}, 2) for name, a, b, per in plan])
    for name in ("api", "web", "db"):
        x, y = one.load(name, BASE, BASE + 2 * DAY), many.load(name, BASE, BASE + 2 * DAY)
        assert x.keys() == y.keys()
        for g in x:
            np.testing.assert_array_equal(x[g].total, y[g].total)
            np.testing.assert_array_equal(x[g].has_data, y[g].has_data)
        assert one.missing(name, "fp", BASE, BASE + 2 * DAY) == many.missing(name, "fp", BASE, BASE + 2 * DAY)
        assert one.pulls(name, BASE, BASE + 2 * DAY) == many.pulls(name, BASE, BASE + 2 * DAY)
    assert many.load("api", BASE, BASE + 2 * DAY)[()].total[DAY : DAY + 30].sum() == 7 * 30
    prints = {"api": "fp", "web": "fp", "db": "other", "new": "fp"}
    together = many.missing_many(prints, BASE, BASE + 2 * DAY)
    assert together == {n: many.missing(n, fp, BASE, BASE + 2 * DAY) for n, fp in prints.items()}
    assert together["db"] == together["new"] == [(BASE, BASE + 2 * DAY)]
    names = ["api", "web", "db", "new"]
    for a, b in ((BASE, BASE + 40), (BASE + 5, BASE + 6), (BASE + DAY, BASE + 2 * DAY)):
        assert many.lacking(names, a, b) == {n for n in names if many.lacks_data(n, a, b)}
    one.close()
    many.close()


def test_the_newest_migration_file_is_alembics_head(store):
    """Opening an up-to-date store skips Alembic by reading file names; they must agree with Alembic."""
    from slactl.store import migrate

    assert migrate.newest_file_revision() == migrate.head()
    with store.engine.connect() as conn:
        assert migrate.stored_revision(conn) == migrate.current(conn) == migrate.head()
