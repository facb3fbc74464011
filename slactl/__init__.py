"""slactl: prove every month what you promised your customers.

Pulls per-minute SLI data from Prometheus-API servers (and other sources) into a
store, computes uptime, incidents, MTTR, error ratio and latency percentiles
against SLA tiers, and renders the reports.
"""

__version__ = "0.1.0"
