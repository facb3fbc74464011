#!/usr/bin/env bash
# Regenerates the artefacts checked in for examples/slactl.yaml (`make examples`);
# tests compare them byte for byte, so CI fails when they are stale.
set -euo pipefail
cd "$(dirname "$0")/.."

rm -f dashboards/*.json  # a removed service's dashboard must not linger
.venv/bin/slactl --config examples/slactl.yaml dashboards generate --out dashboards

# reports/: the demo's rendered month for a fixed seed.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
.venv/bin/slactl demo --out "$tmp" --month 2026-01 --seed 42 >/dev/null
rm -rf reports
cp -r "$tmp/reports" reports

# alerts/: Prometheus rule files and their promtool unit tests.
rm -f alerts/slactl-*.rules.yml alerts/slactl-*.test.yml
.venv/bin/slactl --config examples/slactl.yaml alerts generate --out alerts

# docs/: the configuration reference and the JSON Schema, generated from the config models.
.venv/bin/slactl config docs --out docs/configuration.md >/dev/null
.venv/bin/slactl config schema --out docs/slactl.schema.json >/dev/null
