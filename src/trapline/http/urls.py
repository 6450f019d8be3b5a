"""Links the server hands out: on its public base URL, never on a Host header a caller wrote."""

from __future__ import annotations

from trapline.settings import Settings


def absolute_url(settings: Settings, url: str) -> str:
    """Make a server-relative URL (the local blob store's) absolute."""
    return with_base(settings.http.public_base_url, url)


def with_base(base: str, url: str) -> str:
    """``url`` if it is absolute, else ``base`` (the server's public base URL) before it."""
    return base + url if url.startswith("/") else url
