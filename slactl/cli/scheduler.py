"""``slactl scheduler run``: the long-running process (or, with ``--once``, one pass for cron).

The process is the CLI's business: logging, signals and exit codes live here;
the schedule itself (APScheduler, jobs, metrics) is :mod:`slactl.scheduler.service`.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time
from typing import TYPE_CHECKING, Annotated

import typer

from slactl import runtime
from slactl.cli.app import ConfigOpt, cli_state, now_utc, sub_app
from slactl.errors import SlactlError
from slactl.redact import RedactingFormatter

if TYPE_CHECKING:
    from slactl.scheduler.service import Scheduler

scheduler_app = sub_app("scheduler", "Run ingest, the status page and the monthly close on the config's schedule.")

log = logging.getLogger("slactl.scheduler")
# Libraries' own loggers: their routine notes (PDF CSS hints, each HTTP request) are not ours to show.
_QUIET = {"apscheduler": logging.WARNING, "httpx": logging.WARNING, "httpcore": logging.WARNING,
          "botocore": logging.WARNING, "boto3": logging.WARNING, "urllib3": logging.WARNING,
          "weasyprint": logging.ERROR, "fontTools": logging.ERROR}  # fmt: skip


def _logging(debug: bool) -> None:
    """One line per event on stderr with a UTC timestamp, credentials masked; the libraries' chatter kept out."""
    handler = logging.StreamHandler(sys.stderr)
    fmt = RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%Y-%m-%dT%H:%M:%SZ")
    fmt.converter = time.gmtime
    handler.setFormatter(fmt)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if debug else logging.INFO)
    for name, level in _QUIET.items():
        logging.getLogger(name).setLevel(level)


def run_until_signal(sched: Scheduler, stop_timeout: float, stop: threading.Event | None = None) -> bool:
    """Start, wait for SIGTERM/SIGINT (or ``stop``), stop; True when no job was left running."""
    stop = stop or threading.Event()
    received: list[str] = []

    def on_signal(signum: int, _frame: object) -> None:
        received.append(signal.Signals(signum).name)
        stop.set()

    main = threading.current_thread() is threading.main_thread()  # only it may set handlers
    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)} if main else {}
    try:
        sched.start()
        while not stop.wait(0.5):
            continue
        why = received[0] if received else "stop requested"
        log.info("%s: stopping (waiting up to %ss for a running job)", why, stop_timeout)
        clean = sched.stop(stop_timeout)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if clean:
        log.info("scheduler stopped cleanly")
    return clean


@scheduler_app.command("run")
def run(
    ctx: typer.Context,
    once: Annotated[
        bool,
        typer.Option("--once", help="Run ingest, status page and monthly close once, now, in order; then exit."),
    ] = False,
    stop_timeout: Annotated[
        float,
        typer.Option("--stop-timeout", min=0, metavar="SECONDS", help="Seconds a running job may take to finish after SIGTERM."),
    ] = 30.0,
    config: ConfigOpt = None,
) -> None:
    """Run the schedule until SIGTERM or SIGINT (exit 0 after a clean stop)."""
    from slactl.scheduler.service import JOBS, Scheduler

    state = cli_state(ctx)
    cfg = state.config(config)
    now_utc()  # a SLACTL_NOW ahead of the clock is refused once, before any job runs
    sched = Scheduler(cfg, clock=now_utc)
    _logging(state.debug)
    if once:
        failed = sched.run_once()
        if failed:  # each failure is already on its own line above
            err = SlactlError(f"{len(failed)} of {len(JOBS)} jobs failed: {', '.join(failed)} (see above)")
            err.exit_code = max(sched.exit_codes.get(job, 1) for job in failed)  # 2 if the config is at fault
            raise err
        return
    if not run_until_signal(sched, stop_timeout):
        # A job outlived --stop-timeout: its worker thread would be joined at interpreter exit
        # however long it takes, so leave now as asked (store writes are transactional).
        runtime.abandon(1)
