"""The process-wide settings of slactl.runtime each take effect, and say so when they cannot.

Parallel figures: half computed by a forked worker is the same as all computed
here, in order, errors included; every fall-back to one core is logged.  Read
size: a live httpx connection reads 1 MiB at a time once the runtime is set up
(and not merely because the Prometheus client was imported).  Collector
freeze: done once a command has loaded its config.  Fast exit: a profiler
still writes its profile.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import pstats
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpcore
import httpx
import numpy as np
import pytest
from kits.paths import ROOT

from slactl import runtime
from slactl.app.measure import measure_month
from slactl.config import load
from slactl.errors import ConfigError, DataError
from slactl.model import MinuteSeries
from slactl.sli.period import month_period
from slactl.store.sql import Store

NAMES = [f"s{i:03d}" for i in range(300)]
PARENT = os.getpid()

forks = pytest.mark.skipif(not runtime.can_share(len(NAMES)), reason="no fork here (threads or one core)")


def _python(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


# ---------------------------------------------------------------- parallel figures


@forks
def test_the_second_half_runs_in_a_child_and_comes_back_in_order() -> None:
    got = runtime.map_halves(lambda n: (n, os.getpid()), NAMES)
    assert [n for n, _ in got] == NAMES
    assert {pid for _, pid in got[:150]} == {PARENT}
    assert len({pid for _, pid in got[150:]}) == 1 and got[150][1] != PARENT
    # Nothing outlives the call: the next fork is as safe as this one was.
    assert threading.active_count() == 1 and multiprocessing.active_children() == []


_dropped: list[int] = []


@forks
def test_in_child_runs_in_the_child_before_the_work() -> None:
    got = runtime.map_halves(lambda n: bool(_dropped), NAMES, in_child=lambda: _dropped.append(os.getpid()))
    assert got == [False] * 150 + [True] * 150
    assert _dropped == []  # the parent's list is untouched


@forks
def test_a_slactl_error_in_the_child_is_raised_here() -> None:
    def fn(name: str) -> str:
        if name == "s250":
            raise DataError(f"no minutes for {name} (pid {os.getpid() != PARENT})")
        return name

    with pytest.raises(DataError, match=r"^no minutes for s250 \(pid True\)$"):
        runtime.map_halves(fn, NAMES)

    def bad_config(name: str) -> str:
        if name == "s250":
            raise ConfigError("no such tier", path="slactl.yaml", key="services.s250.tier")
        return name

    with pytest.raises(ConfigError, match=r"^slactl.yaml: services.s250.tier: no such tier$") as caught:
        runtime.map_halves(bad_config, NAMES)
    assert caught.value.exit_code == 2 and caught.value.key == "services.s250.tier"


@forks
def test_a_child_that_dies_has_its_half_computed_here_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    def fn(name: str) -> tuple[str, int]:
        if os.getpid() != PARENT:
            os._exit(3)
        return name, os.getpid()

    with caplog.at_level(logging.INFO, logger="slactl"):
        got = runtime.map_halves(fn, NAMES)
    assert got == [(n, PARENT) for n in NAMES]
    [line] = [r for r in caplog.records if r.name == "slactl"]
    assert line.levelno == logging.WARNING and "computing its share here" in line.getMessage()


def test_each_fall_back_to_one_core_is_logged(caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    def said() -> list[str]:
        lines = [r.getMessage() for r in caplog.records if r.name == "slactl"]
        caplog.clear()
        return lines

    with caplog.at_level(logging.INFO, logger="slactl"):
        assert runtime.map_halves(str.upper, ["a", "b"]) == ["A", "B"]
        assert said() == []  # a small list is no fall-back: nothing to say
        monkeypatch.setenv("SLACTL_PARALLEL", "0")
        assert runtime.map_halves(str.upper, NAMES) == [n.upper() for n in NAMES]
        assert said() == ["computing on one core: SLACTL_PARALLEL=0"]
        monkeypatch.delenv("SLACTL_PARALLEL")
        stop = threading.Event()
        other = threading.Thread(target=stop.wait)
        other.start()
        try:
            assert runtime.beside(lambda: 1, lambda: 2, items=len(NAMES)) == (1, 2)
        finally:
            stop.set()
            other.join()
        [line] = said()
        assert line.startswith("computing on one core:") and "other thread(s) running" in line
        monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {0})
        runtime.beside(lambda: 1, lambda: 2, items=len(NAMES))
        assert said() == ["computing on one core: one CPU available"]


CONFIG = """
timezone: Asia/Kolkata
store: sqlite:///{db}
sources: {{gen: {{type: sample}}}}
tiers: {{standard: {{uptime_target: 99.9}}}}
services:
{services}
"""


def _config(tmp_path: Path, names: list[str]) -> Path:
    services = "\n".join(f"  {n}: {{source: gen, availability: {{probe: 'probe_success{{job=\"{n}\"}}'}}}}" for n in names)
    path = tmp_path / "slactl.yaml"
    path.write_text(CONFIG.format(db=tmp_path / "f.db", services=services))
    return path


@forks
def test_a_forked_month_report_equals_the_sequential_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    names = [f"svc{i:02d}" for i in range(12)]
    cfg = load(_config(tmp_path, names))
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
        monkeypatch.setattr(runtime, "MIN_ITEMS", 10**9)
        alone, alone_minutes = measure_month(cfg, store, period)
        monkeypatch.setattr(runtime, "MIN_ITEMS", 2)
        assert runtime.can_share(len(names))
        forked, forked_minutes = measure_month(cfg, store, period)
        assert forked == alone
        for name in names:
            assert np.array_equal(forked_minutes[name].states, alone_minutes[name].states)
            assert np.array_equal(forked_minutes[name].excluded, alone_minutes[name].excluded)
            back = forked_minutes[name].groups[()]  # the child's half still reads back from the store here
            assert np.array_equal(back.probe_sum, alone_minutes[name].groups[()].probe_sum)
    finally:
        store.close()


# ---------------------------------------------------------------- read size


def test_the_read_size_is_set_by_the_runtime_not_by_importing_the_client() -> None:
    code = (
        "import httpcore, slactl.sources.prometheus.client\n"
        "before = httpcore.AsyncHTTP11Connection.READ_NUM_BYTES\n"
        "from slactl import runtime; runtime.setup(freeze=False)\n"
        "print(before, httpcore.AsyncHTTP11Connection.READ_NUM_BYTES)\n"
    )
    done = _python("-c", code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [str(64 * 1024), str(1 << 20)]


def test_a_renamed_read_size_is_said_not_ignored(caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    assert isinstance(httpcore.AsyncHTTP11Connection.READ_NUM_BYTES, int)  # the installed httpcore has the knob
    monkeypatch.delattr(httpcore.AsyncHTTP11Connection, "READ_NUM_BYTES")
    with caplog.at_level(logging.WARNING, logger="slactl"):
        assert runtime.read_size() is False
    [line] = [r.getMessage() for r in caplog.records if r.name == "slactl"]
    assert "READ_NUM_BYTES" in line and "default size" in line


BODY = bytes(range(256)) * (4 * 4096)  # 4 MiB


class _Big(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802  (the stdlib's name)
        self.send_response(200)
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, *args: object) -> None:
        pass


def test_a_live_connection_reads_a_megabyte_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(httpcore.AsyncHTTP11Connection, "READ_NUM_BYTES", 64 * 1024)  # httpcore's default
    monkeypatch.setattr(runtime, "_applied", set())
    runtime.setup(freeze=False)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Big)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    async def fetch() -> tuple[list[int], list[int]]:
        async with httpx.AsyncClient() as client:
            async with client.stream("GET", f"http://127.0.0.1:{server.server_port}/") as resp:
                sizes = [conn._connection.READ_NUM_BYTES for conn in client._transport._pool.connections]
                time.sleep(0.3)  # let the socket fill: a read then takes what it holds, up to the read size
                chunks = [len(c) async for c in resp.aiter_raw()]
        return chunks, sizes

    try:
        chunks, sizes = asyncio.run(fetch())
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    assert sum(chunks) == len(BODY)
    assert sizes == [1 << 20]  # the connection httpcore actually made
    assert max(chunks) > 64 * 1024, chunks[:20]


# ---------------------------------------------------------------- freeze and exit


def test_a_command_freezes_the_collector_once_its_config_is_loaded(tmp_path: Path) -> None:
    cfg = _config(tmp_path, ["api"])
    code = (
        "import gc, sys\n"
        "from slactl.cli.main import main\n"
        "assert main(['--version']) == 0 and gc.get_freeze_count() == 0 and 'httpcore' not in sys.modules\n"
        f"assert main(['--config', {str(cfg)!r}, 'validate']) == 0\n"
        "print(gc.get_freeze_count())\n"
    )
    done = _python("-c", code)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout.split()[-1]) > 10_000


def test_a_profiler_still_writes_its_profile(tmp_path: Path) -> None:
    cfg = _config(tmp_path, ["api"])
    prof = tmp_path / "p.prof"
    done = _python("-m", "cProfile", "-o", str(prof), "-m", "slactl", "--config", str(cfg), "validate", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    stats = pstats.Stats(str(prof))
    assert any("slactl" in path and func == "main" for path, _, func in stats.stats)  # type: ignore[attr-defined]


def test_nothing_watching_means_the_fast_exit(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from slactl import runtime\n"
        "print(runtime._watched())\n"
        "sys.setprofile(lambda *a: None)\n"
        "print(runtime._watched())\n"
        "sys.setprofile(None)\n"
        "import atexit; atexit.register(print, 'exit handlers ran')\n"
        "runtime.leave(3)\n"
    )
    done = _python("-c", code)
    assert done.returncode == 3 and done.stdout.splitlines() == ["None", "a profiler", "exit handlers ran"], done


def test_abandon_leaves_at_once_with_a_thread_still_running() -> None:
    """The scheduler's way out when a job outlives --stop-timeout: a normal exit would wait for it."""
    code = (
        "import threading, time\n"
        "from slactl import runtime\n"
        "threading.Thread(target=time.sleep, args=(600,)).start()\n"
        "print('stopping')\n"
        "runtime.abandon(1)\n"
    )
    started = time.monotonic()
    done = _python("-c", code)
    assert done.returncode == 1 and done.stdout == "stopping\n" and time.monotonic() - started < 60
