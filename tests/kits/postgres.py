"""A throwaway PostgreSQL cluster for the tests: ``initdb`` in a temp folder, loopback, free port.

PostgreSQL refuses to run as root, and CI runs the tests as root: the cluster
then runs as ``nobody`` (its folder handed over to that user).  Each test that
wants a clean database asks :meth:`PgCluster.new_database` for one.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

PG_BIN = Path(os.environ.get("SLACTL_PG_BIN", "/usr/lib/postgresql/15/bin"))


def missing_postgres() -> str | None:
    if not (PG_BIN / "initdb").is_file() or not (PG_BIN / "postgres").is_file():
        return f"PostgreSQL server binaries not found in {PG_BIN} (install Debian's postgresql package)"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PgCluster:
    """One ``postgres`` process on 127.0.0.1 with trust auth for the ``postgres`` user."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="slactl-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self.proc: subprocess.Popen | None = None
        self._n = 0
        as_root = os.geteuid() == 0
        self._user = {"user": "nobody", "group": "nogroup", "extra_groups": []} if as_root else {}
        if as_root:
            shutil.chown(self.root, "nobody", "nogroup")

    def _run(self, *args: str) -> None:
        subprocess.run(args, check=True, capture_output=True, timeout=120, cwd=self.root, **self._user)

    def start(self) -> None:
        self._run(str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust",
                  "--encoding=UTF8", "--locale=C", "--no-sync")  # fmt: skip
        log = (self.root / "postgres.log").open("wb")
        self.proc = subprocess.Popen(
            [str(PG_BIN / "postgres"), "-D", str(self.data), "-p", str(self.port), "-c", "listen_addresses=127.0.0.1",
             "-c", "unix_socket_directories=", "-c", "fsync=off", "-c", "max_connections=60"],
            stdout=log, stderr=subprocess.STDOUT, cwd=self.root, **self._user,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"postgres exited: {(self.root / 'postgres.log').read_text()}")
            try:
                import psycopg

                psycopg.connect(self.dsn("postgres"), connect_timeout=2).close()
                return
            except Exception:  # noqa: BLE001 (not accepting connections yet)
                time.sleep(0.2)
        raise RuntimeError("postgres did not accept connections within 60s")

    def dsn(self, db: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{db}"

    def url(self, db: str) -> str:
        """The SQLAlchemy URL slactl's ``store:`` takes."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{db}"

    def new_database(self, prefix: str = "t") -> str:
        """A fresh empty database; returns its SQLAlchemy URL."""
        import psycopg

        self._n += 1
        name = f"{prefix}_{os.getpid()}_{self._n}"
        with psycopg.connect(self.dsn("postgres"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # "fast" shutdown: clients are disconnected
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        shutil.rmtree(self.root, ignore_errors=True)
