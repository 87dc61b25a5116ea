"""HTML to PDF with WeasyPrint: reports (and the after-action review) as files that print the same anywhere.

The HTML is laid out with its print stylesheet (`@media print`, `@page`); the Japanese font that comes
with the package (see `kizuna.report.fonts`) is embedded so Japanese names print without a system font.
WeasyPrint renders with the system's Pango (Debian's, present here); it fetches nothing from the network:
a report's figures are embedded data URIs.
"""

from __future__ import annotations

from pathlib import Path


def html_to_pdf(html: str, out: Path) -> None:
    """Write `html` (a whole document, figures embedded) to `out` as PDF; folders are created.

    Raises:
        OSError: the file cannot be written.
    """
    import logging

    from weasyprint import CSS, HTML
    from weasyprint.text.fonts import FontConfiguration

    from kizuna.report.fonts import JAPANESE_FAMILY, japanese_font_path

    logging.getLogger("weasyprint").setLevel(logging.ERROR)  # unsupported CSS is not the reader's concern
    font = japanese_font_path().as_uri()
    font_config = FontConfiguration()  # @font-face rules need one, shared by the stylesheet and the writer
    fonts = CSS(
        string=f"@font-face {{ font-family: '{JAPANESE_FAMILY}'; src: url('{font}'); }}\n"
        f"body {{ font-family: 'DejaVu Sans', '{JAPANESE_FAMILY}', sans-serif; }}",
        font_config=font_config,
    )
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    HTML(string=html, base_url=str(out.parent)).write_pdf(
        out, stylesheets=[fonts], font_config=font_config, presentational_hints=True
    )
