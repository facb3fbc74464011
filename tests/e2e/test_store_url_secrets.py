"""A store password never shows when the store cannot be reached: in the one-line error, nor under ``--debug``.

The store URL points at a closed loopback port, so every command fails opening
it and says where.  Two ways of carrying the password that the old mask missed:
libpq's ``?password=`` parameter (the user was masked instead), and a password
with an unescaped ``@`` (SQLAlchemy ends the password at the first ``@`` and
takes the tail for the host, which the driver's own message then names).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from kits.scheduler import SLACTL, env, free_port, write_config

TAIL_SECRET = "p@ss-Zq7Xw9Kj"  # its tail "ss-Zq7Xw9Kj" is what a first-"@" reading shows


def _report(config: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    args = [*SLACTL, *flags, "--config", str(config), "report", "monthly", "--month", "2026-01",
            "--out", str(config.parent / "out")]  # fmt: skip
    return subprocess.run(args, capture_output=True, text=True, timeout=120, env=env())


def _tails(secret: str) -> list[str]:
    return [secret[i:] for i in range(len(secret) - 3)]


def test_a_query_password_is_masked_and_the_user_kept(tmp_path):
    port = free_port()  # nothing listens there
    store = f"postgresql+psycopg://slactl@127.0.0.1:{port}/s1?password=QueryPw-8Ld3"
    done = _report(write_config(tmp_path, store=store))
    assert done.returncode == 1, done.stderr
    assert "QueryPw-8Ld3" not in done.stderr + done.stdout
    line = done.stderr.strip()
    assert len(line.splitlines()) == 1, line
    assert f"postgresql+psycopg://slactl@127.0.0.1:{port}/s1?password=***" in line


def test_debug_output_shows_no_tail_of_a_password_holding_an_at(tmp_path):
    port = free_port()
    store = f"postgresql+psycopg://slactl:{TAIL_SECRET}@127.0.0.1:{port}/s1"
    config = write_config(tmp_path, store=store)
    # An unescaped '@' in the password makes the URL unreadable: a config error naming `store`
    # (exit 2), and no piece of the password in the message or in --debug's traceback.
    for flags in ((), ("--debug",)):
        done = _report(config, *flags)
        assert done.returncode == 2, done.stderr
        out = done.stderr + done.stdout
        assert "store:" in out and "%40" in out, out
        leaked = [tail for tail in _tails(TAIL_SECRET) if tail in out]
        assert not leaked, f"{flags}: {leaked} in\n{out}"
