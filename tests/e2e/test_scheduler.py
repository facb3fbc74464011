"""``slactl scheduler run``: the schedule block, /metrics and /healthz, jobs, failures and a clean stop.

The process tests run the real CLI in a subprocess on the built-in ``sample``
source, with the clock pinned (``SLACTL_NOW``) just after January 2026 closed,
and talk to it over loopback only.  Every wait is bounded.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml
from kits.scheduler import NOW, SLACTL, Proc, env, free_port, get, listen_of, samples, write_config

from slactl.app.close import previous_month
from slactl.app.scheduled import ingest_window
from slactl.cli import scheduler as _cli  # noqa: F401  (registers `slactl scheduler`)
from slactl.config import load
from slactl.config.values import split_listen
from slactl.durations import normalise_cron as normalise
from slactl.durations import seconds
from slactl.errors import ConfigError, SlactlError
from slactl.scheduler.metrics import SelfMetrics
from slactl.scheduler.service import Scheduler, cron_trigger, elect_every
from slactl.sli.period import month_period


def with_dead_source(tmp: Path) -> Path:
    """A config whose extra service's Prometheus is a closed port: every ingest fails fast."""
    raw = yaml.safe_load(write_config(tmp).read_text())
    raw["sources"]["dead"] = {"type": "prometheus", "url": f"http://127.0.0.1:{free_port()}", "retries": 0, "timeout_seconds": 2}
    raw["services"]["edge"] = {"source": "dead", "availability": {"probe": 'up{job="edge"}'}}
    path = tmp / "slactl.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


@pytest.fixture
def procs():
    started: list[Proc] = []
    yield started
    for p in started:
        p.kill()


def run_cli(config: Path, *args: str, timeout: float = 60, **extra_env: str) -> subprocess.CompletedProcess:
    return subprocess.run([*SLACTL, "--config", str(config), "scheduler", "run", *args],
                          capture_output=True, text=True, timeout=timeout, env=env(**extra_env))  # fmt: skip


# --------------------------------------------------------------------------- the schedule block


def test_durations_cron_and_listen_are_parsed_or_rejected():
    assert [seconds(t) for t in ("30s", "5m", "1h", "1h30m", "1d")] == [30, 300, 3600, 5400, 86400]
    for bad in ("", "5", "5 minutes", "0s", "-5m", "1.5m", "5m1h"):
        with pytest.raises(ValueError):
            seconds(bad)
    # Cron numbers weekdays from Sunday; APScheduler 3 from Monday: they are translated to names.
    assert normalise("0 3 * * 0").split()[4] == normalise("0 3 * * 7").split()[4] == "sun"
    assert normalise("0 3 * * 1-5").split()[4] == "mon,tue,wed,thu,fri"
    assert normalise("0 3 * * */2").split()[4] == "sun,tue,thu,sat"
    assert normalise("0 3 * * mon-fri").split()[4] == "mon,tue,wed,thu,fri" and normalise("0 2 1 * *") == "0 2 1 * *"
    berlin = ZoneInfo("Europe/Berlin")
    trig = cron_trigger("0 2 1 * *", berlin)
    fire = trig.get_next_fire_time(None, datetime(2026, 1, 15, tzinfo=berlin))
    assert fire == datetime(2026, 2, 1, 2, 0, tzinfo=berlin)
    sunday = cron_trigger("0 3 * * 0", UTC).get_next_fire_time(None, datetime(2026, 1, 1, tzinfo=UTC))
    assert sunday.weekday() == 6  # 2026-01-04, a Sunday
    for bad in ("0 2 1 *", "0 25 1 * *", "nonsense", "0 2 1 * 9", "0 2 32 * *", "5-1 * * * *"):
        with pytest.raises(ConfigError, match="schedule.monthly_close"):
            cron_trigger(bad, UTC)
    assert split_listen("127.0.0.1:9464") == ("127.0.0.1", 9464)
    assert split_listen("[::1]:9464") == ("::1", 9464)
    assert split_listen(":9464") == ("0.0.0.0", 9464)
    for bad in ("9464", "localhost", "host:99999", "host:http", "::1:9464"):
        with pytest.raises(ValueError):
            split_listen(bad)
    assert [elect_every(n) for n in (1, 2, 60, 300, 3600)] == [1, 1, 15, 15, 15]


def test_a_new_leader_runs_the_close_only_when_it_was_due_within_the_hour(tmp_path):
    sched = Scheduler(load(write_config(tmp_path)), clock=lambda: datetime.fromisoformat(NOW))
    assert sched.close_due(datetime(2026, 2, 1, 2, 30, tzinfo=UTC))
    assert not sched.close_due(datetime(2026, 2, 1, 1, 59, tzinfo=UTC))
    assert not sched.close_due(datetime(2026, 2, 1, 3, 1, tzinfo=UTC))


@pytest.mark.parametrize(
    ("schedule", "key"),
    [({"ingest_every": "5 minutes"}, "schedule.ingest_every"), ({"status_page_every": 5}, "schedule.status_page_every"),
     ({"monthly_close": "0 2 1 *"}, "schedule.monthly_close"), ({"metrics_listen": "9464"}, "schedule.metrics_listen")],
)
def test_validate_catches_a_bad_schedule_naming_the_key(tmp_path, schedule, key):
    config = write_config(tmp_path)
    raw = yaml.safe_load(config.read_text())
    raw["schedule"].update(schedule)
    config.write_text(yaml.safe_dump(raw))
    with pytest.raises(ConfigError, match=key):
        load(config)
    done = subprocess.run([*SLACTL, "--config", str(config), "validate"], capture_output=True, text=True, timeout=60, env=env())
    assert done.returncode == 2 and key in done.stderr and "Traceback" not in done.stderr


def test_ingest_window_and_the_month_just_ended_follow_the_time_zone(tmp_path):
    now = datetime(2026, 2, 1, 3, 0, tzinfo=UTC)  # still 31 January in New York
    assert previous_month(now, ZoneInfo("America/New_York")) == "2025-12"
    assert previous_month(now, UTC) == "2026-01"
    cfg = load(write_config(tmp_path, timezone="Europe/Berlin"))
    later = datetime(2026, 2, 3, 12, 0, tzinfo=UTC)
    assert ingest_window(cfg, later) == (int(later.timestamp()) // 60 - 31 * 1440, int(later.timestamp()) // 60 - 2)
    # October in Berlin lasts 31 days and an hour (DST ends): near its end, its start is the earlier.
    end_of_october = datetime(2026, 10, 31, 22, 30, tzinfo=UTC)
    assert ingest_window(cfg, end_of_october)[0] == month_period("2026-10", "Europe/Berlin").start


def test_metrics_use_base_units_a_task_label_and_escape_labels():
    m = SelfMetrics(["api", 'we"b\\x'], ["ingest", "status_page"])
    m.record("ingest", True, 0.25, 1.8e9)
    m.record("ingest", False, 1.5, 1.8e9 + 5)
    m.add_ingested({"api": 60})
    m.leader.set(1)
    text = m.render().decode()
    got = samples(text)
    assert got['slactl_task_runs_total{task="ingest"}'] == 2
    assert got['slactl_task_failures_total{task="ingest"}'] == 1
    assert got['slactl_task_last_duration_seconds{task="ingest"}'] == 1.5
    assert got['slactl_task_last_success_timestamp_seconds{task="ingest"}'] == 1.8e9
    assert got['slactl_ingested_seconds_total{service="api"}'] == 3600
    assert got["slactl_leader"] == 1
    assert 'slactl_ingested_seconds_total{service="we\\"b\\\\x"} 0.0' in text
    assert "job=" not in text and "minutes" not in text


def test_promtool_finds_nothing_to_say_about_metrics(prometheus_binaries):
    m = SelfMetrics(["api"], ["ingest"])
    m.record("ingest", True, 0.25, 1.8e9)
    m.add_ingested({"api": 5})
    check = subprocess.run(["promtool", "check", "metrics"], input=m.render(), capture_output=True, timeout=60)
    assert check.returncode == 0 and not check.stdout.strip() and not check.stderr.strip(), check


# --------------------------------------------------------------------------- stop and failures, in-process


def test_stop_waits_for_the_running_job_but_only_as_long_as_allowed(tmp_path):
    cfg = load(write_config(tmp_path))
    clock = lambda: datetime.fromisoformat(NOW)  # noqa: E731
    for timeout, release_after, clean in ((10.0, 0.3, True), (0.3, None, False)):
        sched = Scheduler(cfg, clock=clock)
        running, release = threading.Event(), threading.Event()

        def slow_ingest(running=running, release=release) -> None:
            running.set()
            release.wait(5)

        sched.ingest_job = slow_ingest  # type: ignore[method-assign]
        sched.start()
        try:
            assert running.wait(10), "the first ingest never started"
            if release_after is not None:
                threading.Timer(release_after, release.set).start()
            t0 = time.monotonic()
            assert sched.stop(timeout) is clean
            assert time.monotonic() - t0 < timeout + 2
            assert sched.health() == (False, "scheduler is not running")
        finally:
            release.set()


def test_unexpected_errors_are_counted_and_never_escape(tmp_path, caplog):
    sched = Scheduler(load(write_config(tmp_path)), clock=lambda: datetime.fromisoformat(NOW))

    def broken() -> None:
        raise ZeroDivisionError("boom")

    def refused() -> None:
        raise SlactlError("source prom unreachable")

    sched.ingest_job, sched.status_page_job = broken, refused  # type: ignore[method-assign]
    sched.monthly_close_job = lambda: None  # type: ignore[method-assign]
    failed = sched.run_once()
    assert failed == {"ingest": "internal error: ZeroDivisionError: boom", "status_page": "source prom unreachable"}
    assert [sched.metrics.value("slactl_task_failures_total", task=j) for j in ("ingest", "status_page", "monthly_close")] == [1, 1, 0]
    assert "Traceback" in caplog.text and "job status_page failed: source prom unreachable" in caplog.text


# --------------------------------------------------------------------------- the process


def test_run_serves_metrics_and_health_publishes_and_stops_cleanly_on_sigterm(tmp_path, procs):
    config = write_config(tmp_path)
    proc = Proc(config)
    procs.append(proc)
    status, body = proc.poll_until("/healthz", lambda s, b: s == 200)
    assert body.startswith("ok: leader")

    def both_ran(s: int, b: str) -> bool:
        m = samples(b)
        return s == 200 and all(m[f'slactl_task_last_success_timestamp_seconds{{task="{j}"}}'] > 0 for j in ("ingest", "status_page"))

    _, text = proc.poll_until("/metrics", both_ran)
    m = samples(text)
    assert m["slactl_leader"] == 1
    assert m['slactl_task_failures_total{task="ingest"}'] == 0
    assert m['slactl_task_runs_total{task="monthly_close"}'] == 0  # its cron is the 1st at 02:00
    assert m['slactl_ingested_seconds_total{service="api"}'] >= (31 * 1440 - 3) * 60
    check = subprocess.run(["promtool", "check", "metrics"], input=text.encode(), capture_output=True, timeout=60)
    assert check.returncode == 0 and not check.stdout.strip(), check
    for rel in ("index.html", "api/v2/summary.json", "history.atom"):
        assert (tmp_path / "public" / rel).is_file()
    assert json.loads((tmp_path / "public/api/v2/summary.json").read_text())["components"]
    assert get(proc.base + "/nothing")[0] == 404
    assert proc.terminate(timeout=10) == 0
    assert "SIGTERM: stopping" in proc.stderr and "scheduler stopped cleanly" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_once_runs_the_three_jobs_in_order_and_exits_0(tmp_path):
    config = write_config(tmp_path)
    done = run_cli(config, "--once")
    assert done.returncode == 0, done.stderr
    reports = tmp_path / "reports"
    report = json.loads((reports / "report-2026-01.json").read_text())
    credits = json.loads((reports / "credits-2026-01.json").read_text())
    assert report["month"] == credits["month"] == "2026-01" and report.get("complete", True)
    assert (reports / "statements").is_dir() and (tmp_path / "public/index.html").is_file()
    order = [done.stderr.index(s) for s in ("ingest: pulled", "status page: published", "monthly close 2026-01")]
    assert order == sorted(order)


def test_a_bad_schedule_exits_2_naming_the_key(tmp_path):
    config = write_config(tmp_path)
    raw = yaml.safe_load(config.read_text())
    raw["schedule"]["ingest_every"] = "5 minutes"
    config.write_text(yaml.safe_dump(raw))
    done = run_cli(config, timeout=30)
    assert done.returncode == 2
    assert "schedule.ingest_every" in done.stderr and str(config) in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr


def test_a_second_scheduler_on_one_sqlite_store_is_refused(tmp_path, procs):
    config = write_config(tmp_path)
    proc = Proc(config)
    procs.append(proc)
    proc.poll_until("/healthz", lambda s, b: s == 200)
    second = tmp_path / "second"
    second.mkdir()
    raw = yaml.safe_load(config.read_text())
    raw["store"] = f"sqlite:///{tmp_path / 'slactl.db'}"
    raw["schedule"]["metrics_listen"] = f"127.0.0.1:{free_port()}"
    (second / "slactl.yaml").write_text(yaml.safe_dump(raw))
    done = run_cli(second / "slactl.yaml", timeout=30)
    assert done.returncode == 1, done.stderr
    assert "another slactl scheduler" in done.stderr and f"pid {proc.p.pid}" in done.stderr
    assert "database is locked" not in done.stderr and "Traceback" not in done.stderr
    assert proc.terminate(timeout=10) == 0


def test_a_busy_metrics_port_exits_1_with_a_clear_message(tmp_path):
    config = write_config(tmp_path)
    host, port = listen_of(config).split(":")
    with socket.socket() as busy:
        busy.bind((host, int(port)))
        busy.listen()
        done = run_cli(config, timeout=30)
    assert done.returncode == 1
    assert f"cannot listen on {host}:{port}" in done.stderr and "schedule.metrics_listen" in done.stderr


def test_a_failing_job_is_counted_and_the_scheduler_keeps_running(tmp_path, procs):
    proc = Proc(with_dead_source(tmp_path))
    procs.append(proc)
    _, text = proc.poll_until("/metrics", lambda s, b: samples(b)['slactl_task_failures_total{task="ingest"}'] >= 2)
    m = samples(text)
    assert m['slactl_task_runs_total{task="ingest"}'] >= 2
    status, reason = get(proc.base + "/healthz")
    assert status == 503 and reason.startswith("no successful ingest yet") and "dead" in reason
    assert proc.p.poll() is None
    assert re.search(r"ERROR slactl\.scheduler: job ingest failed: .*dead", proc.stderr)
    assert "Traceback" not in proc.stderr  # a SlactlError is one line
    assert proc.terminate(signal.SIGINT, timeout=10) == 0  # Ctrl-C stops it as cleanly as SIGTERM
    assert "SIGINT: stopping" in proc.stderr and "scheduler stopped cleanly" in proc.stderr


def test_once_reports_failed_jobs_and_exits_1(tmp_path):
    done = run_cli(with_dead_source(tmp_path), "--once")
    assert done.returncode == 1
    last = done.stderr.splitlines()[-1]
    assert last == "slactl: error: 3 of 3 jobs failed: ingest, status_page, monthly_close (see above)"
    assert done.stderr.count("failed: source 'dead'") == 3


# --------------------------------------------------------------------------- reports to S3


def test_monthly_close_to_s3_puts_each_month_under_its_own_prefix(tmp_path, moto_url, monkeypatch):
    from slactl.config import S3Target
    from slactl.publish.s3 import make_client

    aws = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_EC2_METADATA_DISABLED": "true",
           "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}  # fmt: skip
    for k, v in aws.items():
        monkeypatch.setenv(k, v)
    target = {"bucket": "sla", "prefix": "reports/", "region": "us-east-1", "endpoint_url": moto_url}
    client = make_client(S3Target(**target))
    client.create_bucket(Bucket="sla")
    config = write_config(tmp_path)
    raw = yaml.safe_load(config.read_text())
    raw["publish"]["reports"] = {"s3": target}
    config.write_text(yaml.safe_dump(raw))
    done = run_cli(config, "--once", **aws)
    assert done.returncode == 0, done.stderr
    keys = {o["Key"] for o in client.list_objects_v2(Bucket="sla")["Contents"]}
    assert {"reports/2026-01/report-2026-01.json", "reports/2026-01/credits-2026-01.json"} <= keys
    assert any(k.startswith("reports/2026-01/statements/") and k.endswith(".pdf") for k in keys)
    body = client.get_object(Bucket="sla", Key="reports/2026-01/report-2026-01.json")["Body"].read()
    assert json.loads(body)["month"] == "2026-01"
    assert "s3://sla/reports/2026-01/" in done.stderr
