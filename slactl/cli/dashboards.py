"""Commands ``dashboards generate`` and ``dashboards push``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from slactl.cli.app import ConfigOpt, cli_state, out_dir, sub_app
from slactl.errors import UsageError
from slactl.redact import remember_url

dashboards_app = sub_app("dashboards", "Grafana dashboards generated from the config.")


@dashboards_app.command("generate")
def generate(
    ctx: typer.Context,
    out: Annotated[Path, out_dir("Folder for the dashboard JSON files.")],
    config: ConfigOpt = None,
) -> None:
    """Write every dashboard as Grafana JSON into --out (same config, same bytes)."""
    from slactl.dashboards.build import build_all
    from slactl.publish.files import write_all

    cfg = cli_state(ctx).config(config)
    files = {out / name: data for name, data in build_all(cfg).items()}
    write_all(files)
    for path in files:
        typer.echo(str(path))


def _read_dir(folder: Path) -> list[dict[str, Any]]:
    if not folder.is_dir():
        raise UsageError(f"--dir {folder}: not a folder")
    found = []
    for path in sorted(folder.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise UsageError(f"{path}: not a readable dashboard JSON file ({exc})") from exc
        if not isinstance(data, dict) or not data.get("uid"):
            raise UsageError(f"{path}: not a dashboard with a uid")
        found.append(data)
    if not found:
        raise UsageError(f"--dir {folder}: no *.json dashboards in it")
    return found


@dashboards_app.command("push")
def push(
    ctx: typer.Context,
    grafana_url: Annotated[
        str,
        typer.Option(
            "--grafana-url", metavar="URL", help="Base URL of Grafana, e.g. https://grafana.example.com."
        ),
    ],
    folder: Annotated[
        str, typer.Option("--folder", metavar="TITLE", help="Folder (title) to push into; created if missing.")
    ] = "SLA",
    token_env: Annotated[
        str,
        typer.Option(
            "--token-env", metavar="NAME", help="Environment variable holding a Grafana service account token."
        ),
    ] = "GRAFANA_TOKEN",
    directory: Annotated[
        Path | None,
        typer.Option(
            "--dir",
            metavar="DIR",
            help="Push the *.json files in this folder instead of generating from the config.",
        ),
    ] = None,
    config: ConfigOpt = None,
    timeout: Annotated[
        float, typer.Option("--timeout", metavar="SECONDS", min=1, help="Seconds the whole push may take (each request at most 30).")
    ] = 120.0,
) -> None:
    """Create or update the dashboards in Grafana by uid (unchanged ones are left alone)."""
    from slactl.publish.grafana import push_dashboards

    remember_url(grafana_url)  # an error quoting the URL shows no password (slactl.redact)
    if directory is not None:
        dashboards = _read_dir(directory)
    else:
        from slactl.dashboards.build import build_all

        cfg = cli_state(ctx).config(config)
        dashboards = [json.loads(data) for data in build_all(cfg).values()]
    for result in push_dashboards(grafana_url, dashboards, folder=folder, token_env=token_env, timeout=timeout):
        typer.echo(f"{result.action:9} {result.uid} v{result.version} {result.title}")
