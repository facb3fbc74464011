"""A service's, a group's and the platform's month, as frozen dataclasses.

Epoch minutes stay integers here (``slactl.model``); formatting them, and
rounding any figure, is the render layer's job.  ``None`` is a figure that
cannot be computed (no measured minute, no incident for an MTTR, no histogram).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from slactl.model import GroupKey
from slactl.sli.severity import Severity


@dataclass(frozen=True)
class Minutes:
    """The four minute counts that partition a month (after the ``no_data`` policy)."""

    total: int
    up: int
    down: int
    no_data: int
    excluded: int

    def as_dict(self) -> dict[str, int]:
        return {"total": self.total, "up": self.up, "down": self.down, "no_data": self.no_data, "excluded": self.excluded}


@dataclass(frozen=True)
class Incident:
    """A run of down minutes ``[start, end)`` (epoch minutes) and its severity by length."""

    start: int
    end: int
    severity: Severity

    @property
    def duration_minutes(self) -> int:
        return self.end - self.start


@dataclass(frozen=True)
class Uptime:
    """Uptime, minutes, incidents and MTTR: what a service, a group and the platform share."""

    uptime_percent: float | None
    minutes: Minutes
    incidents: tuple[Incident, ...]
    mttr_minutes: float | None

    @property
    def incident_count(self) -> int:
        return len(self.incidents)

    def by_severity(self) -> dict[str, int]:
        out = {"minor": 0, "major": 0, "critical": 0}
        for i in self.incidents:
            out[i.severity] += 1
        return out


@dataclass(frozen=True)
class Day:
    """One local calendar day of a service, for the daily bars."""

    date: str
    uptime_percent: float | None
    minutes: Minutes


@dataclass(frozen=True)
class Percentile:
    """An estimated percentile and the bucket ``[lower, upper]`` it was interpolated in."""

    value: float | None
    lower: float | None
    upper: float | None  # None: the +Inf bucket


@dataclass(frozen=True)
class TierVerdict:
    target: float
    met: bool | None


@dataclass(frozen=True)
class LatencyVerdict:
    """``met`` is the estimate's; ``certain`` says whether the whole bucket agrees."""

    target: float
    met: bool | None
    certain: bool | None


@dataclass(frozen=True)
class Throughput:
    """Requests per second from the ``total`` counter: the month's mean and its busiest minute."""

    mean_rps: float | None
    peak_rps: float | None
    peak_at: int | None  # epoch minute of the busiest minute


@dataclass(frozen=True)
class GroupMonth:
    """One ``group_by`` group of a service (e.g. one tenant) over the month."""

    labels: GroupKey
    uptime: Uptime

    @property
    def label(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.labels) or "all series"


@dataclass(frozen=True)
class ServiceMonth:
    """Everything the report says about one service in one month."""

    key: str
    name: str
    description: str | None
    group: str | None
    kind: str  # "ratio" | "probe"
    uptime: Uptime
    coverage_percent: float | None
    error_ratio: float | None
    latency: dict[str, Percentile] | None
    tiers: dict[str, TierVerdict]
    latency_targets: dict[str, LatencyVerdict] | None
    objective: float
    objective_source: str  # why this objective: explicit, or the highest tier of whom
    slice_threshold: float
    no_data_policy: str
    daily: tuple[Day, ...]
    groups: tuple[GroupMonth, ...] = ()
    throughput: Throughput | None = None


@dataclass(frozen=True)
class Summary:
    """A month's figures in the history table (SPEC 2.11): 4, 5 and 9 of one service or the platform."""

    uptime_percent: float | None
    minutes: Minutes
    incident_count: int
    mttr_minutes: float | None
    severity: dict[str, int]

    @classmethod
    def of(cls, u: Uptime) -> Summary:
        return cls(u.uptime_percent, u.minutes, u.incident_count, u.mttr_minutes, u.by_severity())


@dataclass(frozen=True)
class HistoryMonth:
    """One calendar month of the history; ``None`` where the store holds no minute of it."""

    month: str
    platform: Summary | None
    services: dict[str, Summary | None]


@dataclass(frozen=True)
class Company:
    """The issuer of statements: who sends them and with whom a customer disputes one."""

    name: str
    contact: str | None = None
    address: tuple[str, ...] = ()
    claim_days: int = 30
    locale: str = "en_US"  # how statements print money and numbers


@dataclass(frozen=True)
class MonthReport:
    """The monthly report: every service, the platform, and the months before it."""

    month: str
    timezone: str
    start: int  # epoch minute; the full calendar month even while it is running
    end: int
    complete: bool
    as_of: int | None  # last measured minute (exclusive) of a month still running
    company: Company
    services: dict[str, ServiceMonth]
    platform: Uptime | None
    platform_merge_gap: int
    severity_minutes: tuple[int, int]  # (major_minutes, critical_minutes) the severities used
    history: tuple[HistoryMonth, ...] = field(default_factory=tuple)
