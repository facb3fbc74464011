"""Incident posts: valid ones parse and render; hostile ones are escaped or rejected by name."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from slactl.inputs.posts import MAX_BYTES, PostError, load_posts, parse_post
from slactl.render.posts import post_html, render_inline, render_markdown

UTC_ZONE = ZoneInfo("UTC")
SERVICES = {"api", "web"}

GOOD = b"""---
title: Elevated API error rates
severity: major
services: [api]
started: 2026-01-12T14:00:00Z
resolved: 2026-01-12T14:20:00Z
updates:
  - {at: 2026-01-12T14:20:00Z, status: resolved, text: A bad deploy was rolled back.}
  - {at: 2026-01-12T14:05:00Z, status: investigating, text: We are looking into errors on the API.}
---
# Postmortem

Longer *Markdown* text with a [link](https://example.com/pm).
"""


def parse(raw: bytes, zone=UTC_ZONE):
    return parse_post("p.md", raw, zone=zone, services=SERVICES)


def test_a_valid_post_parses_with_sorted_updates_and_rendered_body():
    p = parse(GOOD)
    assert (p.title, p.severity, p.services, p.slug) == ("Elevated API error rates", "major", ("api",), "p")
    assert p.started == datetime(2026, 1, 12, 14, 0, tzinfo=UTC)
    assert p.resolved == datetime(2026, 1, 12, 14, 20, tzinfo=UTC)
    assert [u.status for u in p.updates] == ["investigating", "resolved"]
    # Body headings nest under the page's h4 incident titles.
    html = post_html(p.body)
    assert "<h5>Postmortem</h5>" in html
    assert '<a href="https://example.com/pm" rel="nofollow noopener noreferrer">link</a>' in html


def test_times_without_offset_are_in_the_config_zone():
    raw = GOOD.replace(b"2026-01-12T14:00:00Z", b"2026-01-12T15:00:00").replace(b"resolved: 2026-01-12T14:20:00Z\n", b"")
    p = parse(raw, zone=ZoneInfo("Europe/Berlin"))
    assert p.started == datetime(2026, 1, 12, 14, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "markdown",
    [
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        '<a href="javascript:alert(1)">x</a>',
        "[x](javascript:alert(1))",
        "[x](JaVaScRiPt:alert(1))",
        "[x](java%0ascript:alert(1))",
        "[x](vbscript:msgbox(1))",
        "[x](data:text/html;base64,PHNjcmlwdD4=)",
        "[x](file:///etc/passwd)",
        "<javascript:alert(1)>",
        "[x]: javascript:alert(1)\n\n[x]",
        '<iframe src="https://evil.invalid"></iframe>',
        "<style>body{display:none}</style>",
    ],
)
def test_markdown_never_lets_html_or_unsafe_links_through(markdown):
    for html in (render_markdown(markdown), render_inline(markdown)):
        low = str(html).lower()
        assert "<script" not in low and "<img" not in low and "<iframe" not in low and "<style" not in low
        assert 'href="javascript' not in low and 'href="vbscript' not in low
        assert 'href="data:' not in low and 'href="file:' not in low and 'href="java' not in low
        assert "onerror=" not in low or "&lt;img" in low


def test_images_are_not_loaded_and_safe_links_are_kept():
    html = str(render_markdown("![t](https://tracker.invalid/p.png) [a](https://x.test) [m](mailto:ops@x.test) [r](#history)"))
    assert "<img" not in html
    assert 'href="https://tracker.invalid/p.png"' in html  # shown as a link, never fetched
    assert 'href="https://x.test"' in html and 'href="mailto:ops@x.test"' in html and 'href="#history"' in html


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (b"no front matter\n", "no YAML front matter"),
        (b"---\ntitle: x\n", "not closed"),
        (b"---\ntitle: [unclosed\n---\n", "line"),
        (b"---\n- a list\n---\n", "must be a mapping"),
        (b"---\nseverity: major\nstarted: 2026-01-01T00:00:00Z\n---\n", "title: required key is missing"),
        (b"---\ntitle: t\nseverity: huge\nstarted: 2026-01-01T00:00:00Z\n---\n", "severity"),
        (b"---\ntitle: t\nseverity: minor\nstarted: 2026-01-01T00:00:00Z\nupdates: [{at: 2026-01-01T00:00:00Z, status: panicking, text: x}]\n---\n", "updates.0.status"),
        (b"---\ntitle: t\nseverity: minor\nstarted: 2026-01-01T00:00:00Z\nimpact: big\n---\n", "impact: unknown key"),
        (b"---\ntitle: t\nseverity: minor\nstarted: 2026-01-01T00:00:00Z\nservices: [apii]\n---\n", "unknown service 'apii'"),
        (b"---\ntitle: t\nseverity: minor\nstarted: 2026-01-02T00:00:00Z\nresolved: 2026-01-01T00:00:00Z\n---\n", "before started"),
        (b"---\ntitle: t\nseverity: minor\nstarted: not a time\n---\n", "started"),
        (b"---\ntitle: \xff\xfe\n---\n", "not UTF-8"),
        (b"---\ntitle: !!python/object/apply:os.system ['true']\n---\n", "line"),
        (b"---\na: &a [x, x]\nb: &b [*a, *a]\ntitle: *b\nseverity: minor\nstarted: 2026-01-01T00:00:00Z\n---\n", "title"),
        (b"---\ntitle: " + b"[" * 5000 + b"\n---\n", "nests [ ] or { } more than 32 deep"),
        (b"---\ntitle: " + b"x" * 70_000 + b"\n---\n", "front matter is larger than 64 KiB"),
        (b"---\ntitle:\n" + b"- " * 3000 + b"x\n---\n", "front matter"),
    ],
)
def test_broken_posts_are_rejected_with_the_reason(raw, problem):
    with pytest.raises(PostError, match=None) as err:
        parse(raw)
    assert problem in str(err.value)


def test_size_limit():
    raw = GOOD + b"x" * MAX_BYTES
    with pytest.raises(PostError, match="larger than 256 KiB"):
        parse(raw)


def test_load_posts_reports_each_bad_file_by_name_and_keeps_the_good(tmp_path: Path):
    (tmp_path / "good.md").write_bytes(GOOD)
    (tmp_path / "bad.md").write_bytes(b"---\ntitle: [\n---\n")
    (tmp_path / "huge.md").write_bytes(b"---\ntitle: Huge\n---\n" + b"x" * (5 * 1024 * 1024))
    (tmp_path / "notes.txt").write_text("not a post")
    (tmp_path / ".draft.md").write_text("---\ntitle: hidden\n---\n")
    posts, warnings = load_posts(tmp_path, zone=UTC_ZONE, services=SERVICES)
    assert [p.file for p in posts] == ["good.md"]
    assert len(warnings) == 2
    assert any("bad.md" in w and "left out" in w for w in warnings)
    assert any("huge.md" in w and "larger than 256 KiB" in w for w in warnings)
    assert load_posts(tmp_path / "missing", zone=UTC_ZONE) == ([], [])


def test_load_posts_reads_only_regular_files_inside_the_folder(tmp_path: Path):
    """A symlink out of the folder is not followed and a FIFO does not hang the build."""
    import os

    secret = tmp_path / "secret.md"
    secret.write_bytes(GOOD.replace(b"Elevated API error rates", b"TOP SECRET"))
    posts_dir = tmp_path / "incidents"
    posts_dir.mkdir()
    (posts_dir / "a-good.md").write_bytes(GOOD)
    (posts_dir / "b-escape.md").symlink_to(secret)
    (posts_dir / "c-inside.md").symlink_to(posts_dir / "a-good.md")  # inside the folder: fine
    os.mkfifo(posts_dir / "d-fifo.md")
    (posts_dir / "e-dir.md").mkdir()
    posts, warnings = load_posts(posts_dir, zone=UTC_ZONE, services=SERVICES)
    assert [p.file for p in posts] == ["a-good.md", "c-inside.md"]
    assert all("TOP SECRET" not in p.title for p in posts)
    assert len(warnings) == 3
    assert "b-escape.md" in warnings[0] and "outside the incidents folder" in warnings[0]
    assert "d-fifo.md" in warnings[1] and "not a regular file" in warnings[1]
    assert "e-dir.md" in warnings[2]
