"""A share link's QR code, as an SVG ``data:`` URI (the page's CSP allows data: images).

Drawn server-side by segno, a small pure-Python encoder: no script library in the page,
and nothing for the browser to fetch from elsewhere."""

from __future__ import annotations

import segno


def qr_data_uri(text: str) -> str | None:
    """None when the link is too long for a QR code (a very long key)."""
    try:
        code = segno.make(text, error="l", micro=False)
    except segno.DataOverflowError:
        return None
    uri: str = code.svg_data_uri(scale=4, border=2)
    return uri
