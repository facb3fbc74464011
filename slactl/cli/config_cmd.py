"""``slactl config schema`` and ``slactl config docs``: the config format, from the models."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from slactl.cli.app import out_file, sub_app

config_app = sub_app("config", "The configuration format: JSON Schema for editors and the key reference.")


def _emit(text: str, out: Path | None) -> None:
    if out is None:
        typer.echo(text, nl=False)
        return
    from slactl.publish.files import write_atomic

    write_atomic(out, text.encode("utf-8"))
    typer.echo(str(out))


@config_app.command("schema")
def schema(
    out: Annotated[Path | None, out_file("Write the schema here instead of printing it.")] = None,
) -> None:
    """JSON Schema of slactl.yaml, for yaml-language-server and other editors."""
    from slactl.config.reference import json_schema_text

    _emit(json_schema_text(), out)


@config_app.command("docs")
def docs(
    out: Annotated[Path | None, out_file("Write the reference here instead of printing it.")] = None,
) -> None:
    """The configuration reference (Markdown): every key with its type, default and an example."""
    from slactl.config.reference import markdown

    _emit(markdown(), out)
