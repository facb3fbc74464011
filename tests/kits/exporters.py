"""Real exporters and a real PostgreSQL on loopback, for tests of the threshold pack.

``Process`` runs one binary with its output in a log file and waits (bounded) until
it answers; ``Postgres`` runs ``initdb`` and ``postgres`` in a temp folder as an
unprivileged user when the tests run as root (PostgreSQL refuses to run as root),
on 127.0.0.1 and a free port, with ``pg_stat_statements`` preloaded.  Every wait
is bounded in time; every process is stopped on exit, also after a crash.
"""

from __future__ import annotations

import atexit
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path

from kits.prometheus import free_loopback_port

PG_BIN = Path("/usr/lib/postgresql/15/bin")
NODE_EXPORTER = "prometheus-node-exporter"
BLACKBOX_EXPORTER = "prometheus-blackbox-exporter"
POSTGRES_EXPORTER = "prometheus-postgres-exporter"
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def missing() -> list[str]:
    """The binaries these tests need that are not installed."""
    need = [NODE_EXPORTER, BLACKBOX_EXPORTER, POSTGRES_EXPORTER]
    out = [b for b in need if shutil.which(b) is None]
    return out + [str(PG_BIN / b) for b in ("initdb", "postgres") if not (PG_BIN / b).exists()]


def version(binary: str) -> str:
    """First line of ``binary --version`` (exporters print it on stderr)."""
    proc = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=10)
    return (proc.stdout + proc.stderr).strip().splitlines()[0]


def wait_until(check: Callable[[], bool], seconds: float, what: str, step: float = 0.2) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(step)
    raise TimeoutError(f"{what}: not within {seconds:.0f}s")


def http_ok(url: str) -> bool:
    try:
        with _OPENER.open(url, timeout=2) as resp:
            return resp.status == 200
    except (urllib.error.URLError, OSError):
        return False


def run_as() -> str | None:
    """The unprivileged user to run PostgreSQL as when we are root, else None."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    raise RuntimeError("running as root and neither a postgres nor a nobody user exists")


class Process:
    """One long-running binary; ``start()`` returns once ``ready_url`` answers 200."""

    def __init__(
        self,
        cmd: Sequence[str],
        log: Path,
        *,
        ready_url: str | None = None,
        env: dict[str, str] | None = None,
        user: str | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.cmd, self.log, self.ready_url = list(cmd), log, ready_url
        self.env, self.user, self.timeout = env, user, timeout
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Process:
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                self.cmd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, **(self.env or {})},
                user=self.user,
                cwd=self.log.parent,
            )
        atexit.register(self.stop)
        if self.ready_url:
            url = self.ready_url

            def ready() -> bool:
                if self.proc is not None and self.proc.poll() is not None:
                    raise RuntimeError(f"{self.cmd[0]} exited: {self.tail()}")
                return http_ok(url)

            wait_until(ready, self.timeout, f"{self.cmd[0]} at {url}: {self.tail()}")
        return self

    def tail(self) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-20:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        atexit.unregister(self.stop)
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


def exporter(
    binary: str, workdir: Path, *args: str, env: dict[str, str] | None = None
) -> tuple[Process, str]:
    """Start an exporter on a free loopback port; return it and its ``host:port``."""
    port = free_loopback_port()
    address = f"127.0.0.1:{port}"
    proc = Process(
        [binary, f"--web.listen-address={address}", *args],
        workdir / f"{Path(binary).name}.log",
        ready_url=f"http://{address}/metrics",
        env=env,
    )
    return proc.start(), address


class Postgres:
    """A throw-away PostgreSQL 15 cluster on 127.0.0.1 (trust auth, user ``postgres``)."""

    def __init__(self) -> None:
        self.user = run_as()
        self.dir = Path(tempfile.mkdtemp(prefix="slactl-pg-"))
        self.port = free_loopback_port()
        self.server: Process | None = None

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres?sslmode=disable"

    def start(self) -> Postgres:
        if self.user:
            shutil.chown(self.dir, self.user)
        data = self.dir / "data"
        subprocess.run(
            [str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
             "-E", "UTF8", "--no-locale"],
            check=True, capture_output=True, timeout=120, user=self.user, cwd=self.dir,
        )  # fmt: skip
        self.server = Process(
            [str(PG_BIN / "postgres"), "-D", str(data), "-p", str(self.port),
             "-c", "listen_addresses=127.0.0.1", "-c", f"unix_socket_directories={self.dir}",
             "-c", "shared_preload_libraries=pg_stat_statements", "-c", "fsync=off"],
            self.dir / "postgres.log",
            user=self.user,
        )  # fmt: skip
        self.server.start()
        wait_until(self._accepts, 60, f"postgres on port {self.port}")
        return self

    def _accepts(self) -> bool:
        import psycopg

        if self.server is None or self.server.proc is None or self.server.proc.poll() is not None:
            raise RuntimeError(f"postgres exited: {self.server.tail() if self.server else ''}")
        try:
            with psycopg.connect(self.dsn, connect_timeout=2):
                return True
        except psycopg.OperationalError:
            return False

    def execute(self, sql: str, database: str = "postgres") -> None:
        import psycopg

        with psycopg.connect(
            self.dsn.replace("/postgres?", f"/{database}?"), autocommit=True
        ) as conn:
            conn.execute(sql)

    def stop(self) -> None:
        """Immediate shutdown (SIGQUIT): the postmaster takes every backend down with it.

        SIGTERM's smart shutdown waits for the exporter's open session, and a killed
        postmaster leaves its backends serving that session, so pg_up would stay 1.
        """
        if self.server is not None:
            proc = self.server.proc
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGQUIT)
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    pass
            self.server.stop()
            self.server = None

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
