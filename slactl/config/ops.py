"""Where slactl reads from and how it runs: sources, the schedule and the publish targets.

Kept apart from :mod:`slactl.config.models` so each module stays readable; the
strict base and the shared value rules (URLs, durations) are in :mod:`slactl.config.values`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from slactl import durations
from slactl.config.values import Cron, Duration, HttpUrl, Listen, Strict, split_listen

# --------------------------------------------------------------------------- sources


class BasicAuth(Strict):
    username: str
    password_env: str


class PrometheusSource(Strict):
    """Any server of the Prometheus HTTP API: Prometheus, Thanos, Mimir, VictoriaMetrics."""

    type: Literal["prometheus"]
    url: HttpUrl
    headers: dict[str, str] = Field(default_factory=dict)
    bearer_token_env: str | None = None
    basic_auth: BasicAuth | None = None
    verify_tls: bool | str = True
    timeout_seconds: float = Field(30.0, gt=0)
    # Extensions beyond the SPEC, with defaults that suit a stock Prometheus.
    max_concurrency: int = Field(8, ge=1, le=64)
    chunk_minutes: int = Field(10_000, ge=60, le=10_000)
    retries: int = Field(3, ge=0, le=10)
    range_semantics: Literal["auto", "left_open", "closed"] = "auto"
    # How far back to look for a counter's last sample before a pulled range; a
    # series with none that recent starts from zero (bounded to spare the server).
    counter_lookback_days: int = Field(31, ge=1, le=3660)
    # A minute is pulled once it ended this long ago (scrape and remote-write delay).
    settle_seconds: int = Field(120, ge=0, le=86_400)
    # Minutes stored without data are pulled again while they are younger than
    # this: remote-write backends (Mimir, Thanos Receive, VictoriaMetrics) can
    # show samples late.  0 turns it off.
    late_window_minutes: int = Field(180, ge=0, le=10_080)
    # The most bytes one answer may hold (all answers in flight together: twice that),
    # so a broken or hostile server cannot fill the memory.  The planner asks for
    # about a million points (20-31 MiB of JSON) per answer.
    max_response_bytes: int = Field(256 * 2**20, ge=2**16)

    @field_validator("url")
    @classmethod
    def _no_trailing_slash(cls, v: str) -> str:
        return v.rstrip("/")


class CloudWatchSource(Strict):
    type: Literal["cloudwatch"]
    region: str
    endpoint_url: HttpUrl | None = None
    profile: str | None = None


class SampleSource(Strict):
    """Built-in generated data: the embedded default that needs no server."""

    type: Literal["sample"]
    seed: int = 0


SourceConfig = Annotated[
    PrometheusSource | CloudWatchSource | SampleSource, Field(discriminator="type")
]

# --------------------------------------------------------------------------- schedule and publish


class Schedule(Strict):
    """``slactl scheduler run``'s timings, checked on load so ``slactl validate`` catches them."""

    ingest_every: Duration = "5m"
    status_page_every: Duration = "5m"
    monthly_close: Cron = "0 2 1 * *"  # 5-field crontab in ``timezone``
    metrics_listen: Listen = "127.0.0.1:9464"
    # What `report --timeout` is to a command: a job's whole pull from the sources.
    pull_timeout: Duration = "5m"

    @property
    def ingest_seconds(self) -> int:
        return durations.seconds(self.ingest_every)

    @property
    def pull_seconds(self) -> int:
        return durations.seconds(self.pull_timeout)

    @property
    def status_page_seconds(self) -> int:
        return durations.seconds(self.status_page_every)

    @property
    def listen(self) -> tuple[str, int]:
        return split_listen(self.metrics_listen)


class S3Target(Strict):
    bucket: str
    prefix: str = ""
    region: str | None = None
    endpoint_url: HttpUrl | None = None


class PublishTarget(Strict):
    dir: str | None = None
    s3: S3Target | None = None

    @model_validator(mode="after")
    def _one(self) -> PublishTarget:
        if (self.dir is None) == (self.s3 is None):
            raise ValueError("give exactly one of dir or s3")
        return self


class Publish(Strict):
    status_page: PublishTarget = PublishTarget(dir="public")
    reports: PublishTarget = PublishTarget(dir="reports")
