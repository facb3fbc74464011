"""Turn the outcomes into Markdown tables, target verdicts and a matplotlib plot."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

from runner import Outcome
from scenarios import SCENARIOS

GB = 1024.0  # MB


def _s(x: float) -> str:
    if math.isnan(x):
        return "–"
    return f"{x:.2f}" if x < 10 else f"{x:.1f}" if x < 100 else f"{x:.0f}"


def _x(x: float) -> str:
    return "–" if math.isnan(x) else f"{x:.2f}×" if x < 10 else f"{x:.1f}×"


def _mb(x: float) -> str:
    return "–" if math.isnan(x) else f"{x:,.0f}"


def time_table(ocs: list[Outcome]) -> list[str]:
    rows = ["| scenario | floor | slactl cold | cold / floor | warm | ingest | credits | status page "
            "| script | script / cold |",  # fmt: skip
            "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|"]
    for oc in ocs:
        m = oc.median
        rows.append(
            f"| {oc.scenario.describe()} | {_s(m('floor'))} | {_s(m('cold'))} | {_x(m('cold') / m('floor'))} "
            f"| {_s(m('warm'))} | {_s(m('ingest'))} | {_s(m('credits'))} | {_s(m('status'))} "
            f"| {_s(m('script'))} | {_x(m('script') / m('cold'))} |"
        )
    return rows


def rss_table(ocs: list[Outcome]) -> list[str]:
    rows = ["| scenario | ingest | report cold | report warm | credits | status page | script |",
            "|---|--:|--:|--:|--:|--:|--:|"]  # fmt: skip
    for oc in ocs:
        cells = " | ".join(_mb(oc.rss(k)) for k in ("ingest", "cold", "warm", "credits", "status", "script"))
        rows.append(f"| {oc.scenario.describe()} | {cells} |")
    return rows


def cpu_table(ocs: list[Outcome]) -> list[str]:
    steps = ("floor", "cold", "warm", "ingest", "credits", "status", "script")
    rows = ["| scenario | " + " | ".join(steps) + " |", "|---" + "|--:" * len(steps) + "|"]
    for oc in ocs:
        cells = []
        for k in steps:
            own, srv = oc.cpu(k)
            cells.append("–" if math.isnan(own) else f"{_s(own)} + {_s(srv)}")
        rows.append(f"| {oc.scenario.describe()} | " + " | ".join(cells) + " |")
    return rows


def growth_table(by: dict[str, Outcome]) -> list[str]:
    steps = ("floor", "cold", "warm", "ingest", "script")
    rows = ["| growth | " + " | ".join(steps) + " |", "|---" + "|--:" * len(steps) + "|"]
    for label, big, small in (("2,000 / 200 series", "s2000", "s200"), ("200 / 10 series", "s200", "s10"),
                              ("12 months / 1 month (200 series)", "s200x12", "s200")):  # fmt: skip
        if big in by and small in by:
            cells = " | ".join(_x(by[big].median(k) / by[small].median(k)) for k in steps)
            rows.append(f"| {label} | {cells} |")
    return rows


def targets(by: dict[str, Outcome]) -> list[tuple[str, str, bool | None]]:
    """(target, measured, passed) — ``None`` when the scenario it needs was not run."""
    out: list[tuple[str, str, bool | None]] = []

    def need(name: str, label: str, fn: Callable[[Outcome], tuple[str, bool]]) -> None:
        if name not in by:
            out.append((label, "not run", None))
            return
        measured, ok = fn(by[name])
        missing = "–" in measured  # a step that was not measured
        out.append((label, "not measured" if missing else measured, None if missing else ok))

    for name, series in (("s200", "200"), ("s2000", "2,000")):
        def cold_vs_floor(oc: Outcome) -> tuple[str, bool]:
            cold, floor = oc.median("cold"), oc.median("floor")
            limit = 1.5 * floor + 2
            return f"{_s(cold)} s vs limit {_s(limit)} s ({_x(cold / floor)} floor)", cold <= limit

        need(name, f"cold ≤ 1.5× floor + 2 s, {series} series", cold_vs_floor)
    need("s2000", "warm report < 10 s, 2,000 series", lambda oc: (f"{_s(oc.median('warm'))} s", oc.median("warm") < 10))

    def rss(oc: Outcome) -> tuple[str, bool]:
        peaks = [oc.rss(k) for k in ("ingest", "cold", "warm", "credits", "status")]
        peak = max((x for x in peaks if not math.isnan(x)), default=math.nan)
        return f"{_mb(peak)} MB", peak < 1.5 * GB

    need("s2000", "peak RSS < 1.5 GB, 2,000 series", rss)
    for name in ("s200", "s2000", "s200x12"):
        def vs_script(oc: Outcome) -> tuple[str, bool]:
            ratio = oc.median("script") / oc.median("cold")
            return f"script {_s(oc.median('script'))} s / cold {_s(oc.median('cold'))} s = {_x(ratio)}", ratio >= 3

        need(name, f"≥ 3× faster than the script, {SCENARIOS[name].describe()}", vs_script)
    ratio = by["s2000"].median("cold") / by["s200"].median("cold") if "s2000" in by and "s200" in by else math.nan
    if not math.isnan(ratio):
        out.append(("2,000 series ≤ 12× the 200-series time (cold)", _x(ratio), ratio <= 12))
    else:
        out.append(("2,000 series ≤ 12× the 200-series time (cold)", "not run", None))
    return out


def target_table(by: dict[str, Outcome]) -> list[str]:
    rows = ["| target | measured | result |", "|---|---|---|"]
    for label, measured, ok in targets(by):
        rows.append(f"| {label} | {measured} | {'–' if ok is None else 'PASS' if ok else 'FAIL'} |")
    return rows


def checks(ocs: list[Outcome]) -> list[str]:
    lines = []
    for oc in ocs:
        fl = oc.floors[0] if oc.floors else None
        floor = (f"floor {fl.requests} requests, {fl.body_bytes / 1e6:.1f} MB read "
                 f"({fl.wire_bytes / 1e6:.1f} MB on the wire), {fl.splits} chunks split; summed request time by "
                 "function: " + ", ".join(f"{k} {v:.1f} s" for k, v in sorted(fl.busy_s.items()))) if fl else "no floor"  # fmt: skip
        lines.append(
            f"- {oc.scenario.describe()}: script uptimes vs slactl's report: {'; '.join(oc.uptimes_equal) or '–'}; "
            f"warm report same as cold: {all(oc.warm_same) if oc.warm_same else '–'}; {floor}; "
            f"bench time {oc.wall_s:.0f} s" + (f"; {oc.noise}" if oc.noise else "")
        )
    return lines


def markdown(ocs: list[Outcome], header: list[str]) -> str:
    by = {oc.scenario.name: oc for oc in ocs}
    parts = [
        *header,
        "",
        "Wall time, seconds (median of the rounds; each slactl step is one process per month):",
        "",
        *time_table(ocs),
        "",
        "Peak RSS, MB (the largest of the rounds; each process on its own):",
        "",
        *rss_table(ocs),
        "",
        "CPU seconds, the step's own process + Prometheus meanwhile (median; the work done, which a busy "
        "machine inflates far less than the wall time; the floor's client is the benchmark process):",
        "",
        *cpu_table(ocs),
        "",
        "How time grows:",
        "",
        *growth_table(by),
        "",
        "Targets:",
        "",
        *target_table(by),
        "",
        "Checks:",
        "",
        *checks(ocs),
    ]
    return "\n".join(parts) + "\n"


def plot(ocs: list[Outcome], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = [("floor", "floor"), ("cold", "slactl cold"), ("warm", "slactl warm"), ("ingest", "ingest"),
             ("script", "pandas script")]  # fmt: skip
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.6), gridspec_kw={"width_ratios": [3, 2]})
    width = 0.8 / len(steps)
    xs = range(len(ocs))
    for k, (step, label) in enumerate(steps):
        ys = [oc.median(step) for oc in ocs]
        left.bar([x + (k - len(steps) / 2 + 0.5) * width for x in xs], ys, width, label=label)
    left.set_yscale("log")
    left.set_ylabel("wall time, s (log scale)")
    left.set_xticks(list(xs), [oc.scenario.describe().replace(", ", "\n") for oc in ocs], fontsize=8)
    left.legend(fontsize=8)
    left.grid(axis="y", alpha=0.3)
    rss_steps = [("ingest", "ingest"), ("cold", "report"), ("credits", "credits"), ("status", "status page"),
                 ("script", "pandas script")]  # fmt: skip
    width = 0.8 / len(rss_steps)
    for k, (step, label) in enumerate(rss_steps):
        ys = [oc.rss(step) for oc in ocs]
        right.bar([x + (k - len(rss_steps) / 2 + 0.5) * width for x in xs], ys, width, label=label)
    right.axhline(1.5 * GB, color="red", linestyle="--", linewidth=1, label="1.5 GB target")
    right.set_ylabel("peak RSS, MB")
    right.set_xticks(list(xs), [oc.scenario.describe().replace(", ", "\n") for oc in ocs], fontsize=8)
    right.legend(fontsize=8)
    right.grid(axis="y", alpha=0.3)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, metadata={"Software": None})
    plt.close(fig)
