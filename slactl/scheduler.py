"""``slactl scheduler run``: ingest, status page and monthly close on the config's schedule.

The one module that knows APScheduler.  Jobs run one at a time on a single
worker thread: they share one store, so serialising them means one writer and no
range pulled twice.  A failing job is logged and counted and the schedule goes
on; ``/metrics`` and ``/healthz`` (stdlib ``http.server``, Prometheus text format
by hand) tell the operator how it is going.  SIGTERM/SIGINT stop scheduling,
wait (bounded) for the running job, then close the server and the store
(the CLI owns the signals and the exit code).
"""

from __future__ import annotations

import logging
import re
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta, tzinfo
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from apscheduler.events import EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from slactl.config import Config
from slactl.errors import ConfigError, SlactlError
from slactl.model import minute_of
from slactl.pipeline.credits import run_credits
from slactl.pipeline.ingest import ingest, last_settled_minute
from slactl.pipeline.monthly import report_monthly
from slactl.pipeline.statuspage import build_site, publish_site
from slactl.sli.period import month_period
from slactl.sources.base import Injected
from slactl.store.sql import Store

log = logging.getLogger("slactl.scheduler")

JOBS = ("ingest", "status_page", "monthly_close")
LOOKBACK_MINUTES = 31 * 1440  # ingest always covers at least the last 31 days
CLOSE_GRACE_SECONDS = 3600  # a monthly close up to an hour late still runs
HEALTH_FACTOR = 3  # /healthz fails when the last good ingest is older than 3 intervals
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"(\d+)([smhd])")
_CRON_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DOW_TOKEN = re.compile(r"(\*|\d+)(?:-(\d+))?(?:/(\d+))?")


# --------------------------------------------------------------------------- the schedule block

def parse_duration(text: str, key: str, source_file: str = "") -> int:
    """``30s``, ``5m``, ``1h``, ``1d`` or sums like ``1h30m``, in whole seconds (> 0)."""
    s = text.strip()
    parts = _DURATION.findall(s)
    if not s or "".join(n + u for n, u in parts) != s:
        raise ConfigError(f"{text!r} is not a duration like 30s, 5m, 1h or 1h30m", path=source_file, key=key)
    seconds = sum(int(n) * _UNITS[u] for n, u in parts)
    if seconds <= 0:
        raise ConfigError("must be longer than 0s", path=source_file, key=key)
    return seconds


def _weekdays(field: str) -> str:
    """Cron counts weekdays from Sunday (0 or 7), APScheduler 3 from Monday: spell them as names."""
    out: list[str] = []
    for token in field.split(","):
        m = _DOW_TOKEN.fullmatch(token)
        if m is None or token == "*":
            out.append(token)  # names (mon-fri) mean the same to both
            continue
        first, last, step = m.groups()
        lo = 0 if first == "*" else int(first)
        hi = 6 if first == "*" else int(last) if last else (7 if step else lo)
        if not 0 <= lo <= hi <= 7 or (first == "*" and last) or (step is not None and int(step) < 1):
            raise ValueError(f"bad day-of-week {token!r}")
        out += [_CRON_DAYS[d] for d in range(lo, hi + 1, int(step or 1))]
    return ",".join(dict.fromkeys(out))


def cron_trigger(expr: str, zone: tzinfo, source_file: str = "") -> CronTrigger:
    """A standard 5-field crontab line in ``zone`` (weekday numbers as cron means them)."""
    key = "schedule.monthly_close"
    fields = expr.split()
    try:
        if len(fields) != 5:
            raise ValueError(f"it has {len(fields)} fields, a crontab line has 5")
        fields[4] = _weekdays(fields[4])
        return CronTrigger.from_crontab(" ".join(fields), timezone=zone)
    except ValueError as exc:
        raise ConfigError(f"{expr!r} is not a valid cron expression: {exc}", path=source_file, key=key) from None


def parse_listen(text: str, source_file: str = "") -> tuple[str, int]:
    """``host:port`` (``[::1]:9464`` for IPv6, ``:9464`` for every interface)."""
    host, sep, port = text.strip().rpartition(":")
    if not sep or not port.isdigit() or int(port) > 65535:
        raise ConfigError(f"{text!r} is not HOST:PORT like 127.0.0.1:9464", path=source_file, key="schedule.metrics_listen")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    return host or "0.0.0.0", int(port)


def ingest_window(cfg: Config, now: datetime) -> tuple[int, int]:
    """From this month's start in ``timezone`` or 31 days back, whichever is earlier, to the settled minute."""
    local = now.astimezone(cfg.zone)
    month_start = month_period(f"{local.year:04d}-{local.month:02d}", cfg.timezone).start
    return min(month_start, minute_of(now) - LOOKBACK_MINUTES), last_settled_minute(now)


def previous_month(now: datetime, zone: tzinfo) -> str:
    """The calendar month (in ``zone``) that ended last before ``now``."""
    last = now.astimezone(zone).replace(day=1) - timedelta(days=1)
    return f"{last.year:04d}-{last.month:02d}"


# --------------------------------------------------------------------------- metrics

def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class Metrics:
    """The scheduler's counters and gauges, written in Prometheus text format by hand (no client library)."""

    def __init__(self, services: Iterable[str]) -> None:
        self._lock = threading.Lock()
        self.runs = dict.fromkeys(JOBS, 0)
        self.failures = dict.fromkeys(JOBS, 0)
        self.skipped = dict.fromkeys(JOBS, 0)
        self.last_success = dict.fromkeys(JOBS, 0.0)
        self.last_duration = dict.fromkeys(JOBS, 0.0)
        self.ingested = dict.fromkeys(services, 0)

    def record(self, job: str, ok: bool, duration: float) -> None:
        with self._lock:
            self.runs[job] += 1
            self.last_duration[job] = duration
            if ok:
                self.last_success[job] = time.time()
            else:
                self.failures[job] += 1

    def skip(self, job: str) -> None:
        with self._lock:
            self.skipped[job] = self.skipped.get(job, 0) + 1

    def add_ingested(self, pulled: dict[str, int]) -> None:
        with self._lock:
            for service, minutes in pulled.items():
                self.ingested[service] = self.ingested.get(service, 0) + minutes

    def render(self) -> str:
        families = (
            ("slactl_job_runs_total", "counter", "Scheduled job runs, finished either way.", "job", self.runs),
            ("slactl_job_failures_total", "counter", "Scheduled job runs that failed.", "job", self.failures),
            ("slactl_job_skipped_total", "counter", "Job runs skipped: missed or still running.", "job", self.skipped),
            ("slactl_job_last_success_timestamp_seconds", "gauge", "When the job last succeeded (0: never).", "job", self.last_success),
            ("slactl_job_last_duration_seconds", "gauge", "How long the job's last run took.", "job", self.last_duration),
            ("slactl_ingested_minutes_total", "counter", "Minutes pulled from the sources into the store.", "service", self.ingested),
        )
        lines = ["# HELP slactl_up 1 while the scheduler process is serving.", "# TYPE slactl_up gauge", "slactl_up 1"]
        with self._lock:
            for name, kind, help_text, label, values in families:
                lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
                lines += [f'{name}{{{label}="{_label(k)}"}} {v!r}' for k, v in values.items()]
        return "\n".join(lines) + "\n"


class _Handler(BaseHTTPRequestHandler):
    server: MetricsServer

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        path = self.path.split("?", 1)[0]
        if path == "/metrics":
            status, ctype, text = 200, "text/plain; version=0.0.4; charset=utf-8", self.server.render()
        elif path == "/healthz":
            ok, reason = self.server.health()
            status, ctype, text = (200 if ok else 503), "text/plain; charset=utf-8", reason + "\n"
        else:
            status, ctype, text = 404, "text/plain; charset=utf-8", "not found: try /metrics or /healthz\n"
        data = text.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("http: " + format, *args)


class MetricsServer(ThreadingHTTPServer):
    """``/metrics`` and ``/healthz`` on a daemon thread; never blocks the jobs."""

    daemon_threads = True

    def __init__(self, listen: tuple[str, int], render: Callable[[], str], health: Callable[[], tuple[bool, str]]):
        self.render, self.health = render, health
        if ":" in listen[0]:
            self.address_family = socket.AF_INET6
        try:
            super().__init__(listen, _Handler)
        except OSError as exc:
            where, why = f"{listen[0]}:{listen[1]}", exc.strerror or exc
            raise SlactlError(f"cannot listen on {where} for /metrics: {why}; is another scheduler "
                              "running there? change schedule.metrics_listen") from exc  # fmt: skip
        threading.Thread(target=self.serve_forever, name="slactl-metrics", daemon=True).start()


# --------------------------------------------------------------------------- the scheduler

class Scheduler:
    """The three jobs of the ``schedule:`` block, their metrics and a graceful stop."""

    def __init__(
        self, cfg: Config, *, clock: Callable[[], datetime], store_factory: Callable[[], Store] | None = None,
        injected: Injected | None = None, s3_client: Any = None,
    ) -> None:  # fmt: skip
        f, sch = cfg.source_file, cfg.schedule
        self.cfg, self.clock, self.injected, self.s3_client = cfg, clock, injected, s3_client
        self.store_factory = store_factory or (lambda: Store(cfg.store_url))
        # Every value is checked now, not when its job first fires.
        self.ingest_every = parse_duration(sch.ingest_every, "schedule.ingest_every", f)
        self.status_every = parse_duration(sch.status_page_every, "schedule.status_page_every", f)
        self.close_trigger = cron_trigger(sch.monthly_close, cfg.zone, f)
        self.listen = parse_listen(sch.metrics_listen, f)
        self.metrics = Metrics(cfg.services)
        self.errors: dict[str, str] = {}  # job → its last failure, while it keeps failing
        self.exit_codes: dict[str, int] = {}
        self._store: Store | None = None
        self._aps: BackgroundScheduler | None = None
        self._server: MetricsServer | None = None
        self._cond = threading.Condition()
        self._active: str | None = None
        self._stopping = False
        self._warned: set[str] = set()

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = self.store_factory()
        return self._store

    # ------------------------------------------------------------------ jobs

    def ingest_job(self) -> None:
        now = self.clock()
        start, end = ingest_window(self.cfg, now)
        pulled = ingest(self.cfg, self.store, start, end, now, injected=self.injected)
        self.metrics.add_ingested(pulled)
        if pulled:
            log.info("ingest: pulled %s", ", ".join(f"{s} {n} min" for s, n in pulled.items()))

    def status_page_job(self) -> None:
        now = self.clock()
        files, warnings = build_site(self.cfg, self.store, now, now, self.injected)
        for w in warnings:  # the same bad post would otherwise be reported every few minutes
            if w not in self._warned:
                self._warned.add(w)
                log.warning("status page: %s", w)
        where = publish_site(self.cfg, files, s3_client=self.s3_client)
        log.info("status page: published to %s (%d files)", where, len(files))

    def monthly_close_job(self) -> None:
        now = self.clock()
        month = previous_month(now, self.cfg.zone)
        target = self.cfg.publish.reports
        if target.s3 is None:
            out = self.cfg.path(target.dir or "reports")
            self._close(month, out, now)
            where = str(out)
        else:
            from slactl.publish.s3 import publish_s3  # boto3 only when S3 is used

            # The S3 publisher prunes what its last manifest listed, so each month gets its own prefix.
            base = target.s3.prefix.strip("/")
            s3 = target.s3.model_copy(update={"prefix": f"{base}/{month}/" if base else f"{month}/"})
            with tempfile.TemporaryDirectory(prefix="slactl-close-") as tmp:
                self._close(month, Path(tmp), now)
                files = {p.relative_to(tmp).as_posix(): p.read_bytes() for p in sorted(Path(tmp).rglob("*")) if p.is_file()}
                publish_s3(files, s3, self.s3_client)
            where = f"s3://{s3.bucket}/{s3.prefix}"
        log.info("monthly close %s: report and credits written to %s", month, where)

    def _close(self, month: str, out: Path, now: datetime) -> None:
        report = report_monthly(self.cfg, self.store, month, out, now, self.injected)
        credits = run_credits(self.cfg, self.store, month, out, now, self.injected)
        for w in dict.fromkeys(report.warnings + credits.warnings):
            log.warning("monthly close %s: %s", month, w)

    def _run(self, job: str) -> bool:
        """One run of a job: never raises, so a failure cannot take the scheduler down."""
        with self._cond:
            if self._stopping:
                return False
            self._active = job
        t0, ok = time.monotonic(), False
        try:
            getattr(self, f"{job}_job")()
            ok = True
            self.errors.pop(job, None)
            self.exit_codes.pop(job, None)
        except SlactlError as exc:
            self.errors[job], self.exit_codes[job] = str(exc).replace("\n", " "), exc.exit_code
            log.error("job %s failed: %s", job, self.errors[job])
        except Exception as exc:
            self.errors[job], self.exit_codes[job] = f"internal error: {type(exc).__name__}: {exc}", 1
            log.exception("job %s failed with an unexpected error", job)
        finally:
            self.metrics.record(job, ok, time.monotonic() - t0)
            with self._cond:
                self._active = None
                self._cond.notify_all()
        return ok

    # ------------------------------------------------------------------ lifecycle

    def health(self) -> tuple[bool, str]:
        """Healthy while scheduling and the last good ingest is at most 3 intervals old."""
        if self._aps is None or not self._aps.running or self._stopping:
            return False, "scheduler is not running"
        last = self.metrics.last_success["ingest"]
        if not last:
            return False, "no successful ingest yet" + (f": {self.errors['ingest']}" if "ingest" in self.errors else "")
        age, limit = time.time() - last, HEALTH_FACTOR * self.ingest_every
        if age > limit:
            return False, f"last successful ingest {age:.0f}s ago (limit {limit}s)"
        return True, "ok"

    def run_once(self) -> dict[str, str]:
        """Each job once, now, in order (for cron users and tests); returns the failures."""
        try:
            failed = [job for job in JOBS if not self._run(job)]
        finally:
            self.close_store()
        return {job: self.errors.get(job, "stopped") for job in failed}

    def start(self) -> None:
        """Open the store and the metrics server, then schedule the jobs (ingest first, right away)."""
        _ = self.store  # a bad store URL fails now, not in the first job
        try:
            self._server = MetricsServer(self.listen, self.metrics.render, self.health)
        except BaseException:
            self.close_store()
            raise
        zone, now = self.cfg.zone, datetime.now(UTC)
        aps = BackgroundScheduler(
            timezone=zone,
            executors={"default": ThreadPoolExecutor(max_workers=1)},
            job_defaults={"max_instances": 1, "coalesce": True},
        )
        for job, every, first in (("ingest", self.ingest_every, 0), ("status_page", self.status_every, 10)):
            trigger, due = IntervalTrigger(seconds=every, timezone=zone), now + timedelta(milliseconds=first)
            aps.add_job(self._run, trigger, args=[job], id=job, name=job, next_run_time=due, misfire_grace_time=max(every, 60))
        aps.add_job(self._run, self.close_trigger, args=["monthly_close"], id="monthly_close", name="monthly_close", misfire_grace_time=CLOSE_GRACE_SECONDS)
        aps.add_listener(lambda event: self.metrics.skip(event.job_id), EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES)
        aps.start()
        self._aps = aps
        host, port = self._server.server_address[:2]
        log.info("scheduler running: ingest every %ss, status page every %ss, monthly close %r (%s); metrics on "
                 "http://%s:%s/metrics", self.ingest_every, self.status_every, self.cfg.schedule.monthly_close,
                 self.cfg.timezone, host, port)  # fmt: skip

    def stop(self, timeout: float = 30.0) -> bool:
        """Stop scheduling, wait up to ``timeout`` s for a running job, close server and store; False if it ran on."""
        with self._cond:
            self._stopping = True  # queued runs return at once
        if self._aps is not None and self._aps.running:
            self._aps.shutdown(wait=False)
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._active is not None and (left := deadline - time.monotonic()) > 0:
                self._cond.wait(left)
            abandoned = self._active
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        self.close_store()
        if abandoned:
            log.error("job %s still running after %ss; leaving it", abandoned, timeout)
        return abandoned is None

    def close_store(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None
