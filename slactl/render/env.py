"""The one way slactl builds jinja2 environments: package templates, strict, escaped.

Every HTML template renders user data (service and customer names, label values,
incident posts), so HTML autoescaping is always on.  ``select_autoescape`` alone
would miss ``*.html.j2`` (it looks at the last suffix), hence the explicit list.
Markdown templates escape with their own filter instead.
"""

from __future__ import annotations

from collections.abc import Callable

import jinja2


def make_env(*, markdown_too: bool = False) -> jinja2.Environment:
    """A strict environment over ``slactl/templates``.

    ``markdown_too``: also load ``*.md.j2`` templates without HTML escaping (they
    must escape with a Markdown filter); otherwise everything is escaped.
    """
    autoescape: bool | Callable[[str | None], bool] = True
    if markdown_too:
        autoescape = jinja2.select_autoescape(
            ["html", "htm", "xml", "html.j2", "xml.j2", "atom.j2"], default_for_string=False
        )
    return jinja2.Environment(
        loader=jinja2.PackageLoader("slactl", "templates"),
        autoescape=autoescape,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
