"""The ``slactl`` entry point: the one place errors become exit codes and one-line messages.

0 done, 1 could not finish, 2 bad usage or configuration; a traceback reaches
the user only with ``--debug``.  Commands are thin and live in sibling modules.
"""

from __future__ import annotations

import os
import sys
import traceback
from typing import NoReturn

import typer
from typer.exceptions import Abort, Exit, TyperException

from slactl import runtime
from slactl.cli import (  # noqa: F401  (register their commands)
    alerts,
    config_cmd,
    core,
    dashboards,
    export,
    init,
    scheduler,
    statuspage,
    store,
)
from slactl.cli.app import State, app
from slactl.errors import ConfigError, SlactlError
from slactl.redact import redact


def _usage_line(exc: TyperException) -> str:
    """Click's message, prefixed with the command it is about and where to read more."""
    ctx = getattr(exc, "ctx", None)
    where = ctx.command_path if ctx is not None else "slactl"
    text = exc.format_message().rstrip(".")
    if text:
        text = text[0].lower() + text[1:] if not text[:2].isupper() else text
    hint = f" (see {where} --help)" if ctx is not None else ""
    return f"{where}: {text}{hint}"


def _error_line(exc: SlactlError, state: State | None) -> str:
    """One line; a config problem found after loading still names the config file."""
    text = str(exc)
    if isinstance(exc, ConfigError) and exc.path is None and state is not None and state.loaded_from:
        text = f"{state.loaded_from}: {text}"
    return f"slactl: error: {text}"


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the command, turning errors into exit codes and one-line messages."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args or os.environ.get("SLACTL_DEBUG") == "1"
    command = typer.main.get_command(app)
    state = State(on_config=runtime.setup)
    try:
        command.main(args=args, prog_name="slactl", standalone_mode=False, obj=state)
        return 0
    except Exit as exc:
        return exc.exit_code
    except Abort:
        print("slactl: aborted", file=sys.stderr)
        return 130
    except TyperException as exc:
        print(redact(_usage_line(exc)), file=sys.stderr)
        return 2
    except SlactlError as exc:
        if debug:
            print(redact(traceback.format_exc()), end="", file=sys.stderr)
        print(redact(_error_line(exc, state)), file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("slactl: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: still one line unless --debug
        if debug:
            print(redact(traceback.format_exc()), end="", file=sys.stderr)
        print(redact(f"slactl: internal error: {type(exc).__name__}: {exc} (run with --debug for details)"), file=sys.stderr)
        return 1


def run() -> NoReturn:
    """The ``slactl`` program: :func:`main`, then leave (without interpreter teardown, see :mod:`slactl.runtime`).

    ``main`` itself returns normally, for tests and embedding.
    """
    runtime.leave(main())
