"""``trapline admin ...``: accounts and tokens, on the database the settings point to."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from trapline.cli.base import (
    DatabaseUrl,
    DataDir,
    load_platform_commands,
    load_settings,
    run_command,
)

if TYPE_CHECKING:  # the platform is imported only by the commands that run it
    from trapline.services.photos.findings import Rebuilt
    from trapline.services.photos.sizes import SizesReread

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


@admin_app.command("reread-sizes")
def reread_sizes(
    project: Annotated[
        int | None, typer.Option("--project", help="only this project's photos")
    ] = None,
    after: Annotated[
        int, typer.Option("--after", help="start after this image id (to go on from a stop)")
    ] = 0,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Record the upright size of photos stored before trapline turned them by their EXIF
    orientation (phone photos whose boxes were refused); safe to run again."""
    settings = load_settings(data_dir=data_dir, database_url=database_url)

    def progress(found: SizesReread) -> None:
        typer.echo(
            f"read {found.checked:,} photos, corrected {found.corrected:,} "
            f"(up to image {found.last_id})",
            err=True,
        )

    found = run_command(
        load_platform_commands().admin_reread_sizes,
        settings,
        project_id=project,
        after_id=after,
        progress=progress,
    )
    typer.echo(
        f"{found.checked:,} photos read; {found.corrected:,} had their upright size recorded; "
        f"{found.unreadable:,} unreadable, left as they were"
    )
    for line in found.named:
        typer.echo(f"  {line}")


@admin_app.command("rebuild-findings")
def rebuild_findings(
    project: Annotated[int | None, typer.Option("--project", help="only this project")] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Work out now what photos' current results found, for the projects the server would
    do it for in the background (after an upgrade, or a version pinned); safe to run again."""
    settings = load_settings(data_dir=data_dir, database_url=database_url)

    def progress(step: Rebuilt) -> None:
        where = "done" if step.reached is None else f"photos up to id {step.reached:,} done"
        typer.echo(f"project {step.project_id}: {where}", err=True)

    finished = run_command(
        load_platform_commands().admin_rebuild_findings,
        settings,
        project_id=project,
        progress=progress,
    )
    if finished:
        typer.echo(f"findings worked out again for projects {', '.join(map(str, finished))}")
    else:
        typer.echo("no project needed its findings worked out again")
