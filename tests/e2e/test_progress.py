"""Ingest progress: what the pipeline reports, and the bar drawn only on a terminal."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from slactl.app.demo import demo_config
from slactl.app.ingest import reporting
from slactl.app.report import report_document
from slactl.app.summary import credits_summary, report_summary
from slactl.cli.progress import TerminalProgress, watching
from slactl.config import load
from slactl.store.sql import Store

NOW = datetime(2026, 3, 1, tzinfo=UTC)


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple] = []

    def begin(self, minutes: int) -> None:
        self.events.append(("begin", minutes))

    def advance(self, service: str, minutes: int) -> None:
        self.events.append(("advance", service, minutes))

    def end(self) -> None:
        self.events.append(("end",))


def _config(tmp_path):
    path = tmp_path / "slactl.yaml"
    path.write_text(demo_config("2026-01", 7))
    return load(path)


def test_ingest_reports_every_service_once_and_the_total(tmp_path):
    cfg = _config(tmp_path)
    store = Store(cfg.store_url)
    seen = Recorder()
    try:
        with reporting(seen):
            _, _, pulled = report_document(cfg, store, "2026-01", NOW)
        assert seen.events[0] == ("begin", sum(pulled.values()))
        assert seen.events[-1] == ("end",)
        advanced = [e for e in seen.events if e[0] == "advance"]
        assert {e[1]: e[2] for e in advanced} == pulled
        assert sorted(pulled) == sorted(cfg.services) and all(v == 31 * 1440 for v in pulled.values())
        # A second run finds everything in the store: nothing to pull, nothing reported beyond the frame.
        seen.events.clear()
        with reporting(seen):
            report_document(cfg, store, "2026-01", NOW)
        assert seen.events == [("begin", 0), ("end",)]
    finally:
        store.close()


def test_no_progress_outside_reporting_and_same_figures(tmp_path):
    cfg = _config(tmp_path)
    quiet, watched = Store(f"sqlite:///{tmp_path / 'a.db'}"), Store(f"sqlite:///{tmp_path / 'b.db'}")
    try:
        a, _, _ = report_document(cfg, quiet, "2026-01", NOW)
        with reporting(Recorder()):
            b, _, _ = report_document(cfg, watched, "2026-01", NOW)
        assert a == b  # one service at a time or all at once: the same month
    finally:
        quiet.close()
        watched.close()


def test_terminal_bar_draws_and_pipes_stay_quiet():
    screen = io.StringIO()
    bar = TerminalProgress(screen, force=True)
    bar.begin(2880)
    bar.advance("api", 1440)
    bar.advance("web", 1440)
    bar.end()
    assert "pulling" in screen.getvalue()
    assert not watching(io.StringIO())  # a pipe or a file: no bar at all


def test_summaries_count_in_proper_english():
    report = {
        "month": "2026-01",
        "services": {
            "api": {"tiers": {"standard": {"met": True}, "gold": {"met": False}}, "incident_count": 1},
        },
    }
    assert report_summary(report, {"api": 1}) == "2026-01: 1 service, tiers met 1 of 2, 1 incident, 1 minute pulled"
    running = dict(report, complete=False, as_of="2026-01-10T12:00:00Z")
    assert report_summary(running, {}).endswith("0 minutes pulled (month running, as of 2026-01-10T12:00:00Z)")
    doc = {"month": "2026-01", "customers": {
        "acme": {"credit_amount": "1200.00", "currency": "USD"},
        "globex": {"credit_amount": "0.00", "currency": "EUR"},
    }}  # fmt: skip
    assert credits_summary(doc, {"api": 44640}) == (
        "2026-01: 2 customers, 1 owed a credit (1,200.00 USD), 44,640 minutes pulled"
    )


def test_a_terminal_sees_the_bar_and_a_pipe_does_not(tmp_path):
    import os
    import pty
    import subprocess
    import sys

    cfg = tmp_path / "slactl.yaml"
    cfg.write_text(demo_config("2026-01", 3))
    args = [sys.executable, "-m", "slactl", "--config", str(cfg), "report", "--month", "2026-01"]
    env = dict(os.environ, TERM="xterm", COLUMNS="100", SLACTL_NOW="2026-03-01T00:00:00Z")
    master, slave = pty.openpty()
    try:
        done = subprocess.run([*args, "--out", str(tmp_path / "tty")], stdout=subprocess.PIPE, stderr=slave,
                              env=env, timeout=300, check=False)  # fmt: skip
        os.close(slave)
        drawn = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the terminal closed: everything is read
                break
            if not chunk:
                break
            drawn += chunk
    finally:
        os.close(master)
    assert done.returncode == 0
    assert b"pulling" in drawn
    assert done.stdout.decode().splitlines()[-1].startswith("2026-01: 4 services, ")
    # The same cold pull into a pipe: not a byte on stderr.
    (tmp_path / "cold").mkdir()
    (tmp_path / "cold" / "slactl.yaml").write_text(demo_config("2026-01", 3))
    args[args.index(str(cfg))] = str(tmp_path / "cold" / "slactl.yaml")
    piped = subprocess.run([*args, "--out", str(tmp_path / "pipe")], capture_output=True, env=env, timeout=300,
                           check=False)  # fmt: skip
    assert piped.returncode == 0 and piped.stderr == b""
    assert piped.stdout.decode().splitlines()[-1].endswith(" 178,560 minutes pulled")
