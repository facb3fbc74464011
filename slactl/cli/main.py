"""The ``slactl`` entry point: the one place errors become exit codes and one-line messages.

0 done, 1 could not finish, 2 bad usage or configuration; a traceback reaches
the user only with ``--debug``.  Commands are thin and live in sibling modules.
"""

from __future__ import annotations

import os
import sys
import traceback

import typer
from typer.exceptions import Abort, Exit, TyperException

from slactl.cli import alerts, core, dashboards, export, scheduler, statuspage, store  # noqa: F401  (register their commands)
from slactl.cli.app import app
from slactl.errors import SlactlError
from slactl.redact import redact


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the command, turning errors into exit codes and one-line messages."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args or os.environ.get("SLACTL_DEBUG") == "1"
    command = typer.main.get_command(app)
    try:
        command.main(args=args, prog_name="slactl", standalone_mode=False)
        return 0
    except Exit as exc:
        return exc.exit_code
    except Abort:
        print("slactl: aborted", file=sys.stderr)
        return 130
    except TyperException as exc:
        print(redact(f"slactl: {exc.format_message()}"), file=sys.stderr)
        return 2
    except SlactlError as exc:
        if debug:
            print(redact(traceback.format_exc()), end="", file=sys.stderr)
        print(redact(f"slactl: error: {exc}"), file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("slactl: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: still one line unless --debug
        if debug:
            print(redact(traceback.format_exc()), end="", file=sys.stderr)
        print(redact(f"slactl: internal error: {type(exc).__name__}: {exc} (run with --debug for details)"), file=sys.stderr)
        return 1
