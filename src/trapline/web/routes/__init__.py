"""The web app's pages, one module per group; each has a ``router`` of ``PageRoute`` routes.

Adding a page: a module here with ``router = page_router()`` and its routes, a template in
``web/templates/``, and the module's name in ``PAGES`` below.
"""

from __future__ import annotations

from fastapi import APIRouter

from trapline.web.pages import PageRoute


def page_router() -> APIRouter:
    """A router whose routes answer errors with pages and stay out of the API's document."""
    return APIRouter(route_class=PageRoute, include_in_schema=False)


#: The page modules, in the order their routes are matched.
PAGES = (
    "auth",
    "projects",
    "images",
    "viewer",
    "analyses",
    "jobs",
    "review",
    "taxa",
    "taxa_import",
    "labels",
    "species",
    # Before "events": it serves the occurrence's page, with its identifications.
    "identify",
    "deployments",
    "events",
    "sources",
    "exports",
    "processing",
    "imports",
    "members",
    "admin",
)
