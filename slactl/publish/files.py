"""Writing artefacts so readers never see half a file, nor half a set of files.

One file: a temp file in the same folder, fsync, then rename.  A set (a report's
JSON, HTML and Markdown; a month's credits JSON, CSV and statements) must also
agree with itself: a ledger beside the previous month's statement is worse than
no new ledger.  So a set is staged whole first — every byte on disk, where a full
disk fails — and only then renamed into place; a rename allocates nothing, and if
one still fails the files already replaced are put back from hard links of the
old ones.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from slactl.errors import PublishError


def _stage(path: Path, data: bytes) -> Path:
    """Write ``data`` to a fsynced temp file beside ``path``; the caller renames it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Path(tmp)


def _error(path: Path, exc: OSError) -> PublishError:
    return PublishError(f"cannot write {path}: {exc.strerror or exc}")


def write_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` in one rename; the folder is created if needed."""
    try:
        tmp = _stage(path, data)
        try:
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise _error(path, exc) from exc


def _keep_old(path: Path) -> Path | None:
    """A hard link to the current ``path`` (no bytes copied), to restore it on failure."""
    if not path.exists():
        return None
    keep = Path(tempfile.mktemp(prefix=f".{path.name}.", suffix=".old", dir=path.parent))
    try:
        os.link(path, keep)
    except OSError:
        return None  # no hard links here: the set is still staged whole, just not restorable
    return keep


def write_all(files: dict[Path, bytes]) -> None:
    """Replace a set of artefacts whole or not at all.

    On failure the old set stays as it was and no temp file is left behind.
    """
    staged: list[tuple[Path, Path]] = []
    current: Path | None = None
    try:
        for path, data in files.items():
            current = path
            staged.append((_stage(path, data), path))
    except OSError as exc:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
        raise _error(current or Path("."), exc) from exc
    except BaseException:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
        raise

    replaced: list[tuple[Path, Path | None]] = []
    try:
        for tmp, path in staged:
            current = path
            old = _keep_old(path)
            try:
                os.replace(tmp, path)
            except OSError:
                if old is not None:
                    old.unlink(missing_ok=True)
                raise
            replaced.append((path, old))
    except OSError as exc:
        for path, old in reversed(replaced):
            if old is not None:
                os.replace(old, path)
            else:
                path.unlink(missing_ok=True)
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
        raise _error(current or Path("."), exc) from exc
    finally:
        for _, old in replaced:
            if old is not None:
                old.unlink(missing_ok=True)
