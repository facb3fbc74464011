"""A pinned "now" never freezes the future: ``SLACTL_NOW``, ``slactl.open(now=…)`` and the ingest.

A minute is stored once it has settled at "now", and a stored minute is final.
Pinned ahead of the system clock, "now" used to store minutes that had not
happened as minutes without data, for good.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest

import slactl
from slactl.app import clock
from slactl.app.ingest import fingerprint, ingest, last_settled_minute
from slactl.cli.main import main
from slactl.config import load
from slactl.errors import UsageError
from slactl.model import MinuteSeries, minute_of
from slactl.sources import base
from slactl.store.sql import Store

UNREACHABLE = """\
sources:
  prom: {type: prometheus, url: "http://127.0.0.1:9"}
tiers:
  standard: {uptime_target: 99.9}
services:
  api:
    source: prom
    availability:
      errors: http_requests_total{job="api",code=~"5.."}
      total: http_requests_total{job="api"}
"""

SAMPLE = """\
timezone: {zone}
sources:
  gen: {{type: sample, seed: 7}}
tiers:
  standard: {{uptime_target: 99.9}}
services:
  web:
    source: gen
    availability:
      probe: probe_success{{service="web"}}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "slactl.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def one_line(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err and "internal error" not in err, err
    return lines[0]


def stamp(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --------------------------------------------------------------------------- SLACTL_NOW


def test_slactl_now_ahead_of_the_clock_is_refused_before_anything_is_pulled(tmp_path, capsys, monkeypatch):
    real = datetime.now(UTC)
    ahead = real + timedelta(days=1)
    monkeypatch.setenv("SLACTL_NOW", stamp(ahead))
    path = write(tmp_path, UNREACHABLE)
    month = f"{real:%Y-%m}"
    code = main(["--config", str(path), "report", "monthly", "--month", month, "--out", str(tmp_path / "out")])
    line = one_line(capsys.readouterr().err)
    assert code == 2
    assert line.startswith(f"slactl: error: SLACTL_NOW {stamp(ahead)} is ahead of the system clock ("), line
    assert line.endswith("give a time that has passed, or unset SLACTL_NOW to use the system clock"), line
    assert not (tmp_path / "slactl.db").exists()  # refused before the store was opened


def test_scheduler_refuses_a_future_slactl_now_once_before_any_job(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SLACTL_NOW", stamp(datetime.now(UTC) + timedelta(hours=2)))
    code = main(["--config", str(write(tmp_path, UNREACHABLE)), "scheduler", "run", "--once"])
    line = one_line(capsys.readouterr().err)
    assert code == 2
    assert "is ahead of the system clock" in line


@pytest.mark.parametrize("value", ["yesterday", "2026-13-01", "2026-02-30T00:00:00Z"])
def test_slactl_now_that_is_not_a_time_is_one_usage_line(tmp_path, capsys, monkeypatch, value):
    monkeypatch.setenv("SLACTL_NOW", value)
    code = main(["--config", str(write(tmp_path, UNREACHABLE)), "report", "monthly", "--month", "2026-01",
                 "--out", str(tmp_path / "out")])  # fmt: skip
    assert code == 2
    assert one_line(capsys.readouterr().err) == (
        f"slactl: error: SLACTL_NOW {value!r} is not an ISO 8601 date or time such as 2026-02-01T00:00:00Z"
    )


def test_slactl_now_beyond_the_calendar_in_utc_is_one_usage_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SLACTL_NOW", "9999-12-31T23:59:59-01:00")
    code = main(["--config", str(write(tmp_path, UNREACHABLE)), "store", "forget", "--service", "api",
                 "--month", "2026-01"])  # fmt: skip
    assert code == 2
    assert one_line(capsys.readouterr().err) == (
        "slactl: error: SLACTL_NOW '9999-12-31T23:59:59-01:00' lies outside the years 1 to 9999 in UTC"
    )


def test_slactl_now_in_the_past_still_pins_the_clock(monkeypatch):
    from slactl.cli.app import now_utc

    for text, want in [
        ("2026-02-01T00:00:00Z", datetime(2026, 2, 1, tzinfo=UTC)),
        ("2026-02-01T01:30:00+01:00", datetime(2026, 2, 1, 0, 30, tzinfo=UTC)),
        ("2026-02-01T00:00:00", datetime(2026, 2, 1, tzinfo=UTC)),  # no offset: UTC, as before
        ("2026-02-01", datetime(2026, 2, 1, tzinfo=UTC)),
    ]:
        monkeypatch.setenv("SLACTL_NOW", text)
        assert now_utc() == want
    monkeypatch.delenv("SLACTL_NOW")
    assert abs(now_utc() - datetime.now(UTC)) < timedelta(seconds=5)


# --------------------------------------------------------------------------- slactl.open(now=…)


def test_open_reads_text_dates_and_naive_times_in_the_configs_zone(tmp_path):
    path = write(tmp_path, SAMPLE.format(zone="Europe/Berlin"))
    berlin = ZoneInfo("Europe/Berlin")
    for value, want in [
        ("2026-02-02", datetime(2026, 2, 2, tzinfo=berlin)),
        ("2026-02-02T06:00:00Z", datetime(2026, 2, 2, 6, tzinfo=UTC)),
        (date(2026, 2, 2), datetime(2026, 2, 2, tzinfo=berlin)),
        (datetime(2026, 2, 2, 12), datetime(2026, 2, 2, 12, tzinfo=berlin)),
        (datetime(2026, 2, 2, 12, tzinfo=UTC), datetime(2026, 2, 2, 12, tzinfo=UTC)),
    ]:
        with slactl.open(path, now=value) as s:
            assert s.now == want and s.now.tzinfo == UTC, value


def test_open_with_a_date_as_text_computes_the_month(tmp_path):
    """It used to fail deep inside the pipeline: a str has no .timestamp()."""
    with slactl.open(write(tmp_path, SAMPLE.format(zone="UTC")), now="2026-02-02") as s:
        fig = s.figures("2026-01")
    assert fig.services["web"].uptime.minutes.total == 31 * 1440


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("next tuesday", "slactl.open(now=…) 'next tuesday' is not an ISO 8601 date or time"),
        ("", "slactl.open(now=…) '' is not an ISO 8601 date or time"),
        (1767225600, "slactl.open(now=…): give a datetime, a date or ISO 8601 text such as 2026-02-01T00:00:00Z, not int"),
    ],
)
def test_open_refuses_what_is_not_a_time_with_one_line(tmp_path, value, problem):
    with pytest.raises(UsageError) as exc:
        slactl.open(write(tmp_path, SAMPLE.format(zone="UTC")), now=value)
    assert str(exc.value).startswith(problem) and "\n" not in str(exc.value)


@pytest.mark.parametrize("ahead", [timedelta(days=1), timedelta(minutes=5)])
def test_open_refuses_a_now_ahead_of_the_clock(tmp_path, ahead):
    path = write(tmp_path, SAMPLE.format(zone="UTC"))
    for value in (datetime.now(UTC) + ahead, stamp(datetime.now(UTC) + ahead)):
        with pytest.raises(UsageError, match=r"is ahead of the system clock \(.*\): minutes that have not happened"):
            slactl.open(path, now=value)
    with pytest.raises(UsageError, match="ahead of the system clock"):
        slactl.open(path, now=(datetime.now(UTC) + timedelta(days=2)).date().isoformat())


# --------------------------------------------------------------------------- the ingest itself


class ArrivingData:
    """A probe source whose samples exist only for minutes before ``until`` (the data's present)."""

    def __init__(self, until: int) -> None:
        self.until = until

    def factory(self, *_args: object) -> ArrivingData:
        return self

    def fetch(self, requests: list[base.FetchRequest]) -> list[dict]:
        out = []
        for r in requests:
            ms = MinuteSeries.empty("probe", r.start, r.end - r.start)
            ms.has_data = np.arange(r.start, r.end) < self.until
            ms.probe_sum = ms.has_data.astype(np.float64)
            ms.probe_count = ms.has_data.astype(np.float64)
            out.append({(): ms})
        return out

    def close(self) -> None:
        pass


def test_a_pull_stops_at_the_clock_so_data_that_arrives_later_is_counted(tmp_path, monkeypatch):
    """The issue's case: a day ahead froze 1,440 minutes as no data, and the late window never looked again."""
    cfg = load(write(tmp_path, SAMPLE.format(zone="UTC")))
    real = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)
    source = ArrivingData(until=minute_of(real))
    monkeypatch.setitem(base._REGISTRY, "sample", source.factory)
    monkeypatch.setattr(clock, "wall_clock", lambda: real)
    start = minute_of(datetime(2026, 1, 10, tzinfo=UTC))
    end = start + 3 * 1440
    store = Store(cfg.store_url)
    try:
        pulled = ingest(cfg, store, start, end, real + timedelta(days=1))  # a caller a day ahead
        settled = last_settled_minute(real)
        assert pulled == {"web": settled - start}
        assert store.missing("web", fingerprint(cfg, "web"), start, end) == [(settled, end)]

        later = real + timedelta(days=1, hours=1)  # the data has arrived; the real clock moved on
        source.until = minute_of(later)
        monkeypatch.setattr(clock, "wall_clock", lambda: later)
        ingest(cfg, store, start, end, later)
        [ms] = store.load("web", start, end).values()
    finally:
        store.close()
    now_settled = last_settled_minute(later)
    assert int(ms.has_data[: now_settled - start].sum()) == now_settled - start  # no minute frozen as no data
    assert not ms.has_data[now_settled - start :].any()
