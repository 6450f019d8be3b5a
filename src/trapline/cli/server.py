"""``trapline up``, ``serve`` and ``migrate``: the platform's server and its database."""

from __future__ import annotations

from typing import Annotated

import typer

from trapline.cli.base import (
    DatabaseUrl,
    DataDir,
    Host,
    Port,
    load_platform_commands,
    load_settings,
    run_command,
)


def up(
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    host: Host = None,
    port: Port = None,
    demo: Annotated[bool, typer.Option("--demo", help="also create a demo project")] = False,
) -> None:
    """Run everything in one process on embedded defaults, creating an admin on first run."""
    settings = load_settings(data_dir=data_dir, database_url=database_url, host=host, port=port)
    run_command(load_platform_commands().run_up, settings, demo=demo)


def serve(
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    host: Host = None,
    port: Port = None,
    no_duties: Annotated[
        bool, typer.Option("--no-duties", help="run no background duties in this replica")
    ] = False,
) -> None:
    """Run the API server (for deployments: no first-run conveniences)."""
    settings = load_settings(
        data_dir=data_dir,
        database_url=database_url,
        host=host,
        port=port,
        duties_enabled=False if no_duties else None,
    )
    run_command(load_platform_commands().run_serve, settings)


def migrate(data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """Bring the database schema up to date."""
    run_command(
        load_platform_commands().run_migrate,
        load_settings(data_dir=data_dir, database_url=database_url),
    )
    typer.echo("database is up to date", err=True)
