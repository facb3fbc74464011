"""What each configuration key means, for the generated reference and the JSON Schema.

Keys are paths as written in ``slactl.yaml``, ``*`` standing for a name the
user chooses (a source, tier, service or customer) and ``[]`` for a list item.
Types and defaults are NOT written here: :mod:`slactl.config.reference` reads
them from the models, so the reference cannot disagree with what loads.
Each entry is ``(description, example)``; an empty example means "the default
is the example".  A key the models gain without an entry here makes the
reference test fail, naming the key.
"""

from __future__ import annotations

DOCS: dict[str, tuple[str, str]] = {
    # ------------------------------------------------------------------ top level
    "timezone": ("IANA time zone that cuts calendar months and reads maintenance times written without an offset.", "Europe/Berlin"),
    "store": ("SQLAlchemy URL of the per-minute store. A relative SQLite path is next to the config file; PostgreSQL (`postgresql+psycopg://…`) needs the `postgresql` extra.", "sqlite:///slactl.db"),
    "sources": ("Where metrics come from, by a name services refer to.", "{prom: {type: prometheus, url: \"http://127.0.0.1:9090\"}}"),
    "tiers": ("SLA tiers by name: the uptime promised and the credit owed below it.", "{standard: {uptime_target: 99.9}}"),
    "latency_targets_seconds": ("Latency targets judged for every service with a histogram, by percentile name (`p50`, `p95`, `p99.9`, …).", "{p50: 0.05, p95: 0.2, p99: 0.5}"),
    "services": ("What is measured, by service name (the name used in reports, alerts and dashboards).", "{api: {source: prom, availability: {...}}}"),
    "customers": ("Who is owed credits, by customer name (used in file names of statements).", "{acme: {tier: standard, monthly_fee: \"1000.00\", services: [api]}}"),
    "maintenance": ("Planned windows: their minutes are `excluded` from every figure.", "[{start: 2026-01-17T02:00:00Z, end: 2026-01-17T04:00:00Z}]"),
    "alerts": ("Options of the generated Prometheus alert rules.", "{runbook_base_url: https://runbooks.example.com/}"),
    "status_page": ("The public status page.", "{title: Generic Corp Status, days: 30}"),
    "dashboards": ("Options of the generated Grafana dashboards.", "{business: {active_users: app_active_users}}"),
    "schedule": ("What `slactl scheduler run` does and when.", "{ingest_every: 1m}"),
    "publish": ("Where the scheduler and `status-page publish` put what they make.", "{reports: {dir: /srv/sla}}"),
    "company": ("Who issues the credit statements and runs the status page.", "{name: Generic Corp, contact: billing@genericcorp.example}"),
    "incidents": ("How detected incidents are classified.", "{severity: {major_minutes: 30}}"),
    "report": ("Options of the monthly report.", "{history_months: 12}"),
    # ------------------------------------------------------------------ sources
    "sources.*.type": ("Which kind of source this is; the other keys depend on it.", "prometheus"),
    "sources.*.url": ("Base URL of a server of the Prometheus HTTP API (Prometheus, Thanos, Mimir, VictoriaMetrics).", "https://prometheus.example.com"),
    "sources.*.headers": ("Extra HTTP headers sent with every request (e.g. a tenant header for Mimir).", "{X-Scope-OrgID: team-a}"),
    "sources.*.bearer_token_env": ("Name of an environment variable holding a bearer token.", "PROM_TOKEN"),
    "sources.*.basic_auth": ("HTTP basic authentication.", "{username: slactl, password_env: PROM_PASSWORD}"),
    "sources.*.basic_auth.username": ("User name for basic authentication.", "slactl"),
    "sources.*.basic_auth.password_env": ("Name of an environment variable holding the password.", "PROM_PASSWORD"),
    "sources.*.verify_tls": ("Check the server's TLS certificate: `true`, `false`, or the path of a CA bundle.", "ca.pem"),
    "sources.*.timeout_seconds": ("Time one HTTP request may take in all, from connecting to the answer's last byte, so a server trickling its answer is cut off too (then retried, see `retries`).", "60"),
    "sources.*.max_concurrency": ("Requests in flight at once to this server.", "4"),
    "sources.*.chunk_minutes": ("Points per series in one `query_range` request (Prometheus refuses more than 11,000); fewer when a request reads many series.", "1440"),
    "sources.*.retries": ("Retries (with exponential backoff) on timeouts, connection errors, 429 and 5xx answers.", "5"),
    "sources.*.range_semantics": ("Whether range selectors include their left edge: `auto` asks the server once; `closed` is Prometheus 2.x, `left_open` 3.x.", "left_open"),
    "sources.*.counter_lookback_days": ("How far before a pulled range to look for a counter's last sample.", "7"),
    "sources.*.settle_seconds": ("A minute is pulled once it ended this long ago (scrape and remote-write delay).", "120"),
    "sources.*.max_response_bytes": ("The most bytes one answer may hold, counted after decompression while it streams in (all answers in flight together: twice that); more fails the pull. The planner asks for about a million points (20-31 MiB of JSON) per answer.", "536870912"),
    "sources.*.late_window_minutes": ("Minutes stored without data are pulled again while younger than this (late remote-write samples); 0 turns it off.", "180"),
    "sources.*.region": ("AWS region of the CloudWatch metrics.", "eu-west-1"),
    "sources.*.endpoint_url": ("An AWS-compatible endpoint instead of AWS's own.", "http://127.0.0.1:4566"),
    "sources.*.profile": ("Named profile of the AWS credentials file (default: the standard credential chain).", "billing"),
    "sources.*.seed": ("Seed of the built-in sample data (the demo's source).", "42"),
    # ------------------------------------------------------------------ tiers
    "tiers.*.uptime_target": ("Monthly uptime percent promised; a service meets the tier when its uptime is at least this.", "99.95"),
    "tiers.*.credits": ("Credit rows: the row with the smallest `below` above the measured uptime applies.", "[{below: 99.9, percent: 10}]"),
    "tiers.*.credits[].below": ("Uptime percent under which this row applies.", "99.0"),
    "tiers.*.credits[].percent": ("Credit as a percent of the monthly fee.", "25"),
    # ------------------------------------------------------------------ services
    "services.*.name": ("Display name on reports, statements and the status page (default: the service's key).", "Public API"),
    "services.*.description": ("One line shown on the status page.", "REST and GraphQL endpoints"),
    "services.*.group": ("Status page component group.", "Platform"),
    "services.*.source": ("Name of the source this service is read from.", "prom"),
    "services.*.slice_threshold": ("A minute is down when its good ratio is below this.", "0.99"),
    "services.*.no_data": ("What a minute without data counts as: `ignore` (left out of uptime), `up` or `down`.", "down"),
    "services.*.incident_merge_gap_minutes": ("Runs of down minutes separated by at most this many other minutes are one incident.", "5"),
    "services.*.availability": ("How a minute's good ratio is measured: `errors` and `total` (ratio form) or `probe`.", "{probe: 'up{job=\"api\"}'}"),
    "services.*.availability.errors": ("Counter of failed requests (ratio form): a PromQL selector, or a CloudWatch metric spec.", "http_requests_total{job=\"api\",code=~\"5..\"}"),
    "services.*.availability.total": ("Counter of all requests (ratio form): a PromQL selector, or a CloudWatch metric spec.", "http_requests_total{job=\"api\"}"),
    "services.*.availability.probe": ("A 0/1 gauge such as `probe_success` (probe form): a PromQL selector, or a CloudWatch metric spec.", "probe_success{job=\"blackbox\",instance=\"https://example.com\"}"),
    "services.*.latency": ("Latency percentiles from a histogram.", "{histogram: 'http_request_duration_seconds_bucket{job=\"api\"}'}"),
    "services.*.latency.histogram": ("Selector of a classic Prometheus histogram's `_bucket` series.", "http_request_duration_seconds_bucket{job=\"api\"}"),
    "services.*.latency.metric": ("CloudWatch latency metric: per-minute buckets are built from its percentile-rank statistics (see docs/cloudwatch.md).", "{namespace: AWS/ApplicationELB, metric: TargetResponseTime}"),
    "services.*.latency.buckets": ("CloudWatch latency: upper bounds in seconds the metric is cut into (the Prometheus client defaults when unset).", "[0.05, 0.1, 0.25, 0.5, 1, 2.5]"),
    "services.*.latency.unit": ("CloudWatch latency: the unit the metric is published in.", "Milliseconds"),
    "services.*.group_by": ("Labels that split the service per customer; customers pick their series with `match`. Prometheus label names (`[a-zA-Z_][a-zA-Z0-9_]*`), not `le` and not starting with `__`.", "[tenant]"),
    "services.*.objective": ("Uptime percent the burn-rate alerts protect (default: the highest tier of the customers using the service, else 99.9).", "99.95"),
    # ------------------------------------------------------------------ metric spec
    "metric_spec.namespace": ("CloudWatch namespace.", "AWS/ApplicationELB"),
    "metric_spec.metric": ("CloudWatch metric name.", "HTTPCode_Target_5XX_Count"),
    "metric_spec.dimensions": ("Dimensions selecting the metric.", "{LoadBalancer: app/web/50dc6c495c0c9188}"),
    "metric_spec.stat": ("Statistic read at 60-second resolution.", "Minimum"),
    "metric_spec.up_when_at_least": ("Probe form: the minute is up when the statistic is at least this (default 1).", "1"),
    # ------------------------------------------------------------------ customers
    "customers.*.name": ("Legal name on statements (default: the customer's key).", "ACME Corporation"),
    "customers.*.contact": ("Where statements go.", "ap@acme.example"),
    "customers.*.tier": ("Name of the customer's tier.", "enterprise"),
    "customers.*.monthly_fee": ("Monthly fee the credit percent applies to, as a decimal string.", "\"12000.00\""),
    "customers.*.currency": ("Currency of the fee and the credit.", "EUR"),
    "customers.*.services": ("Services covered by the customer's SLA.", "[api, web]"),
    "customers.*.match": ("Label values picking the customer's series where a service has `group_by`.", "{tenant: acme}"),
    # ------------------------------------------------------------------ maintenance
    "maintenance[].start": ("Start of the window (ISO 8601; without an offset: the config's time zone).", "2026-01-17T02:00:00Z"),
    "maintenance[].end": ("End of the window, exclusive.", "2026-01-17T04:00:00Z"),
    "maintenance[].services": ("Services the window covers (omitted: every service).", "[db]"),
    "maintenance[].reason": ("Why; shown on statements, the status page and silences.", "Database engine upgrade"),
    # ------------------------------------------------------------------ alerts
    "alerts.infrastructure": ("Also generate the threshold pack (node_exporter, postgres_exporter, blackbox rules).", "false"),
    "alerts.burn_on": ("What ErrorBudgetBurn measures: `minutes` (share of down minutes, the SLA's unit) or `requests` (error ratio).", "requests"),
    "alerts.metric_names": ("Exporter metrics under other names in your Prometheus: standard name → your name, for the threshold pack and the platform dashboards.", "{node_load1: host_load1}"),
    "alerts.runbook_base_url": ("Base of each alert's `runbook_url` annotation (`<base>/<AlertName>`).", "https://runbooks.example.com/slactl/"),
    # ------------------------------------------------------------------ company, incidents, report
    "company.name": ("Name of the issuer on statements.", "Generic Corp"),
    "company.address": ("Address lines on statements.", "[\"1 Main St\", \"Springfield\"]"),
    "company.locale": ("Locale for money and dates on statements (grouping, symbol, order), e.g. de_DE prints 1.200,50 €.", "en_US"),
    "company.contact": ("Where customers dispute a statement.", "billing@genericcorp.example"),
    "company.claim_days": ("Days after its date during which a statement may be disputed.", "45"),
    "incidents.severity": ("Duration thresholds of incident severities.", "{major_minutes: 15, critical_minutes: 60}"),
    "incidents.severity.major_minutes": ("An incident this long or longer is `major` (shorter: `minor`).", "10"),
    "incidents.severity.critical_minutes": ("An incident this long or longer is `critical`.", "120"),
    "report.history_months": ("Months before the reported one shown in its history.", "12"),
    "report.pdf": ("Also write report-YYYY-MM.pdf (off by default: the PDF's layout costs more than the rest of the report).", "true"),
    # ------------------------------------------------------------------ status page
    "status_page.title": ("Title of the page.", "Generic Corp Status"),
    "status_page.url": ("Public address of the page (http or https): `page.url` in summary.json and the base of incident links.", "https://status.example.com/"),
    "status_page.incidents_dir": ("Folder of hand-written incident posts (Markdown with YAML front matter).", "incidents"),
    "status_page.days": ("Days of history shown as bars.", "30"),
    # ------------------------------------------------------------------ dashboards
    "dashboards.metric_names": ("Like `alerts.metric_names`, for the dashboards only; entries here win.", "{pg_up: postgres_up}"),
    "dashboards.business": ("Selectors of the Business Metrics dashboard.", "{active_users: app_active_users}"),
    "dashboards.business.active_users": ("Gauge of active users.", "active_users{env=\"prod\"}"),
    "dashboards.business.tasks_created": ("Counter of created tasks.", "tasks_created_total"),
    "dashboards.business.websocket_connections": ("Gauge of open websocket connections.", "websocket_connections"),
    # ------------------------------------------------------------------ schedule
    "schedule.ingest_every": ("How often new minutes are pulled into the store (`30s`, `5m`, `1h30m`).", "1m"),
    "schedule.status_page_every": ("How often the status page is rebuilt and published.", "2m"),
    "schedule.monthly_close": ("Cron expression (in `timezone`) of the monthly report and credits for the month just ended.", "\"0 6 1 * *\""),
    "schedule.metrics_listen": ("Address of slactl's own `/metrics` and `/healthz`.", "0.0.0.0:9464"),
    "schedule.pull_timeout": ("How long each job's pull from the sources may take in all (the scheduler's `--timeout`): an ingest, a status page refresh, the monthly close's report and its credits each; a job that runs out fails with one line and the schedule goes on.", "10m"),
    # ------------------------------------------------------------------ publish
    "publish.status_page": ("Where the status page goes: `dir` or `s3`.", "{s3: {bucket: status-example, prefix: status/}}"),
    "publish.reports": ("Where the monthly close puts reports and credits: `dir` or `s3`.", "{dir: /srv/sla/reports}"),
    "publish.*.dir": ("A folder (relative: next to the config file).", "public"),
    "publish.*.s3": ("An S3 bucket (credentials from the standard AWS chain).", "{bucket: status-example}"),
    "publish.*.s3.bucket": ("Bucket name.", "status-example"),
    "publish.*.s3.prefix": ("Key prefix inside the bucket.", "status/"),
    "publish.*.s3.region": ("Region of the bucket.", "eu-central-1"),
    "publish.*.s3.endpoint_url": ("An S3-compatible endpoint instead of AWS's own.", "http://127.0.0.1:9000"),
}
