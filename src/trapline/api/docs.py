"""The API's documentation pages, Swagger UI and ReDoc, working offline.

Their scripts and styles come from the ``fastapi-offline`` package, which ships them, and are
served by trapline itself: the pages need no network beyond the server (a lab's server often
has none), and no asset is copied into this repository.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

#: The package whose ``static`` folder holds Swagger UI's and ReDoc's scripts and styles.
ASSETS_PACKAGE = "fastapi_offline"

#: Tags in the order the docs list them: a user's resources first, the worker protocol and
#: the health checks last.
TAGS = [
    {"name": "projects", "description": "Projects and their members."},
    {"name": "deployments", "description": "Trap stations of a project."},
    {"name": "images", "description": "Upload, list, download; thumbnails."},
    {
        "name": "local times and current results",
        "description": "Moving images between deployments, re-readings of capture times after "
        "a time zone changed, the pipeline versions whose results are current.",
    },
    {
        "name": "events",
        "description": "A deployment's photos grouped into events: nights (noon to noon, local "
        "time) or sequences (a new event after a gap longer than gap_seconds); the rules and "
        "the regroupings a rule change starts.",
    },
    {
        "name": "taxa",
        "description": "A project's taxa list (imported, exported, shared), its labels mapped "
        "onto taxa, people's identifications of occurrences, and the species view.",
    },
    {
        "name": "evaluation",
        "description": "Evaluation sets (people's identifications and box reviews frozen under "
        "a name) and any model version scored against one: per taxon precision and recall, "
        "accuracy, a confusion table, the boxes; JSON or CSV. Classifier heads refitted from "
        "identifications, cross-validated by event.",
    },
    {"name": "sources", "description": "Scheduled pulls of images from HTTP, S3, FTP, folders."},
    {"name": "collections", "description": "Named sets of images."},
    {"name": "jobs", "description": "Run a pipeline over images and follow its progress."},
    {"name": "annotations", "description": "What the models found."},
    {"name": "reviews", "description": "People's verdicts on what the models found."},
    {"name": "callbacks", "description": "External pipelines: analyses driven by signed calls."},
    {
        "name": "exports",
        "description": "Camtrap DP, MegaDetector, COCO and CSV files of a project.",
    },
    {
        "name": "imports",
        "description": "Results computed elsewhere (MegaDetector batch output), and taxa lists.",
    },
    {"name": "pipelines", "description": "Pipelines registered with a project; service tokens."},
    {"name": "processing services", "description": "Synchronous services (push mode)."},
    {"name": "users", "description": "Accounts."},
    {"name": "tokens", "description": "Your API tokens."},
    {"name": "blobs", "description": "Signed links to stored files."},
    {"name": "worker protocol", "description": "What workers call: claim tasks, post results."},
    {"name": "health", "description": "Liveness and readiness."},
]


def assets_dir() -> Path:
    """The folder of the installed docs assets."""
    return Path(str(files(ASSETS_PACKAGE) / "static"))


def install_docs(app: FastAPI, prefix: str) -> None:
    """Serve ``{prefix}/docs`` (Swagger UI) and ``{prefix}/redoc`` with local assets."""
    assert app.openapi_url is not None
    openapi_url = app.openapi_url
    assets = f"{prefix}/docs/assets"
    app.mount(assets, StaticFiles(directory=assets_dir()), name="docs-assets")

    @app.get(f"{prefix}/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} API",
            swagger_js_url=f"{assets}/swagger-ui-bundle.js",
            swagger_css_url=f"{assets}/swagger-ui.css",
            swagger_favicon_url=f"{assets}/favicon.png",
            # The token pasted into "Authorize" survives a reload of the page.
            swagger_ui_parameters={"persistAuthorization": True},
        )

    @app.get(f"{prefix}/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=openapi_url,
            title=f"{app.title} API",
            redoc_js_url=f"{assets}/redoc.standalone.js",
            redoc_favicon_url=f"{assets}/favicon.png",
            with_google_fonts=False,
        )
