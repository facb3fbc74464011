"""A store newer than this slactl is refused in one line; going back to 0002 leaves rows an older slactl reads."""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa

from slactl.cli.main import main
from slactl.errors import StoreError
from slactl.model import MinuteSeries
from slactl.store import migrate
from slactl.store.days import CHUNK_BYTES
from slactl.store.sql import DAY, Store

BASE = 29_455_200  # 2026-01-01 UTC, epoch minutes


def _month(rng: np.random.Generator) -> dict:
    n = 3 * DAY
    total = rng.poisson(500, n).astype(float)
    return {(("tenant", "a"),): MinuteSeries("ratio", BASE, rng.random(n) > 0.01, errors=(total > 520) * 3.0, total=total)}


def _old_reader(data: bytes) -> np.ndarray:
    """How slactl before revision 0003 read a day row: raw float64, or zlib of them."""
    raw = data if len(data) == CHUNK_BYTES else zlib.decompress(data)
    assert len(raw) == CHUNK_BYTES
    return np.frombuffer(raw, dtype="<f8")


def test_a_store_from_a_newer_slactl_is_refused_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    Store(url).close()
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(f"UPDATE {migrate.VERSION_TABLE} SET version_num = '0099'"))
    engine.dispose()
    with pytest.raises(StoreError, match=r"revision 0099, written by a newer slactl .*knows up to 0003"):
        Store(url)
    (tmp_path / "slactl.yaml").write_text(
        f"store: {url}\ntiers: {{standard: {{uptime_target: 99.9}}}}\nsources: {{gen: {{type: sample}}}}\nservices: {{api: {{source: gen, availability: {{probe: probe_success}}}}}}\n"
    )
    code = main(["--config", str(tmp_path / "slactl.yaml"), "store", "forget", "--service", "api", "--month", "2026-01"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1 and "revision 0099" in err[0], err


def test_going_back_to_0002_rewrites_narrow_rows_for_an_older_slactl(tmp_path: Path) -> None:
    from alembic import command

    url = f"sqlite:///{tmp_path / 'back.db'}"
    store = Store(url)
    groups = _month(np.random.default_rng(5))
    store.save("api", "fp", "ratio", BASE, BASE + 3 * DAY, groups)
    store.close()
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        narrow = conn.execute(sa.text("SELECT count(*) FROM slactl_chunk WHERE length(data) < 2000")).scalar()
        assert narrow, "the month should have been stored in the narrow forms"
        command.downgrade(migrate._config(conn), "0002")
    with engine.connect() as conn:
        assert migrate.current(conn) == "0002"
        rows = conn.execute(sa.text("SELECT field, day, data FROM slactl_chunk WHERE field = 'total'")).all()
    engine.dispose()
    total = groups[(("tenant", "a"),)].total
    assert len(rows) == 3
    for _field, day, data in rows:
        np.testing.assert_array_equal(_old_reader(data), total[day - BASE : day - BASE + DAY])
    again = Store(url)  # upgrades to the newest revision and reads the same minutes
    back = again.load("api", BASE, BASE + 3 * DAY)[(("tenant", "a"),)]
    np.testing.assert_array_equal(back.total, total)
    np.testing.assert_array_equal(back.has_data, groups[(("tenant", "a"),)].has_data)
    again.close()
