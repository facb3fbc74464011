"""``slactl scheduler run``: ingest, status page and monthly close on the config's schedule.

The one module that knows APScheduler: it says *when* each job runs; what a job
does is in :mod:`slactl.app.scheduled` and :mod:`slactl.app.close`,
the metrics and their server in :mod:`slactl.scheduler.metrics`, the leader lock in
:mod:`slactl.store.lease`.

Jobs run one at a time on a single worker thread (one writer, no range pulled
twice), and only while this process leads: before each run it checks that it
still holds the store's leader lock, and each write to the store checks it again
inside its transaction (a replica that lost the lock mid-job commits nothing and
stops the job with one line).  A separate thread asks for the lock every
few seconds, so a standby takes over soon after a leader dies and runs ingest at
once (and the monthly close, when it was due within the last hour).  A failing job is logged and counted and the schedule goes on.
A job that gave up waiting for another writer's lock (``lock_timeout``) is retried
at its next run, and does not by itself make a new leader's ``/healthz`` fail.
SIGTERM/SIGINT stop scheduling, wait (bounded) for the running job, then release
the lock and close the server and the store (the CLI owns signals and exit codes).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from apscheduler.events import EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from slactl.app.close import monthly_close, previous_month
from slactl.app.scheduled import bounded_pulls, ingest_recent, refresh_status_page
from slactl.config import Config
from slactl.durations import normalise_cron
from slactl.errors import ConfigError, SlactlError, StoreError
from slactl.redact import redact
from slactl.scheduler.metrics import MetricsServer, SelfMetrics
from slactl.sources.base import Injected
from slactl.store.engine import waited_for_lock
from slactl.store.lease import Leadership, leadership_for, lost_lead
from slactl.store.sql import Store

log = logging.getLogger("slactl.scheduler")

JOBS = ("ingest", "status_page", "monthly_close")
CLOSE_GRACE_SECONDS = 3600  # a monthly close up to an hour late still runs
HEALTH_FACTOR = 3  # /healthz fails when the leader's last good ingest is older than 3 intervals
MAX_ELECT_SECONDS = 15  # a standby asks for the lock at least this often

__all__ = ["JOBS", "Scheduler", "cron_trigger", "elect_every", "previous_month"]


def cron_trigger(expr: str, zone: tzinfo, source_file: str = "") -> CronTrigger:
    """A standard 5-field crontab line in ``zone`` (weekday numbers as cron means them)."""
    try:
        return CronTrigger.from_crontab(normalise_cron(expr), timezone=zone)
    except ValueError as exc:
        raise ConfigError(f"{expr!r} is not a valid cron expression: {exc}", path=source_file,
                          key="schedule.monthly_close") from None  # fmt: skip


def elect_every(ingest_every: int) -> int:
    """How often a standby asks for the lock: well within one ingest interval."""
    return max(1, min(MAX_ELECT_SECONDS, ingest_every // 2))


class Scheduler:
    """The three jobs of the ``schedule:`` block, the leader lock, the metrics and a graceful stop."""

    def __init__(
        self, cfg: Config, *, clock: Callable[[], datetime], store_factory: Callable[[], Store] | None = None,
        injected: Injected | None = None, s3_client: Any = None, leadership: Leadership | None = None,
    ) -> None:  # fmt: skip
        sch = cfg.schedule
        self.cfg, self.clock, self.s3_client = cfg, clock, s3_client
        self.injected = bounded_pulls(cfg, injected)  # each job's pull ends within schedule.pull_timeout
        self.store_factory = store_factory or (lambda: Store(cfg.store_url))
        self.ingest_every, self.status_every = sch.ingest_seconds, sch.status_page_seconds
        self.close_trigger = cron_trigger(sch.monthly_close, cfg.zone, cfg.source_file)
        self.listen = sch.listen
        self.metrics = SelfMetrics(cfg.services, JOBS)
        self.leadership = leadership
        self.errors: dict[str, str] = {}  # job → its last failure, while it keeps failing
        self.lock_waits: set[str] = set()  # jobs whose last failure was waiting for another writer's lock
        self.exit_codes: dict[str, int] = {}
        self.leading_since: float | None = None
        self._store: Store | None = None
        self._aps: BackgroundScheduler | None = None
        self._server: MetricsServer | None = None
        self._cond = threading.Condition()
        self._lead_lock = threading.Lock()
        self._active: str | None = None
        self._stopping = False
        self._warned: set[str] = set()

    @property
    def store(self) -> Store:
        """The store, its writes fenced by the leader lock (PostgreSQL): a replica that lost it writes nothing."""
        if self._store is None:
            if self.leadership is None:
                self.leadership = leadership_for(self.cfg.store_url)
            store = self.store_factory()
            fence = getattr(self.leadership, "fence", None)
            if callable(fence):
                store.fence = fence
            self._store = store
        return self._store

    def _now(self) -> float:
        return self.clock().timestamp()

    # ------------------------------------------------------------------ jobs

    def ingest_job(self) -> None:
        pulled = ingest_recent(self.cfg, self.store, self.clock(), self.injected)
        self.metrics.add_ingested(pulled)
        if pulled:
            log.info("ingest: pulled %s", ", ".join(f"{s} {n} min" for s, n in pulled.items()))

    def status_page_job(self) -> None:
        done = refresh_status_page(self.cfg, self.store, self.clock(), self.injected, s3_client=self.s3_client)
        for w in done.warnings:  # the same bad post would otherwise be reported every few minutes
            if w not in self._warned:
                self._warned.add(w)
                log.warning("status page: %s", w)
        log.info("status page: published to %s (%d files)", done.where, done.files)

    def monthly_close_job(self) -> None:
        now = self.clock()
        month = previous_month(now, self.cfg.zone)
        done = monthly_close(self.cfg, self.store, month, now, self.injected, s3_client=self.s3_client)
        for w in done.warnings:
            log.warning("monthly close %s: %s", month, w)
        log.info("monthly close %s: report and credits written to %s", month, done.where)

    # ------------------------------------------------------------------ leadership

    def leading(self) -> bool:
        """Whether this process leads now (asking for the lock when it does not)."""
        if self.leadership is None:
            self.leadership = leadership_for(self.cfg.store_url)
        with self._lead_lock:
            now_leading = self.leadership.poll()
            was = self.leading_since is not None
            if now_leading and not was:
                self.leading_since = self._now()
                log.info("leading: this replica runs the jobs (%s)", redact(self.leadership.describe()))
            elif was and not now_leading:
                self.leading_since = None
                log.warning("no longer leading: another replica runs the jobs")
            self.metrics.leader.set(1 if now_leading else 0)
        return now_leading

    def _elect(self) -> None:
        """The election tick: on becoming leader, ingest at once instead of at the next interval."""
        was = self.leading_since is not None
        try:
            now_leading = self.leading()
        except SlactlError as exc:
            log.error("leader check failed: %s", redact(str(exc)))
            return
        if now_leading and not was and self._aps is not None and not self._stopping:
            now = datetime.now(UTC)
            self._aps.modify_job("ingest", next_run_time=now)
            if self.close_due(now):  # the old leader may have died before or during it: closing is idempotent
                self._aps.modify_job("monthly_close", next_run_time=now + timedelta(seconds=1))

    def close_due(self, now: datetime) -> bool:
        """Whether the monthly close was due within the last CLOSE_GRACE_SECONDS."""
        fire = self.close_trigger.get_next_fire_time(None, now - timedelta(seconds=CLOSE_GRACE_SECONDS))
        return fire is not None and fire <= now

    def _run(self, job: str) -> bool:
        """One run of a job if this process leads: never raises, so a failure cannot take the scheduler down."""
        with self._cond:
            if self._stopping:
                return False
            self._active = job
        t0, ok = time.monotonic(), False
        try:
            if not self.leading():
                return False  # a standby: the leader runs it
            getattr(self, f"{job}_job")()
            ok = True
            self.errors.pop(job, None)
            self.exit_codes.pop(job, None)
            self.lock_waits.discard(job)
        except SlactlError as exc:
            if lost_lead(exc):  # fenced: the write rolled back; the replica that leads now does the job
                log.warning("job %s stopped: %s", job, redact(str(exc).replace("\n", " ")))
                self.leading()
                return False
            self.errors[job], self.exit_codes[job] = redact(str(exc).replace("\n", " ")), exc.exit_code
            if waited_for_lock(exc):  # another writer held a lock past lock_timeout: the next run tries again
                self.lock_waits.add(job)
            else:
                self.lock_waits.discard(job)
            log.error("job %s failed: %s", job, self.errors[job])
        except Exception as exc:
            self.errors[job], self.exit_codes[job] = redact(f"internal error: {type(exc).__name__}: {exc}"), 1
            log.exception("job %s failed with an unexpected error", job)
        finally:
            if self.leading_since is not None or job in self.errors:
                self.metrics.record(job, ok, time.monotonic() - t0, self._now())
            with self._cond:
                self._active = None
                self._cond.notify_all()
        return ok

    # ------------------------------------------------------------------ lifecycle

    def health(self) -> tuple[bool, str]:
        """A standby is healthy while scheduling; the leader while its ingest is at most 3 intervals behind."""
        if self._aps is None or not self._aps.running or self._stopping:
            return False, "scheduler is not running"
        since = self.leading_since
        if since is None:
            return True, "ok: standby, another replica leads"
        last, now = self.metrics.value("slactl_task_last_success_timestamp_seconds", task="ingest"), self._now()
        limit = HEALTH_FACTOR * self.ingest_every
        if not last:
            waiting = "ingest" in self.lock_waits  # for a stalled writer's locks: the server frees them soon
            if "ingest" in self.errors and not waiting:
                return False, f"no successful ingest yet: {self.errors['ingest']}"
            if now - since > limit:
                return False, f"no successful ingest in the {limit}s since taking the lead"
            return True, "ok: leader, first ingest waiting for a store lock" if waiting else "ok: leader, first ingest running"
        if now - last > limit:
            return False, f"last successful ingest {now - last:.0f}s ago (limit {limit}s)"
        return True, "ok: leader"

    def run_once(self) -> dict[str, str]:
        """Each job once, now, in order (for cron users and tests); returns the failures."""
        try:
            if not self.leading():
                raise StoreError("another slactl scheduler leads on this store: --once ran nothing")
            failed = [job for job in JOBS if not self._run(job)]
        finally:
            self.close()
        return {job: self.errors.get(job, "stopped") for job in failed}

    def start(self) -> None:
        """Take (or wait for) the lead, open the store and the server, then schedule the jobs."""
        try:
            self.leading()  # SQLite: a second scheduler fails here, before anything starts
            _ = self.store  # a bad store URL fails now, not in the first job
            self._server = MetricsServer(self.listen, self.metrics.render, self.health)
        except BaseException:
            self.close()
            raise
        zone, now = self.cfg.zone, datetime.now(UTC)  # APScheduler fires on the wall clock
        aps = BackgroundScheduler(
            timezone=zone,
            executors={"default": ThreadPoolExecutor(max_workers=1), "elect": ThreadPoolExecutor(max_workers=1)},
            job_defaults={"max_instances": 1, "coalesce": True},
        )
        elect = elect_every(self.ingest_every)
        aps.add_job(self._elect, IntervalTrigger(seconds=elect, timezone=zone), id="elect", name="elect",
                    executor="elect", misfire_grace_time=elect)  # fmt: skip
        for job, every, first in (("ingest", self.ingest_every, 0), ("status_page", self.status_every, 10)):
            trigger, due = IntervalTrigger(seconds=every, timezone=zone), now + timedelta(milliseconds=first)
            aps.add_job(self._run, trigger, args=[job], id=job, name=job, next_run_time=due, misfire_grace_time=max(every, 60))
        aps.add_job(self._run, self.close_trigger, args=["monthly_close"], id="monthly_close", name="monthly_close", misfire_grace_time=CLOSE_GRACE_SECONDS)
        aps.add_listener(lambda event: self.metrics.skip(event.job_id), EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES)
        aps.start()
        self._aps = aps
        host, port = self._server.server_address[:2]
        role = "leading" if self.leading_since is not None else f"standby (asking for the lead every {elect}s)"
        log.info("scheduler running, %s: ingest every %ss, status page every %ss, monthly close %r (%s); metrics on "
                 "http://%s:%s/metrics", role, self.ingest_every, self.status_every, self.cfg.schedule.monthly_close,
                 self.cfg.timezone, host, port)  # fmt: skip

    def stop(self, timeout: float = 30.0) -> bool:
        """Stop scheduling, wait up to ``timeout`` s for a running job, release and close; False if it ran on."""
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
        if abandoned:
            log.error("job %s still running after %ss; leaving it", abandoned, timeout)
        else:
            self.close()
        return abandoned is None

    def close(self) -> None:
        """Release the leader lock and close the store."""
        if self.leadership is not None:
            self.leadership.release()
            self.leading_since = None
            self.metrics.leader.set(0)
        if self._store is not None:
            self._store.close()
            self._store = None

    close_store = close  # the name older callers use
