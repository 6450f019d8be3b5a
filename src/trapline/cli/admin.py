"""``trapline admin ...``: accounts and tokens, on the database the settings point to."""

from __future__ import annotations

from typing import Annotated

import typer

from trapline.cli.base import (
    DatabaseUrl,
    DataDir,
    load_platform_commands,
    load_settings,
    run_command,
)

admin_app = typer.Typer(
    help="Administration on the database the settings point to.", no_args_is_help=True
)


@admin_app.command("create-user")
def create_user(
    email: Annotated[str, typer.Option("--email", help="the user's email")],
    name: Annotated[str, typer.Option("--name", help="display name")] = "",
    is_admin: Annotated[bool, typer.Option("--admin", help="make the user an admin")] = False,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Create a user."""
    settings = load_settings(data_dir=data_dir, database_url=database_url)
    commands = load_platform_commands()
    user = run_command(
        commands.admin_create_user, settings, email=email, name=name, is_admin=is_admin
    )
    typer.echo(
        f"created user {user.id} <{user.email}>{' (admin)' if user.is_admin else ''} "
        f"in {commands.database_name(settings)}",
        err=True,
    )


@admin_app.command("create-token")
def create_token(
    email: Annotated[str, typer.Option("--email", help="whose token")],
    name: Annotated[str, typer.Option("--name", help="what the token is for")] = "cli",
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Create an API token and print only the token on stdout."""
    settings = load_settings(data_dir=data_dir, database_url=database_url)
    typer.echo(
        run_command(load_platform_commands().admin_create_token, settings, email=email, name=name)
    )


@admin_app.command("create-service-token")
def create_service_token(
    project: Annotated[list[int], typer.Option("--project", help="project id (repeatable)")],
    name: Annotated[str, typer.Option("--name", help="processing service name")],
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Create a token for a processing service in these projects; prints only the token."""
    settings = load_settings(data_dir=data_dir, database_url=database_url)
    typer.echo(
        run_command(
            load_platform_commands().admin_create_service_token,
            settings,
            projects=project,
            name=name,
        )
    )


@admin_app.command("set-password")
def set_password(
    email: Annotated[str, typer.Option("--email", help="whose password")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="read the password from stdin")
    ] = False,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Set a person's web sign-in password; without --password-stdin, prints a random one."""
    settings = load_settings(data_dir=data_dir, database_url=database_url)
    given = typer.get_text_stream("stdin").readline().rstrip("\r\n") if password_stdin else None
    user, password = run_command(
        load_platform_commands().admin_set_password, settings, email=email, password=given
    )
    typer.echo(f"password set for user {user.id} <{user.email}>; their sessions ended", err=True)
    if given is None:
        typer.echo(password)
