"""What the commands share: their options, settings from the flags, and running a command.

The platform's commands import the platform only when they run (``load_platform_commands``),
so ``trapline worker ...`` works in a worker install, which has none of its packages.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Annotated, Any

import typer

from trapline.settings import Settings

DataDir = Annotated[
    Path | None, typer.Option("--data-dir", help="same as TRAPLINE_DATA_DIR", show_default=False)
]
DatabaseUrl = Annotated[
    str | None,
    typer.Option("--database-url", help="same as TRAPLINE_DATABASE_URL", show_default=False),
]
Host = Annotated[
    str | None, typer.Option("--host", help="same as TRAPLINE_HOST", show_default=False)
]
Port = Annotated[
    int | None, typer.Option("--port", help="same as TRAPLINE_PORT", show_default=False)
]


PipelineSlugs = Annotated[
    list[str] | None,
    typer.Option("--pipeline", help="pipeline slug (repeatable; default: all)", show_default=False),
]
PipelineFiles = Annotated[
    list[Path] | None,
    typer.Option("--pipeline-file", help="pipeline spec file (repeatable)", show_default=False),
]
ApiUrl = Annotated[
    str | None,
    typer.Option(
        "--api-url", help="same as TRAPLINE_API_URL or AMI_ANTENNA_API_BASE_URL", show_default=False
    ),
]
Token = Annotated[
    str | None,
    typer.Option(
        "--token", help="same as TRAPLINE_TOKEN or AMI_ANTENNA_API_AUTH_TOKEN", show_default=False
    ),
]
WorkerName = Annotated[
    str | None, typer.Option("--name", help="same as TRAPLINE_WORKER_NAME", show_default=False)
]

ProjectId = Annotated[int, typer.Option("--project", help="project id")]
AsEmail = Annotated[
    str | None,
    typer.Option("--as", help="account to act as (default: the admin `up` creates)"),
]


#: Third-party packages of the platform (the ``server`` extra), as imported.
PLATFORM_PACKAGES = frozenset(
    {"fastapi", "starlette", "uvicorn", "sqlalchemy", "alembic", "psycopg", "multipart"}
)


def load_platform_commands() -> ModuleType:
    """``trapline.cli.platform_commands``, or an exit saying which extra to install when it
    is missing."""
    try:
        import trapline.cli.platform_commands
    except ModuleNotFoundError as exc:
        if (exc.name or "").partition(".")[0] not in PLATFORM_PACKAGES:
            raise
        typer.echo(
            f"error: this command runs the trapline platform, which is not installed here "
            f"(no {exc.name} module); install it with: pip install 'trapline[server]'",
            err=True,
        )
        raise typer.Exit(2) from exc
    return trapline.cli.platform_commands


def load_export_commands() -> ModuleType:
    """``trapline.cli.export_commands`` (the platform's), or an exit saying what to install."""
    load_platform_commands()
    import trapline.cli.export_commands

    return trapline.cli.export_commands


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment, with the flags given on the command line on top."""
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValueError as exc:
        typer.echo(f"error: invalid settings: {exc}", err=True)
        raise typer.Exit(2) from exc


def run_command(function: Any, settings: Settings, **kwargs: Any) -> Any:
    """``function(settings, **kwargs)``; a trapline error is printed and exits with 1."""
    from trapline.errors import TraplineError

    try:
        return function(settings, **kwargs)
    except TraplineError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(1) from exc
