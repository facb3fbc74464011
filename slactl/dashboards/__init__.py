"""Grafana dashboards generated from the config (grafanalib lives only in this package).

Generated from the same config as the reports and alerts so the two never drift;
:func:`slactl.dashboards.build.build_all` is the entry point.
"""
