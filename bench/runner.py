"""One scenario's measurements: floor, the user's script, and slactl as a user runs it.

Every slactl step is its own process (the console script, as a user or cron
runs it), timed by wall clock, its peak RSS read from ``os.wait4`` for that
child alone. Rounds interleave the steps in a rotating order so a busy spell
of the shared machine does not land on one step only; medians are reported.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from floor import Floor, run_floor
from scenarios import SCENARIOS, Scenario, config_yaml, script_spec

BENCH = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
STEPS = ("floor", "cold", "warm", "ingest", "credits", "status", "script")


class StepFailed(RuntimeError):
    pass


@dataclass
class Sample:
    seconds: float
    rss_mb: float
    cpu_s: float = math.nan  # the step's own CPU time (user + system)
    server_s: float = math.nan  # Prometheus' CPU time meanwhile


SERVER: dict[str, int] = {}  # the pid of the scenario's Prometheus, for its CPU time


def server_cpu_s() -> float:
    """CPU seconds Prometheus has used so far: busy time that a shared machine does not distort."""
    pid = SERVER.get("pid")
    if pid is None:
        return math.nan
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return math.nan
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Outcome:
    """All samples of one scenario, plus what was checked along the way."""

    scenario: Scenario
    samples: dict[str, list[Sample]] = field(default_factory=lambda: defaultdict(list))
    floors: list[Floor] = field(default_factory=list)
    uptimes_equal: list[str] = field(default_factory=list)  # one verdict per script run
    warm_same: list[bool] = field(default_factory=list)
    wall_s: float = 0.0
    noise: str = ""  # how busy the machine was meanwhile
    checkpoint: Callable[[], None] = lambda: None  # saves what is measured so far

    def to_json(self) -> dict:
        return {
            "scenario": self.scenario.name,
            "samples": {k: [[x.seconds, x.rss_mb, x.cpu_s, x.server_s] for x in v] for k, v in self.samples.items()},
            "floors": [vars(f) for f in self.floors],
            "uptimes_equal": self.uptimes_equal,
            "warm_same": self.warm_same,
            "wall_s": self.wall_s,
            "noise": self.noise,
        }

    @classmethod
    def from_json(cls, raw: dict) -> Outcome:
        oc = cls(SCENARIOS[raw["scenario"]])
        for k, v in raw["samples"].items():
            oc.samples[k] = [Sample(*(math.nan if x is None else x for x in row)) for row in v]
        oc.floors = [Floor(**f) for f in raw["floors"]]
        oc.uptimes_equal, oc.warm_same = raw["uptimes_equal"], raw["warm_same"]
        oc.wall_s, oc.noise = raw["wall_s"], raw["noise"]
        return oc

    def merge(self, other: Outcome) -> None:
        """Add another run's samples of the same scenario (e.g. steps run separately)."""
        for k, v in other.samples.items():
            self.samples[k].extend(v)
        self.floors += other.floors
        self.uptimes_equal += other.uptimes_equal
        self.warm_same += other.warm_same
        self.wall_s += other.wall_s
        self.noise = "; ".join(x for x in (self.noise, other.noise) if x)

    def median(self, step: str) -> float:
        xs = [s.seconds for s in self.samples.get(step, [])]
        return statistics.median(xs) if xs else math.nan

    def cpu(self, step: str) -> tuple[float, float]:
        """Median CPU seconds of the step's own process and of Prometheus meanwhile."""
        xs = self.samples.get(step, [])
        own = [x.cpu_s for x in xs if not math.isnan(x.cpu_s)]
        srv = [x.server_s for x in xs if not math.isnan(x.server_s)]
        return (statistics.median(own) if own else math.nan, statistics.median(srv) if srv else math.nan)

    def rss(self, step: str) -> float:
        xs = [s.rss_mb for s in self.samples.get(step, [])]
        return max(xs) if xs else math.nan


def _hwm_mb(pid: int) -> float:
    """The high-water RSS of a running process (``VmHWM``), 0 once it has exited."""
    try:
        with open(f"/proc/{pid}/status", "rb") as f:
            for line in f:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def child(cmd: list[str], env: dict[str, str], log: Path) -> tuple[Sample, str]:
    """Run a process to its end; its wall time, its own peak RSS, and its stdout.

    ``ru_maxrss`` from ``wait4`` would count the bench's own memory (Linux keeps
    the forking parent's high-water mark across exec), so the child's ``VmHWM``,
    which starts afresh at exec, is polled every 20 ms while it runs.
    """
    out_path, err_path = log.with_suffix(".out"), log.with_suffix(".err")
    peak = 0.0
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        t, srv = time.perf_counter(), server_cpu_s()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env)
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            peak = max(peak, _hwm_mb(proc.pid))
            time.sleep(0.02)
        seconds = time.perf_counter() - t
        proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        tail = err_path.read_text(errors="replace").strip().splitlines()[-5:]
        raise StepFailed(f"{' '.join(cmd[:4])}... exited {proc.returncode}: {' | '.join(tail)}")
    sample = Sample(seconds, peak, usage.ru_utime + usage.ru_stime, server_cpu_s() - srv)
    return sample, out_path.read_text()


def _env(sc: Scenario) -> dict[str, str]:
    env = dict(os.environ, SLACTL_NOW=sc.now, NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        env.pop(var, None)
    return env


def _fresh(folder: Path, sc: Scenario, url: str) -> Path:
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    cfg = folder / "slactl.yaml"
    cfg.write_text(config_yaml(sc, url, folder / "slactl.db"))
    return cfg


def _slactl(cfg: Path, *args: str) -> list[str]:
    return [str(BIN / "slactl"), "--config", str(cfg), *args]


def _reports(sc: Scenario, cfg: Path, out: Path, env: dict[str, str], log: Path) -> tuple[Sample, dict]:
    """``report monthly`` for each month of the scenario, one process each, oldest first."""
    total, rss, cpu, srv, reports = 0.0, 0.0, 0.0, 0.0, {}
    for month in sc.month_list:
        s, _ = child(_slactl(cfg, "report", "monthly", "--month", month, "--out", str(out)), env,
                     log.with_name(f"{log.name}-{month}"))  # fmt: skip
        total, rss, cpu, srv = total + s.seconds, max(rss, s.rss_mb), cpu + s.cpu_s, srv + s.server_s
        reports[month] = json.loads((out / f"report-{month}.json").read_text())
    return Sample(total, rss, cpu, srv), reports


def slactl_chain(sc: Scenario, url: str, work: Path, oc: Outcome, reference: dict) -> None:
    """Cold reports on a fresh store, then warm reports, credits and the status page on it."""
    env = _env(sc)
    cfg = _fresh(work / "chain", sc, url)
    logs = work / "chain"
    cold, reports = _reports(sc, cfg, logs / "cold", env, logs / "cold")
    oc.samples["cold"].append(cold)
    reference.setdefault("reports", reports)
    oc.checkpoint()
    warm, again = _reports(sc, cfg, logs / "warm", env, logs / "warm")
    oc.samples["warm"].append(warm)
    oc.warm_same.append(again == reports)
    oc.checkpoint()
    last = sc.month_list[-1]
    s, _ = child(_slactl(cfg, "credits", "--month", last, "--out", str(logs / "credits")), env, logs / "credits")
    oc.samples["credits"].append(s)
    oc.checkpoint()
    at = datetime.fromtimestamp(sc.t1 - 60, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    s, _ = child(_slactl(cfg, "status-page", "build", "--out", str(logs / "status"), "--at", at), env, logs / "status")
    oc.samples["status"].append(s)


def ingest_step(sc: Scenario, url: str, work: Path, oc: Outcome) -> None:
    cfg = _fresh(work / "ingest", sc, url)
    cmd = [sys.executable, str(BENCH / "ingest_child.py"), str(cfg), str(sc.t0), str(sc.t1)]
    s, _ = child(cmd, _env(sc), work / "ingest" / "ingest")
    oc.samples["ingest"].append(s)


def script_step(sc: Scenario, url: str, work: Path, oc: Outcome, reference: dict) -> None:
    folder = work / "script"
    folder.mkdir(parents=True, exist_ok=True)
    spec = folder / "spec.json"
    spec.write_text(json.dumps(script_spec(sc, url)))
    s, out = child([sys.executable, str(BENCH / "user_script.py"), str(spec)], _env(sc), folder / "script")
    oc.samples["script"].append(s)
    reference.setdefault("script", []).append(json.loads(out))


def floor_step(sc: Scenario, url: str, work: Path, oc: Outcome) -> None:
    cpu, srv = time.process_time(), server_cpu_s()
    fl = run_floor(url, sc)
    oc.floors.append(fl)
    oc.samples["floor"].append(Sample(fl.seconds, math.nan, time.process_time() - cpu, server_cpu_s() - srv))


def compare_uptimes(script: dict, reports: dict) -> str:
    """'equal (N)' when the script's uptime of every service and month is slactl's, else what differs."""
    diffs, n = [], 0
    for month, report in reports.items():
        for svc, fig in report["services"].items():
            n += 1
            mine = script.get(month, {}).get(svc)
            theirs = fig["uptime_percent"]
            if mine is None or theirs is None or abs(mine - theirs) > 1e-9:
                diffs.append(f"{month} {svc}: script {mine} slactl {theirs}")
    if diffs:
        return f"DIFFER in {len(diffs)} of {n}: " + "; ".join(diffs[:3])
    return f"equal ({n})"


UNITS = ("floor", "slactl", "ingest", "script")


def run_rounds(sc: Scenario, url: str, work: Path, rounds: int, log=print, units_wanted=UNITS) -> Outcome:
    """``rounds`` rounds of every step, each round in a rotated order."""
    oc = Outcome(sc)
    reference: dict = {}
    units = {
        "floor": lambda w: floor_step(sc, url, w, oc),
        "slactl": lambda w: slactl_chain(sc, url, w, oc, reference),
        "ingest": lambda w: ingest_step(sc, url, w, oc),
        "script": lambda w: script_step(sc, url, w, oc, reference),
    }
    names = [u for u in units_wanted if u in units]
    t_all = time.perf_counter()
    label = ["start"]

    def save() -> None:
        # What is measured so far survives an interrupted run (``run.py --from`` reads it).
        oc.wall_s = time.perf_counter() - t_all
        if "reports" in reference:
            oc.uptimes_equal = [compare_uptimes(x, reference["reports"]) for x in reference.get("script", [])]
        partial = {"header": [f"partial: {sc.name} up to {label[0]}"], "outcomes": [oc.to_json()]}
        (work / "partial.json").write_text(json.dumps(partial, indent=1))

    oc.checkpoint = save
    for i in range(rounds):
        order = names[i % len(names) :] + names[: i % len(names)]
        for name in order:
            t = time.perf_counter()
            label[0] = f"round {i + 1}, {name}"
            units[name](work / f"r{i}")
            log(f"  {sc.name} round {i + 1}/{rounds}: {name} done in {time.perf_counter() - t:.1f} s")
            save()
    return oc
