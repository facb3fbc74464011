"""Exact per-minute increases of every series a counter selector reads, in few queries.

One selector here is usually the union of many services' selectors (see
:mod:`slactl.sources.prometheus.plan`), so each query below answers all of them: the
last sample of every minute, a sparse flag query marking the minutes where a
restart may hide, the last sample before the range (the baseline), and raw
samples only for the minutes that need them, one query per such minute for all
series at once.  The arithmetic is :mod:`slactl.sli.counters`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from slactl.sli import counters
from slactl.sources.prometheus.client import EVAL_OFFSET_S, PromAPI, Semantics, gather, window
from slactl.sources.prometheus.matrix import LabelKey, label_key


@dataclass
class CounterAnswer:
    """One counter series over the pulled minutes."""

    labels: dict[str, str]
    increases: np.ndarray  # float64 per minute, 0 where the minute had no sample
    present: np.ndarray  # bool per minute: the series had a sample in it


async def pull_counter(
    api: PromAPI, sem: Semantics, selector: str, start: int, end: int, ctx: str
) -> dict[LabelKey, CounterAnswer]:
    """Per-series per-minute increases of ``selector`` over the minutes ``[start, end)``."""
    w = window(sem, 60)
    # A reset hides from the minute's last value when the counter drops between two
    # samples of the minute, or between the previous minute's last sample and this
    # minute's first.  ``resets`` over the minute and the one before sees both (and
    # drops inside the previous minute too, which costs only a raw read): a fifth
    # of what comparing ``min_over_time`` with an hour's lookback cost the server.
    # Longer gaps are left to counters.minutes_needing_raw.
    flag_expr = f"resets({selector}{window(sem, 60 * (counters.FLAG_LOOKBACK_MINUTES + 1))}) > 0"
    before = start * 60 - 0.001  # the last millisecond before the first minute
    dense, flagged, recent = await gather(
        api.range_dense(f"last_over_time({selector}{w})", start, end, ctx),
        api.range_minutes(flag_expr, start, end, ctx),
        api.instant(f"last_over_time({selector}{w})", before, ctx),  # the minute before the range
    )
    baselines: dict[LabelKey, tuple[float, int | None]] = {}
    for item in recent:
        baselines[label_key(item.labels)] = (item.values[0], 1)
    if any(k not in baselines for k in dense):
        far = f"[{api.cfg.counter_lookback_days}d]"
        for item in await api.instant(f"last_over_time({selector}{far})", before, ctx):
            baselines.setdefault(label_key(item.labels), (item.values[0], None))

    flags: dict[LabelKey, dict[int, float]] = {}
    need: dict[int, list[LabelKey]] = defaultdict(list)
    for key, d in dense.items():
        f = flagged.get(key)
        flags[key] = (
            {int(m - start): float(v) for m, v in zip(f.minutes, f.values, strict=True)}
            if f
            else {}
        )
        base, age = baselines.get(key, (None, None))
        for i in counters.minutes_needing_raw(d.values, base, age, flags[key]):
            need[i].append(key)

    raw: dict[LabelKey, dict[int, list[float]]] = defaultdict(dict)
    if need:
        minutes = sorted(need)
        answers = await gather(
            *(api.instant(f"{selector}{w}", (start + i) * 60 + EVAL_OFFSET_S, ctx) for i in minutes)
        )
        for i, result in zip(minutes, answers, strict=True):
            wanted = set(need[i])
            for item in result:
                key = label_key(item.labels)
                if key in wanted:
                    raw[key][i] = item.values

    out: dict[LabelKey, CounterAnswer] = {}
    for key in list(dense):
        d = dense.pop(key)  # each series' last values go as soon as its increases exist
        base = baselines.get(key, (None, None))[0]
        inc = counters.increases(d.values, base, flags[key], raw.get(key, {}))
        out[key] = CounterAnswer(dict(d.labels), inc, ~np.isnan(d.values))
    return out
