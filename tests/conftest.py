"""Shared fixtures. ``promkit`` (next to this file) holds the real-Prometheus helpers."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

_TESTS = str(Path(__file__).resolve().parent)
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)  # make `from promkit import ...` work in any import mode

from promkit import OpenMetrics, PrometheusServer, backfill, missing_binaries  # noqa: E402


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
    """A PostgreSQL cluster for the session (``pgkit.PgCluster``); skips without the binaries, fails under CI."""
    from pgkit import PgCluster, missing_postgres

    reason = missing_postgres()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    cluster = PgCluster()
    cluster.start()
    yield cluster
    cluster.stop()
