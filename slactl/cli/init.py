"""``slactl init``: write a starter config from what a live Prometheus holds."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from slactl.app.summary import count
from slactl.cli.app import app, now_utc, out_file
from slactl.errors import UsageError
from slactl.redact import redact


@app.command()
def init(
    prometheus: Annotated[
        str, typer.Option("--prometheus", metavar="URL", help="Prometheus (or any server of its HTTP API) to look at.")
    ],
    out: Annotated[Path, out_file("Where to write the config.")] = Path("slactl.yaml"),
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the config instead of writing it.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Replace --out if it exists.")] = False,
    timeout: Annotated[
        float,
        typer.Option(
            "--timeout", metavar="SECONDS", min=1,
            help="Seconds the whole discovery may take; when they run out, exit 1.",
        ),
    ] = 60.0,
) -> None:
    """Discover candidate SLIs on a live server and write a commented starter config."""
    from slactl.app.starter import discover_config

    if not dry_run and out.exists() and not force:
        raise UsageError(f"--out {out} exists; give another file or --force to replace it")
    text, discovery = discover_config(prometheus, now_utc(), out, timeout=timeout)
    for line in discovery.skipped:
        typer.echo(redact(f"slactl: warning: {line}"), err=True)
    if discovery.skipped:
        typer.echo(f"slactl: warning: {count(len(discovery.skipped), 'series', 'series')} skipped; the others are in the config", err=True)
    if dry_run:
        typer.echo(text, nl=False)
        return
    from slactl.publish.files import write_atomic

    write_atomic(out, text.encode("utf-8"))
    found = discovery.found
    ratio = sum(1 for f in found if f.kind == "ratio")
    typer.echo(
        f"{out}: {count(len(found), 'candidate service')} ({ratio} from request counters, "
        f"{len(found) - ratio} from probes or up); review it, then run: slactl --config {out} validate"
    )
