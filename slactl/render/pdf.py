"""HTML to PDF with WeasyPrint: the only module that imports it.

WeasyPrint is imported lazily (it takes a second and needs Pango), so commands
that never print a PDF do not pay for it.  The pages slactl renders are
self-contained, so every URL fetch is refused: a statement must never read a
local file or reach the network because of something in its data.
"""

from __future__ import annotations

from typing import Any, NoReturn

from slactl.errors import PublishError


def _refuse(url: str, *args: Any, **kwargs: Any) -> NoReturn:
    raise PublishError(f"statements are self-contained; refusing to fetch {url[:80]!r}")


def html_to_pdf(html: bytes) -> bytes:
    """A PDF of a self-contained UTF-8 HTML page; failures become :class:`PublishError`."""
    try:
        from weasyprint import HTML

        pdf = HTML(string=html.decode("utf-8"), base_url=None, url_fetcher=_refuse).write_pdf()
    except PublishError:
        raise
    except Exception as exc:  # WeasyPrint and its native libraries raise many kinds
        raise PublishError(
            f"cannot render a PDF with WeasyPrint: {type(exc).__name__}: {exc}"
        ) from exc
    if not pdf:
        raise PublishError("WeasyPrint produced an empty PDF")
    return bytes(pdf)
