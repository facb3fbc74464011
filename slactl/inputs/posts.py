"""Hand-written incident posts (SPEC section 7): Markdown files with YAML front matter, read and checked.

Posts are written by people under pressure and published on a public page, so
reading them is defensive: a size limit, only regular files inside the folder,
``yaml.safe_load``, strict keys.  A post that cannot be used is reported with its
file name and left out; the page is built without it.  Turning a post's Markdown
into safe HTML is :mod:`slactl.render.posts`' job, not this module's.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

MAX_BYTES = 256 * 1024
MAX_FRONT_MATTER = 64 * 1024
MAX_FLOW_DEPTH = 32  # PyYAML recurses per level: deep [[[[ would take seconds to reject
STATUSES = ("investigating", "identified", "monitoring", "resolved", "postmortem")
SEVERITIES = ("minor", "major", "critical")

class _Update(BaseModel):
    model_config = ConfigDict(extra="forbid")
    at: datetime
    status: Literal["investigating", "identified", "monitoring", "resolved", "postmortem"]
    text: str = Field(min_length=1, max_length=20_000)


class _FrontMatter(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str = Field(min_length=1, max_length=200)
    severity: Literal["minor", "major", "critical"]
    services: list[str] = Field(default_factory=list)
    started: datetime
    resolved: datetime | None = None
    updates: list[_Update] = Field(default_factory=list, max_length=500)

    @field_validator("title")
    @classmethod
    def _one_line(cls, v: str) -> str:
        v = " ".join(v.split())
        if not v:
            raise ValueError("must not be blank")
        return v


@dataclass(frozen=True)
class PostUpdate:
    at: datetime  # aware, UTC
    status: str
    text: str  # as written (Markdown), stripped


@dataclass(frozen=True)
class Post:
    """One incident post, validated."""

    file: str
    slug: str
    title: str
    severity: str
    services: tuple[str, ...]
    started: datetime
    resolved: datetime | None
    updates: tuple[PostUpdate, ...]
    body: str  # the Markdown after the front matter, as written


class PostError(ValueError):
    """Why a post cannot be used (the message is shown after the file name)."""


def split_front_matter(text: str) -> tuple[str, str]:
    """``(yaml, body)`` of a post; the file must start with a ``---`` line."""
    text = text.lstrip("\ufeff")
    lines = text.split("\n")
    if not lines or lines[0].strip() != "---":
        raise PostError("no YAML front matter: start the file with a line '---'")
    for i in range(1, len(lines)):
        if lines[i].strip() in ("---", "..."):
            return "\n".join(lines[1:i]), "\n".join(lines[i + 1 :])
    raise PostError("the YAML front matter is not closed by a line '---'")


def _flow_depth(text: str) -> int:
    """Deepest nesting of YAML flow brackets (quotes ignored: an overestimate is harmless)."""
    depth = deepest = 0
    for ch in text:
        if ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}" and depth:
            depth -= 1
    return deepest


def _aware(dt: datetime, zone: tzinfo) -> datetime:
    """Times written without an offset are in the config's time zone (as maintenance is)."""
    return (dt if dt.tzinfo else dt.replace(tzinfo=zone)).astimezone(UTC)


def parse_post(name: str, raw: bytes, *, zone: tzinfo, services: set[str] | None = None) -> Post:
    """Validate one post; raise PostError saying what is wrong."""
    if len(raw) > MAX_BYTES:
        raise PostError(f"larger than {MAX_BYTES // 1024} KiB")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PostError(f"not UTF-8 text (byte {exc.start})") from None
    if "\x00" in text:
        raise PostError("contains NUL bytes: not a text file")
    head, body = split_front_matter(text.replace("\r\n", "\n"))
    if len(head) > MAX_FRONT_MATTER:
        raise PostError(f"the front matter is larger than {MAX_FRONT_MATTER // 1024} KiB")
    if _flow_depth(head) > MAX_FLOW_DEPTH:
        raise PostError(f"the front matter nests [ ] or {{ }} more than {MAX_FLOW_DEPTH} deep")
    try:
        meta = yaml.safe_load(head)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 2}" if mark is not None else "front matter"
        raise PostError(f"{where}: {getattr(exc, 'problem', None) or 'invalid YAML'}") from None
    except (ValueError, TypeError, RecursionError) as exc:
        raise PostError(f"front matter: {type(exc).__name__}: {exc}"[:300]) from None
    if not isinstance(meta, dict):
        raise PostError("the front matter must be a mapping (title, severity, services, started, updates)")
    try:
        fm = _FrontMatter.model_validate(meta)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"]) or "front matter"
        msg = {"extra_forbidden": "unknown key", "missing": "required key is missing"}.get(first["type"], first["msg"])
        raise PostError(f"{key}: {msg}") from None
    for i, svc in enumerate(fm.services):
        if services is not None and svc not in services:
            raise PostError(f"services[{i}]: unknown service {svc!r} (defined: {', '.join(sorted(services))})")
    started = _aware(fm.started, zone)
    resolved = _aware(fm.resolved, zone) if fm.resolved else None
    if resolved is not None and resolved < started:
        raise PostError("resolved: must not be before started")
    updates = tuple(sorted((PostUpdate(_aware(u.at, zone), u.status, u.text.strip()) for u in fm.updates), key=lambda u: u.at))
    return Post(
        file=name,
        slug=Path(name).stem,
        title=fm.title,
        severity=fm.severity,
        services=tuple(dict.fromkeys(fm.services)),
        started=started,
        resolved=resolved,
        updates=updates,
        body=body,
    )


def _read_inside(path: Path, root: Path) -> bytes:
    """At most ``MAX_BYTES + 1`` bytes of a regular file that resolves inside ``root``.

    A symlink may point elsewhere in the folder but never out of it (its target's
    text would be published), and only regular files are opened, non-blocking,
    so a FIFO or device cannot hang a rebuild or the scheduler.
    """
    real = path.resolve()
    if not real.is_relative_to(root):
        raise PostError("resolves outside the incidents folder (a symlink?): not read")
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(real, flags)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise PostError("not a regular file: not read")
        chunks, left = [], MAX_BYTES + 1
        while left > 0:
            chunk = os.read(fd, left)
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def load_posts(folder: Path, *, zone: tzinfo, services: set[str] | None = None) -> tuple[list[Post], list[str]]:
    """Every readable ``*.md`` post in ``folder``, and a warning for each one left out.

    A missing folder means no posts.  Files are read in name order, and at most
    ``MAX_BYTES + 1`` bytes of each, so one huge file cannot stall a rebuild;
    only regular files that resolve inside the folder are read (see :func:`_read_inside`).
    """
    posts: list[Post] = []
    warnings: list[str] = []
    if not folder.is_dir():
        return posts, warnings
    root = folder.resolve()
    for path in sorted(folder.glob("*.md")):
        if path.name.startswith("."):
            continue
        try:
            raw = _read_inside(path, root)
            posts.append(parse_post(path.name, raw, zone=zone, services=services))
        except OSError as exc:
            warnings.append(f"incident post {path}: cannot read: {exc.strerror or exc}; left out")
        except PostError as exc:
            warnings.append(f"incident post {path}: {exc}; left out")
    return posts, warnings
