"""The web app's pages, one module per group; each has a ``router`` of ``PageRoute`` routes.

Adding a page: a module here with ``router = page_router()`` and its routes, and a template in
``web/templates/``; every module here is a page module (``page_modules``).
"""

from __future__ import annotations

import pkgutil

from fastapi import APIRouter

from trapline.web.pages import PageRoute


def page_router() -> APIRouter:
    """A router whose routes answer errors with pages and stay out of the API's document."""
    return APIRouter(route_class=PageRoute, include_in_schema=False)


def page_modules() -> list[str]:
    """The page modules' names (every module here: no two of their routes match one path,
    ``tests/unit/test_page_routes.py``, so the order they are added in does not matter)."""
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))
