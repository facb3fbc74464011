"""Arguments and stored rows that cannot work: one line naming the problem and the fix, the right exit code.

Each used to be accepted silently or to end in an internal error:
``credits --date`` before the month's end, on 0001-01-01 or on 9999-12-31;
``store forget`` of a month not begun; a stored service whose kind is not
``ratio`` or ``probe`` or disagrees with its fields; a stored field ``le:abc``.
"""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from slactl.cli.main import main
from slactl.config import load
from slactl.errors import UsageError
from slactl.model import minute_of
from slactl.store.sql import Store, chunks_t, services_t

CONFIG = """\
timezone: {zone}
sources:
  gen: {{type: sample, seed: 3}}
tiers:
  standard: {{uptime_target: 99.9, credits: [{{below: 99.9, percent: 10}}]}}
services:
  web:
    source: gen
    availability:
      probe: probe_success{{service="web"}}
customers:
  acme: {{tier: standard, monthly_fee: "100.00", services: [web]}}
company: {{name: Generic Corp, claim_days: {claim}}}
"""


def write(folder: Path, zone: str = "UTC", claim: int = 30) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "slactl.yaml"
    path.write_text(CONFIG.format(zone=zone, claim=claim), encoding="utf-8")
    return path


def run(args: list[str], capsys) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def one_line(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err and "internal error" not in err, err
    return lines[0]


# --------------------------------------------------------------------------- credits --date


@pytest.mark.parametrize(
    ("zone", "day", "problem"),
    [
        ("UTC", "2026-01-15", "--date 2026-01-15: 2026-01 ends on 2026-02-01 (00:00 in UTC); "
                              "date its statements on or after that day (the default)"),
        ("Asia/Tokyo", "2026-01-31", "--date 2026-01-31: 2026-01 ends on 2026-02-01 (00:00 in Asia/Tokyo); "
                                     "date its statements on or after that day (the default)"),
        ("UTC", "0001-01-01", "--date 0001-01-01: 2026-01 ends on 2026-02-01 (00:00 in UTC); "
                              "date its statements on or after that day (the default)"),
        ("UTC", "9999-12-31", "--date 9999-12-31: its statements could be disputed until 30 days later "
                              "(company.claim_days), past 9999-12-31; give a date up to 9999-12-01"),
    ],
)  # fmt: skip
def test_credits_date_outside_what_a_statement_can_carry_is_refused(tmp_path, capsys, monkeypatch, zone, day, problem):
    monkeypatch.setenv("SLACTL_NOW", "2026-02-03T00:00:00Z")
    path = write(tmp_path, zone)
    code, _, err = run(["--config", str(path), "credits", "--month", "2026-01", "--date", day,
                        "--out", str(tmp_path / "out")], capsys)  # fmt: skip
    assert code == 2
    assert one_line(err) == f"slactl: error: {problem}"
    assert not (tmp_path / "slactl.db").exists() and not (tmp_path / "out").exists()


def test_credits_date_bounds_are_inclusive(tmp_path):
    from slactl.cli.core import _check_statement_date

    cfg = load(write(tmp_path, claim=30))
    _check_statement_date(cfg, "2026-01", date(2026, 2, 1))  # the default date itself
    _check_statement_date(cfg, "2026-01", date(9999, 12, 1))  # disputable until 9999-12-31
    with pytest.raises(UsageError):
        _check_statement_date(cfg, "2026-01", date(9999, 12, 2))
    cfg0 = load(write(tmp_path / "zero", claim=0))
    _check_statement_date(cfg0, "2026-12", date(9999, 12, 31))


# --------------------------------------------------------------------------- store forget


def test_store_forget_of_a_month_not_begun_is_refused(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SLACTL_NOW", "2026-03-15T00:00:00Z")
    path = write(tmp_path, "Asia/Tokyo")
    code, out, err = run(["--config", str(path), "store", "forget", "--service", "web", "--month", "2026-04"], capsys)
    assert code == 2 and out == ""
    assert one_line(err) == (
        "slactl: error: --month 2026-04 has not begun in Asia/Tokyo (it starts 2026-03-31T15:00:00Z): "
        "nothing of it is stored, so there is nothing to forget"
    )
    code, out, err = run(["--config", str(path), "store", "forget", "--service", "web", "--month", "2026-03"], capsys)
    assert code == 0 and err == ""
    assert out.startswith("forgot service 'web' from 2026-02-28T00:00:00Z to 2026-04-01T00:00:00Z")


# --------------------------------------------------------------------------- stored rows changed outside slactl


@pytest.fixture(scope="module")
def pulled(tmp_path_factory) -> Path:
    """A store holding January 2026 of the probe service ``web``, pulled once by ``report``."""
    folder = tmp_path_factory.mktemp("pulled")
    path = write(folder)
    mp = pytest.MonkeyPatch()
    mp.setenv("SLACTL_NOW", "2026-02-02T00:00:00Z")
    try:
        assert main(["--config", str(path), "report", "monthly", "--month", "2026-01", "--out", str(folder / "out")]) == 0
    finally:
        mp.undo()
    return folder


def _corrupt(pulled: Path, tmp_path: Path, change: sa.Executable) -> Path:
    for name in ("slactl.yaml", "slactl.db"):
        shutil.copy(pulled / name, tmp_path / name)
    path = tmp_path / "slactl.yaml"
    store = Store(load(path).store_url)
    try:
        with store.engine.begin() as conn:
            assert conn.execute(change).rowcount >= 1
    finally:
        store.close()
    return path


JAN_2 = minute_of(datetime(2026, 1, 2, tzinfo=UTC))  # a stored day inside the month


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (sa.update(services_t).values(kind="bogus"),
         "the stored minutes of service 'web' for 2026-01 (UTC day 2026-01-01) are corrupt (the store records its "
         "kind as 'bogus', not ratio or probe); drop them with `slactl store forget --service web --month 2026-01` "
         "and run again to pull them from the source"),
        (sa.update(services_t).values(kind="ratio"),
         "the stored minutes of service 'web' for 2026-01 (UTC day 2026-01-01) are corrupt (a field 'probe_count' that a ratio "
         "service does not keep); drop them with `slactl store forget --service web --month 2026-01` and run again "
         "to pull them from the source"),
        (sa.update(chunks_t).where(chunks_t.c.field == "probe_count", chunks_t.c.day == JAN_2).values(field="le:abc"),
         "the stored minutes of service 'web' for 2026-01 (UTC day 2026-01-02) are corrupt (a field 'le:abc' that a "
         "probe service does not keep); drop them with `slactl store forget --service web --month 2026-01` and run "
         "again to pull them from the source"),
        (sa.update(chunks_t).where(chunks_t.c.field == "probe_sum", chunks_t.c.day == JAN_2).values(field="errors"),
         "the stored minutes of service 'web' for 2026-01 (UTC day 2026-01-02) are corrupt (a field 'errors' that a "
         "probe service does not keep); drop them with `slactl store forget --service web --month 2026-01` and run "
         "again to pull them from the source"),
    ],
    ids=["kind-bogus", "kind-ratio", "field-le-abc", "fields-of-both-kinds"],
)  # fmt: skip
def test_a_stored_row_changed_outside_slactl_is_one_line_exit_1(pulled, tmp_path, capsys, monkeypatch, change, problem):
    monkeypatch.setenv("SLACTL_NOW", "2026-02-02T00:00:00Z")
    path = _corrupt(pulled, tmp_path, change)
    code, _, err = run(["--config", str(path), "report", "monthly", "--month", "2026-01", "--out", str(tmp_path / "o")], capsys)
    assert code == 1
    assert one_line(err) == f"slactl: error: {problem}"


def test_store_forget_repairs_a_bad_field(pulled, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SLACTL_NOW", "2026-02-02T00:00:00Z")
    change = sa.update(chunks_t).where(chunks_t.c.field == "probe_count", chunks_t.c.day == JAN_2).values(field="le:abc")
    path = _corrupt(pulled, tmp_path, change)
    assert run(["--config", str(path), "store", "forget", "--service", "web", "--month", "2026-01"], capsys)[0] == 0
    code, out, err = run(["--config", str(path), "report", "monthly", "--month", "2026-01", "--out", str(tmp_path / "o")], capsys)
    assert code == 0, err
    assert (tmp_path / "o" / "report-2026-01.json").read_bytes() == (pulled / "out" / "report-2026-01.json").read_bytes()
