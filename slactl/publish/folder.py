"""Publishing a site (the status page) into a folder so readers never see a mix of two builds.

Every file is first written into ``DIR/.staging-XXXX`` (same file system), then
moved into place with ``os.replace`` (atomic per file) in :func:`switch_order`:
hashed assets first, then other pages, then the JSON API, ``index.html`` last.
Until the last rename the old ``index.html`` is served and everything it links
to is still there; after it, the new one is, and its assets arrived first.
Files of the previous build that the new one lacks (old hashed CSS, say) are
removed only after the switch, and only those listed in the previous build's
manifest (``DIR/.slactl-manifest.json``): files someone else put in the folder
are never touched.  The S3 publisher follows the same order and manifest.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from slactl.errors import PublishError
from slactl.publish.files import write_atomic

MANIFEST = ".slactl-manifest.json"
HASHED_ASSET = re.compile(r"^assets/.+\.[0-9a-f]{8}\.[A-Za-z0-9]+$")
_STALE_STAGING_SECONDS = 3600


def is_hashed_asset(path: str) -> bool:
    """Files whose name carries their content hash: safe to cache forever."""
    return HASHED_ASSET.match(path) is not None


def switch_order(paths: Iterable[str]) -> list[str]:
    """The order files go live: assets → other pages → ``api/`` JSON (summary last) → ``index.html``."""

    def rank(p: str) -> tuple[int, str]:
        if p.startswith("assets/"):
            return 0, p
        if p == "index.html":
            return 4, p
        if p.startswith("api/"):
            return (3 if p.endswith("/summary.json") else 2), p
        return 1, p

    return sorted(paths, key=rank)


def check_path(path: str) -> str:
    """A site path must stay inside the site: relative, no ``..``, no hidden parts."""
    pp = PurePosixPath(path)
    if pp.is_absolute() or not pp.parts or any(part in ("", ".", "..") or part.startswith(".") for part in pp.parts):
        raise PublishError(f"refusing to publish the path {path!r}: it must stay inside the site folder")
    return str(pp)


def manifest_bytes(paths: Iterable[str]) -> bytes:
    return (json.dumps({"files": sorted(paths)}, indent=1) + "\n").encode("utf-8")


def parse_manifest(data: bytes) -> list[str]:
    """Paths of the previous build; an unreadable manifest means none (nothing is deleted)."""
    try:
        files = json.loads(data.decode("utf-8")).get("files", [])
    except (ValueError, AttributeError, UnicodeDecodeError):
        return []
    out = []
    for p in files if isinstance(files, list) else []:
        try:
            out.append(check_path(p))
        except (PublishError, TypeError):
            continue
    return out


def _clean_old_staging(target: Path) -> None:
    """Staging folders left by a killed run (older than an hour, so never a running one's)."""
    now = time.time()
    for d in target.glob(".staging-*"):
        try:
            if d.is_dir() and now - d.stat().st_mtime > _STALE_STAGING_SECONDS:
                shutil.rmtree(d, ignore_errors=True)
        except OSError:
            continue


def _prune(target: Path, stale: list[str]) -> None:
    for rel in stale:
        path = target / rel
        try:
            if path.is_file() and not path.is_symlink():
                path.unlink()
        except OSError as exc:
            raise PublishError(f"cannot remove the stale file {path}: {exc.strerror or exc}") from exc
        parent = path.parent
        while parent != target:
            try:
                parent.rmdir()  # only when empty
            except OSError:
                break
            parent = parent.parent


def publish_folder(files: dict[str, bytes], target: Path) -> list[Path]:
    """Switch ``target`` to the site ``files`` (path → bytes); return the paths now live."""
    paths = [check_path(p) for p in files]
    try:
        target.mkdir(parents=True, exist_ok=True)
        _clean_old_staging(target)
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=target))
    except OSError as exc:
        raise PublishError(f"cannot prepare {target}: {exc.strerror or exc}") from exc
    try:
        old = parse_manifest((target / MANIFEST).read_bytes()) if (target / MANIFEST).is_file() else []
        for rel, data in zip(paths, files.values(), strict=True):
            write_atomic(staging / rel, data)
        live = []
        for rel in switch_order(paths):
            dest = target / rel
            try:
                dest.parent.mkdir(parents=True, exist_ok=True)
                os.replace(staging / rel, dest)
            except OSError as exc:
                raise PublishError(f"cannot move {rel} into {target}: {exc.strerror or exc}") from exc
            live.append(dest)
        write_atomic(target / MANIFEST, manifest_bytes(paths))
        _prune(target, sorted(set(old) - set(paths)))
        return live
    except OSError as exc:
        raise PublishError(f"cannot publish into {target}: {exc.strerror or exc}") from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
