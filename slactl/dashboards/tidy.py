"""Clean grafanalib's JSON into Grafana's current dashboard model.

grafanalib still writes keys of the pre-5.0 dashboard model (``rows``,
``hideControls``, ``sharedCrosshair``, ``style``, per-panel ``span``/``height``)
and ``null`` for every optional setting it was not given.  Grafana migrates both
away on import, but Grafana's published JSON schema for dashboards rejects them,
so a file checked with that schema (in CI, by a provisioning linter, by the
foundation SDK) fails even though Grafana would load it.  Rather than re-implement
the panels grafanalib builds, this one step runs on its output before it is
written: it removes the legacy keys and the nulls, and fills the two keys the
schema requires that grafanalib leaves out.  It changes nothing Grafana reads.
"""

from __future__ import annotations

from typing import Any

# Top-level keys of the old dashboard model; Grafana ignores or migrates them.
LEGACY_DASHBOARD_KEYS = ("__inputs", "rows", "hideControls", "sharedCrosshair", "style")
# Per-panel keys of the old row/span layout (gridPos replaced them).
LEGACY_PANEL_KEYS = ("editable", "error", "height", "minSpan", "span")
# Template keys of the removed tag-based variables.
LEGACY_VARIABLE_KEYS = ("tagValuesQuery", "tagsQuery", "useTags")
# The only keys a row panel has in the current model.
ROW_KEYS = ("type", "collapsed", "title", "datasource", "gridPos", "id", "panels", "repeat")
# Where ``null`` means something: a threshold base step (-Infinity) and a new dashboard's id.
NULL_KEEPING_KEYS = ("value", "id")


def _drop_nulls(node: Any) -> Any:
    """``node`` without dict entries whose value is None (except the meaningful ones)."""
    if isinstance(node, dict):
        return {
            k: _drop_nulls(v) for k, v in node.items() if v is not None or k in NULL_KEEPING_KEYS
        }
    if isinstance(node, list):
        return [_drop_nulls(v) for v in node]
    return node


def _panel(panel: dict[str, Any]) -> dict[str, Any]:
    if panel.get("type") == "row":
        row = {k: v for k, v in panel.items() if k in ROW_KEYS}
        row["panels"] = [_panel(p) for p in row.get("panels", [])]
        return row
    out = {k: v for k, v in panel.items() if k not in LEGACY_PANEL_KEYS}
    if "fieldConfig" in out:
        out["fieldConfig"] = {"overrides": [], **out["fieldConfig"]}
    return out


def _variable(var: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in var.items() if k not in LEGACY_VARIABLE_KEYS}
    current = out.get("current")
    if isinstance(current, dict):
        current = {k: v for k, v in current.items() if k != "tags"}
        # An unset selection (text/value null) is no selection: Grafana picks the default.
        if current.get("text") is None or current.get("value") is None:
            out.pop("current")
        else:
            out["current"] = current
    return out


def tidy(dashboard: dict[str, Any]) -> dict[str, Any]:
    """Grafana's current dashboard JSON from grafanalib's (plain JSON in, plain JSON out)."""
    out = {k: v for k, v in dashboard.items() if k not in LEGACY_DASHBOARD_KEYS}
    out["panels"] = [_panel(p) for p in out.get("panels", [])]
    templating = out.get("templating")
    if isinstance(templating, dict):
        out["templating"] = {
            **templating,
            "list": [_variable(v) for v in templating.get("list", [])],
        }
    picker = out.get("timepicker")
    if isinstance(picker, dict):  # time_options: the pre-7 picker's quick ranges
        out["timepicker"] = {k: v for k, v in picker.items() if k != "time_options"}
    return _drop_nulls(out)
