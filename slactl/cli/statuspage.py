"""Commands of the public status page: ``status-page build`` and ``status-page publish``.

Both compute the page from the store (pulling what it lacks first) as of
``--at`` (default: now), so a past moment can be re-rendered for a review.
Posts that cannot be used are warned about on stderr; the page is still built.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from slactl.cli.app import ConfigOpt, cli_state, now_utc, out_dir, sub_app

if TYPE_CHECKING:
    from slactl.config import Config

status_app = sub_app("status-page", "The public status page (Statuspage-compatible JSON, HTML, Atom).")

AtOpt = Annotated[
    str | None,
    typer.Option(
        "--at",
        metavar="TIME",
        help="Build the page as it looked at this ISO 8601 time (no offset: the config's time zone).",
        show_default=False,
    ),
]


def _build(ctx: typer.Context, config: Path | None, at: str | None) -> tuple[Config, dict[str, bytes]]:
    from slactl.app.statuspage import build_site, parse_at
    from slactl.config import check_environment
    from slactl.store.sql import Store

    cfg = cli_state(ctx).config(config)
    check_environment(cfg)
    now = now_utc()
    when = parse_at(at, cfg.zone, now)
    store = Store(cfg.store_url)
    try:
        files, warnings = build_site(cfg, store, when, now)
    finally:
        store.close()
    for warning in warnings:
        typer.echo(f"slactl: warning: {warning}", err=True)
    return cfg, files


@status_app.command("build")
def build(
    ctx: typer.Context,
    out: Annotated[Path, out_dir("Folder for index.html, api/v2/*.json and history.atom.")],
    at: AtOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Build the status page into a folder (switched atomically: index.html last)."""
    from slactl.app.statuspage import publish_site
    from slactl.cli.progress import ingest_progress

    with ingest_progress():
        cfg, files = _build(ctx, config, at)
    publish_site(cfg, files, out=out)
    for rel in ("index.html", "api/v2/summary.json", "history.atom"):
        typer.echo(str(out / rel))


@status_app.command("publish")
def publish(ctx: typer.Context, at: AtOpt = None, config: ConfigOpt = None) -> None:
    """Build the status page and publish it to publish.status_page (a folder or S3)."""
    from slactl.app.statuspage import publish_site
    from slactl.cli.progress import ingest_progress

    with ingest_progress():
        cfg, files = _build(ctx, config, at)
    where = publish_site(cfg, files)
    typer.echo(f"status page published to {where} ({len(files)} files)")
