"""HTML to PDF with WeasyPrint (it lays pages out with the system's pango; no browser needed).

A minimal module: the `cli` engineer owns `kizuna.report` and may replace it with a fuller one of the
same signature.
"""

from __future__ import annotations

from pathlib import Path


def html_to_pdf(html: str, out: Path) -> None:
    """Render an HTML document (self-contained: images as data URIs) to a PDF file."""
    from weasyprint import HTML

    HTML(string=html, base_url=str(out.parent)).write_pdf(str(out))
