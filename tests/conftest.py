"""Shared fixtures, and the kinds of test: the folder a test lives in says what it starts.

``unit/`` is pure and in-process (no external program, no server, no browser), so it
runs alone in seconds; ``prometheus/``, ``postgres/``, ``browser/`` and ``aws/`` start
that real component; ``e2e/`` runs the whole product as a user does (slactl processes,
a fresh checkout).  Every test is marked with its folder's kind, so ``pytest -m unit``
is ``pytest tests/unit``, and also with the kind of each component fixture it uses.
Helpers are in ``kits/`` (``from kits.prometheus import ...``); data files in ``data/``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))  # make `from kits.prometheus import ...` work in any import mode

from kits.prometheus import (  # noqa: E402
    OpenMetrics,
    PrometheusServer,
    backfill,
    free_loopback_port,
    missing_binaries,
)

# The folders under tests/, each a kind and a mark (registered in pyproject.toml).
KINDS = ("unit", "prometheus", "postgres", "browser", "aws", "e2e")
# The fixtures that start a real component, and the kind each one adds to a test using it.
STARTS = {
    "prometheus_binaries": "prometheus",
    "make_prometheus": "prometheus",
    "postgres": "postgres",
    "moto_url": "aws",
}


@pytest.hookimpl(tryfirst=True)  # before `-m` selects on the marks
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark each test with its folder's kind; refuse a test outside the kinds or a unit test that starts something."""
    for item in items:
        try:
            kind = item.path.relative_to(TESTS).parts[0]
        except ValueError:
            kind = ""
        if kind not in KINDS:
            raise pytest.UsageError(
                f"{item.nodeid}: every test lives in one of tests/{{{','.join(KINDS)}}}/, by what it starts"
            )
        item.add_marker(kind)
        for name in getattr(item, "fixturenames", ()):
            starts = STARTS.get(name)
            if starts is None:
                continue
            if kind == "unit":
                raise pytest.UsageError(
                    f"{item.nodeid}: a unit test uses `{name}`, which starts {starts}: move it to tests/{starts}/"
                )
            item.add_marker(starts)


@pytest.fixture(scope="session")
def prometheus_binaries() -> None:
    """Skip when prometheus/promtool are missing, but fail under CI (``make test`` installs them)."""
    missing = missing_binaries()
    if missing:
        reason = f"{', '.join(missing)} not on PATH (run `make prometheus`)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)


@pytest.fixture(scope="session")
def make_prometheus(tmp_path_factory, prometheus_binaries):
    """Factory: ``make_prometheus(om, *, extra_config="", rule_files=()) -> url``.

    Writes ``om`` (an ``OpenMetrics``, or None for an empty TSDB), backfills it
    into a fresh TSDB and starts a real ``prometheus`` on 127.0.0.1 over it;
    returns its base URL (``http://127.0.0.1:PORT``). Every server is stopped
    at the end of the session. Skips if promtool/prometheus are not on PATH
    (``make prometheus`` installs them), but fails instead when ``CI`` is set.
    """
    servers: list[PrometheusServer] = []

    def make(om: OpenMetrics | None, *, extra_config: str = "", rule_files=()) -> str:
        workdir = tmp_path_factory.mktemp("prometheus")
        tsdb = workdir / "tsdb"
        if om is not None and om.series_count:
            backfill(om.write(workdir / "data.om"), tsdb)
        server = PrometheusServer(
            tsdb, workdir=workdir, extra_config=extra_config, rule_files=rule_files
        )
        server.start()
        servers.append(server)
        return server.url

    yield make
    for server in reversed(servers):
        server.stop()


@pytest.fixture(scope="session")
def postgres():
    """A PostgreSQL cluster for the session (``kits.postgres.PgCluster``); skips without the binaries, fails under CI."""
    from kits.postgres import PgCluster, missing_postgres

    reason = missing_postgres()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    cluster = PgCluster()
    cluster.start()
    yield cluster
    cluster.stop()


@pytest.fixture
def moto_url() -> Iterator[str]:
    """A ``moto_server`` process (S3 and the rest of AWS) on a free loopback port; its base URL."""
    exe = Path(sys.executable).with_name("moto_server")
    if not exe.exists():
        pytest.skip("moto_server is not installed (pip install -e '.[test]')")
    port = free_loopback_port()
    proc = subprocess.Popen([str(exe), "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("moto_server did not start")
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
