"""Incident posts' Markdown as safe HTML for the public status page.

Posts are written by people and published, so Markdown is rendered with raw
HTML off, images off and links limited to http/https/mailto (or relative);
headings move down to nest under the page's own.  Reading and checking the
files is :mod:`slactl.inputs.posts`' job; this module gets their text.
"""

from __future__ import annotations

import re

from markdown_it import MarkdownIt
from markupsafe import Markup

_SAFE_SCHEMES = {"http", "https", "mailto"}
_SCHEME = re.compile(r"^([a-z][a-z0-9+.\-]*):")
_TOP_HEADING = 5  # the page nests a post's body under an h4 incident title


def _safe_link(url: str) -> bool:
    """Only http, https and mailto links, or links without a scheme (relative)."""
    u = url.strip().lower()
    stop = re.search(r"[:/?#]", u)
    if stop is None or stop.group() != ":":
        return True
    m = _SCHEME.match(u)
    return m is not None and m.group(1) in _SAFE_SCHEMES


def _link_open(self, tokens, idx, options, env):  # noqa: ANN001, ANN202 - markdown-it renderer rule
    tokens[idx].attrSet("rel", "nofollow noopener noreferrer")
    return self.renderToken(tokens, idx, options, env)


def _markdown() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "maxNesting": 20})
    md.enable(["table", "strikethrough"])
    md.disable("image")  # a post must not make readers' browsers fetch anything
    md.validateLink = _safe_link  # type: ignore[method-assign]
    md.add_render_rule("link_open", _link_open)
    return md


_MD = _markdown()


def render_markdown(text: str) -> Markup:
    """Block Markdown as safe HTML; headings moved down to nest under the page's own."""
    tokens = _MD.parse(text)
    levels = [int(t.tag[1]) for t in tokens if t.type == "heading_open"]
    shift = _TOP_HEADING - min(levels, default=1)
    for tok in tokens:
        if tok.type in ("heading_open", "heading_close"):
            tok.tag = f"h{min(int(tok.tag[1]) + shift, 6)}"
    return Markup(_MD.renderer.render(tokens, _MD.options, {}))  # noqa: S704 - escaped by markdown-it


def render_inline(text: str) -> Markup:
    """One line of Markdown (an update's text) as safe inline HTML."""
    return Markup(_MD.renderInline(text))  # noqa: S704 - escaped by markdown-it


def post_html(body: str) -> Markup:
    """A post's body as safe HTML, empty for a blank body."""
    return render_markdown(body) if body.strip() else Markup("")

