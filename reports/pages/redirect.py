"""Redirect pages: old addresses of day pages keep working after the site gained symbols.

Before liqmap had several symbols, BTCUSDT's day pages lived at `site/YYYY-MM-DD/`. Static
hosts cannot send HTTP redirects, so that address holds a tiny page that forwards to
`site/BTCUSDT/YYYY-MM-DD/` with a meta refresh (works from file:// and without JavaScript),
a canonical link and a plain link for anything that ignores both.
"""

from __future__ import annotations

from datetime import date
from html import escape


def redirect_page(symbol: str, d: date) -> str:
    """The page at `site/<day>/index.html` forwarding to `site/<symbol>/<day>/index.html`."""
    target = escape(f"../{symbol}/{d.isoformat()}/index.html")
    title = escape(f"{symbol} liquidation report {d.isoformat()} (moved)")
    return (
        "<!doctype html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="refresh" content="0; url={target}">\n'
        f'<link rel="canonical" href="{target}">\n'
        '<link rel="icon" href="data:,">\n'
        '<link rel="alternate" type="application/atom+xml" title="liqmap daily reports" '
        'href="../feed.xml">\n'
        f"<title>{title}</title>\n</head>\n<body>\n"
        f'<p>This report moved to <a href="{target}">{escape(symbol)} {d.isoformat()}</a>.</p>\n'
        "</body>\n</html>\n"
    )
