"""Figures computed half in a forked child are the figures computed here, in order, errors included."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from slactl.app import fanout
from slactl.app.measure import month_report
from slactl.config import load
from slactl.errors import DataError
from slactl.model import MinuteSeries
from slactl.sli.period import month_period
from slactl.store.sql import Store

NAMES = [f"s{i:03d}" for i in range(300)]
PARENT = os.getpid()

pytestmark = pytest.mark.skipif(not fanout.can_fork(len(NAMES)), reason="no fork here (threads or one core)")


def test_the_second_half_runs_in_a_child_and_comes_back_in_order() -> None:
    got = fanout.map_halves(lambda n: (n, os.getpid()), NAMES)
    assert [n for n, _ in got] == NAMES
    assert {pid for _, pid in got[:150]} == {PARENT}
    assert len({pid for _, pid in got[150:]}) == 1 and got[150][1] != PARENT


def test_a_slactl_error_in_the_child_is_raised_here() -> None:
    def fn(name: str) -> str:
        if name == "s250":
            raise DataError(f"no minutes for {name} (pid {os.getpid() != PARENT})")
        return name

    with pytest.raises(DataError, match=r"no minutes for s250 \(pid True\)"):
        fanout.map_halves(fn, NAMES)


def test_a_child_that_dies_has_its_half_computed_here() -> None:
    def fn(name: str) -> tuple[str, int]:
        if os.getpid() != PARENT:
            os._exit(3)
        return name, os.getpid()

    got = fanout.map_halves(fn, NAMES)
    assert got == [(n, PARENT) for n in NAMES]


CONFIG = """
timezone: Asia/Kolkata
store: sqlite:///{db}
sources: {{gen: {{type: sample}}}}
tiers: {{standard: {{uptime_target: 99.9}}}}
services:
{services}
"""


def test_a_forked_month_report_equals_the_sequential_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    names = [f"svc{i:02d}" for i in range(12)]
    services = "\n".join(f"  {n}: {{source: gen, availability: {{probe: 'probe_success{{job=\"{n}\"}}'}}}}" for n in names)
    (tmp_path / "slactl.yaml").write_text(CONFIG.format(db=tmp_path / "f.db", services=services))
    cfg = load(tmp_path / "slactl.yaml")
    period = month_period("2026-01", cfg.timezone)
    n = period.end - period.start
    rng = np.random.default_rng(11)
    store = Store(cfg.store)
    try:
        for name in names:
            has = rng.random(n) > 0.002
            count = np.where(has, 2.0, 0.0)
            ms = MinuteSeries("probe", period.start, has, probe_sum=count - (rng.random(n) < 0.003), probe_count=count)
            store.save(name, "fp", "probe", period.start, period.end, {(): ms})
        monkeypatch.setattr(fanout, "MIN_ITEMS", 10**9)
        alone, alone_minutes = month_report(cfg, store, period)
        monkeypatch.setattr(fanout, "MIN_ITEMS", 2)
        assert fanout.can_fork(len(names))
        forked, forked_minutes = month_report(cfg, store, period)
        assert forked == alone
        for name in names:
            assert np.array_equal(forked_minutes[name].states, alone_minutes[name].states)
            assert np.array_equal(forked_minutes[name].excluded, alone_minutes[name].excluded)
            back = forked_minutes[name].groups[()]  # the child's half still reads back from the store here
            assert np.array_equal(back.probe_sum, alone_minutes[name].groups[()].probe_sum)
    finally:
        store.close()
