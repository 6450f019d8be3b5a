"""The web app for people, served at ``/`` beside the API: pages rendered on the server.

``web_routes(table)`` adds the pages (``web/routes/``, one module per page group) to the app's
route table; ``install_web(app)`` gives an app the pages' shared state, their templates
(``web/templates/``) and static files (``web/static/``: CSS and plain ES modules, no build step,
nothing from another site).
"""

from __future__ import annotations

import importlib

from fastapi import APIRouter, FastAPI
from starlette.staticfiles import StaticFiles

from trapline.http.limits import JSON_BODY_BYTES
from trapline.web.pages import HERE, Web
from trapline.web.routes import page_modules

#: Modules whose routes take files: bounded by the request and upload limits instead.
FILE_PAGES = ("images", "taxa_import", "imports")


def web_routes(table: APIRouter) -> None:
    """Add the web app's pages to ``table``."""
    for name in page_modules():
        module = importlib.import_module(f"trapline.web.routes.{name}")
        limit = None if name in FILE_PAGES else JSON_BODY_BYTES
        table.include_router(module.router, max_body_size=limit)


def install_web(app: FastAPI) -> None:
    """Give the platform's app the pages' shared state and the static files."""
    app.state.web = Web.create(app.state.platform)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
