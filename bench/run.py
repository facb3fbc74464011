"""slactl's benchmark: honest ratios, everything measured in the same run.

Run ``make bench`` (or ``.venv/bin/python bench/run.py``). For each scenario (10,
200 and 2,000 series for a month; 200 series for 12 months) it backfills
generated data into a TSDB (cached under ``bench/.cache/``), starts a real
``prometheus`` on 127.0.0.1 over it and measures, interleaved, for ``--rounds``
rounds (median reported):

* the floor: a bare client fetching each metric name once per range function
  for the whole period (``floor.py``);
* ``slactl report monthly`` cold (fresh store) and warm (filled store), then
  ``slactl credits`` and ``slactl status-page build`` on the filled store, and
  ingest alone on another fresh store, each a process of its own, with its
  peak RSS (``runner.py``);
* the script a user would otherwise write, prometheus-api-client and pandas
  (``user_script.py``), whose uptimes are checked against slactl's report.

Writes the tables to ``bench/results.md`` and the plot to ``docs/benchmark.png``
and prints both tables. The exit code is 0 whether targets pass or fail: a
benchmark reports, it does not gate; it is 1 when a step fails to run.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(ROOT / "tests"))

import runner  # noqa: E402
from datagen import ensure_tsdb  # noqa: E402
from kits.prometheus import PrometheusServer, missing_binaries  # noqa: E402
from results import markdown, plot  # noqa: E402
from runner import UNITS, Outcome, StepFailed, run_rounds  # noqa: E402
from scenarios import QUICK, SCENARIOS  # noqa: E402


def _log(msg: str) -> None:
    print(msg, flush=True)


def _prometheus_version() -> str:
    try:
        out = subprocess.run(["prometheus", "--version"], capture_output=True, text=True, timeout=30)
    except OSError:
        return "?"
    first = (out.stdout or out.stderr).splitlines()
    return first[0].split("version ")[-1].split(" ")[0] if first else "?"


def _machine_cpu_s() -> float:
    """CPU seconds every process of the machine has used so far (non-idle time in /proc/stat)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:9]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields)
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _proc_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _own_cpu_s() -> float:
    """CPU seconds of the bench and every child it has waited for."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds per scenario (default 3)")
    ap.add_argument("--quick", action="store_true", help="smoke run: 10 and 200 series, 1 round")
    ap.add_argument("--scenarios", nargs="+", choices=list(SCENARIOS), help="run only these")
    ap.add_argument("--steps", nargs="+", choices=UNITS, default=list(UNITS),
                    help="what to measure, in this order in the first round (default: all)")  # fmt: skip
    ap.add_argument("--regenerate", action="store_true", help="ignore the cached TSDBs")
    ap.add_argument("--json", type=Path, default=BENCH / "results.json", help="raw samples of this run")
    ap.add_argument("--from", dest="merge", type=Path, nargs="+", metavar="JSON",
                    help="measure nothing: tables and plot from the raw samples of earlier runs")  # fmt: skip
    ap.add_argument("--header", nargs="+", help="with --from: these lines instead of the runs' own headers")
    ap.add_argument("--keep", action="store_true", help="keep the work files in bench/.cache/work")
    ap.add_argument("--out", type=Path, default=BENCH / "results.md", help="Markdown results file")
    ap.add_argument("--plot", default=str(ROOT / "docs" / "benchmark.png"), help="plot file ('' for none)")
    args = ap.parse_args(argv)
    names = args.scenarios or (list(QUICK) if args.quick else list(SCENARIOS))
    rounds = 1 if args.quick and args.rounds == 3 else args.rounds

    if args.merge:
        raw = [oc for path in args.merge for oc in json.loads(path.read_text())["outcomes"]]
        merged: dict[str, Outcome] = {}
        for r in raw:
            oc = Outcome.from_json(r)
            if oc.scenario.name in merged:
                merged[oc.scenario.name].merge(oc)
            else:
                merged[oc.scenario.name] = oc
        outcomes = [merged[n] for n in SCENARIOS if n in merged]
        headers = args.header or [h for path in args.merge for h in json.loads(path.read_text())["header"]]
        if args.json.resolve() not in {p.resolve() for p in args.merge}:
            args.json.write_text(json.dumps({"header": headers, "outcomes": [oc.to_json() for oc in outcomes]}, indent=1))
        return _write(outcomes, headers, args, rounds=max(len(oc.samples.get("cold", [])) for oc in outcomes))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so Prometheus is stopped on the way out
    missing = missing_binaries()
    if missing:
        print(f"bench: {', '.join(missing)} not on PATH (run `make debs`)", file=sys.stderr)
        return 1
    t_all = time.perf_counter()
    outcomes: list[Outcome] = []
    with tempfile.TemporaryDirectory(prefix="slactl-bench-") as tmp_s:
        tmp = BENCH / ".cache" / "work" if args.keep else Path(tmp_s)
        for name in names:
            sc = SCENARIOS[name]
            tsdb = ensure_tsdb(sc, args.regenerate, log=_log)
            t = time.perf_counter()
            # A longer query timeout than the default 2 minutes: the floor's chunks are as large as
            # Prometheus allows, and a shared machine can be slow (a timed-out chunk is split anyway).
            server = PrometheusServer(tsdb, workdir=tmp / name / "prom", startup_timeout=300,
                                      extra_args=["--query.timeout=10m"])  # fmt: skip
            with server as prom:
                _log(f"{name}: {sc.describe()}, prometheus {prom.url} ready in {time.perf_counter() - t:.1f} s")
                pid = prom._proc.pid  # type: ignore[union-attr]  # read only, for its CPU time
                runner.SERVER["pid"] = pid
                cpu0 = (_machine_cpu_s(), _proc_cpu_s(pid), _own_cpu_s())
                try:
                    oc = run_rounds(sc, prom.url, tmp / name, rounds, log=_log, units_wanted=args.steps)
                except StepFailed as exc:
                    print(f"bench: {name}: {exc}", file=sys.stderr)
                    return 1
                machine, server, own = (b - a for a, b in zip(cpu0, (_machine_cpu_s(), _proc_cpu_s(pid), _own_cpu_s()), strict=True))
                oc.noise = (f"CPU-s used meanwhile: bench and its processes {own:.0f}, Prometheus {server:.0f}, "
                            f"other processes {max(0.0, machine - own - server):.0f} "
                            f"(of {oc.wall_s * (os.cpu_count() or 1):.0f} available)")  # fmt: skip
                outcomes.append(oc)
            _log(f"{name}: done in {time.perf_counter() - t:.0f} s")
    total = time.perf_counter() - t_all
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    header = [
        f"Measured {stamp} ({', '.join(names)}): {rounds} round(s) per scenario, {os.cpu_count()} CPUs, "
        f"Prometheus {_prometheus_version()} on the same machine, bench total {total:.0f} s.",
    ]
    args.json.write_text(json.dumps({"header": header, "outcomes": [oc.to_json() for oc in outcomes]}, indent=1))
    return _write(outcomes, header, args, rounds)


def _write(outcomes: list[Outcome], header: list[str], args: argparse.Namespace, rounds: int) -> int:
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    text = markdown(outcomes, header)
    args.out.write_text(text)
    print()
    print(text)
    if args.plot:
        plot(outcomes, Path(args.plot), f"slactl benchmark, {stamp}, median of {rounds} round(s)")
        _log(f"plot: {args.plot}")
    _log(f"results: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
