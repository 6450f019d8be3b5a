"""What the worker must never load: the platform's third-party packages and trapline's platform
modules (checked on the worker and on ``trapline eval``)."""

from __future__ import annotations

#: Third-party packages only the platform needs.
PLATFORM_PACKAGES = ("sqlalchemy", "fastapi", "starlette", "alembic", "psycopg", "uvicorn")

#: trapline modules the worker must never import.
PLATFORM_MODULES = (
    "trapline.api",
    "trapline.db",
    "trapline.services",
    "trapline.queue",
    "trapline.storage",
    "trapline.domain",
    "trapline.imaging",
    "trapline.cli.platform_commands",
    "trapline.cli.export_commands",
    "trapline.app",
    "trapline.http",
    "trapline.web",
    "trapline.platform",
    "trapline.schemas",
)
