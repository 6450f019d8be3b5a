"""The ``trapline`` command: a thin shell that parses, configures logging and calls one function.

The platform's commands (``up``, ``serve``, ``migrate``, ``admin``) import the platform only when
they run, so ``trapline worker ...`` works in a worker install, which has none of its packages.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Annotated, Any

import typer

from trapline import __version__
from trapline.settings import Settings

app = typer.Typer(
    help="trapline: run ML pipelines over field images and keep what they found.",
    no_args_is_help=True,
    add_completion=False,
)
admin_app = typer.Typer(
    help="Administration on the database the settings point to.", no_args_is_help=True
)
app.add_typer(admin_app, name="admin")
worker_app = typer.Typer(
    help="Run ML pipelines for a trapline (or Antenna) platform.", add_completion=False
)
app.add_typer(worker_app, name="worker")
# Pull sources, over the API: works in a worker install too.
from trapline.source_commands import sources_app  # noqa: E402

app.add_typer(sources_app, name="sources")

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


#: Third-party packages of the platform (the ``server`` extra), as imported.
PLATFORM_PACKAGES = frozenset(
    {"fastapi", "starlette", "uvicorn", "sqlalchemy", "alembic", "psycopg", "multipart"}
)


def platform_commands() -> ModuleType:
    """``trapline.commands``, or an exit saying which extra to install when it is missing."""
    try:
        import trapline.commands
    except ModuleNotFoundError as exc:
        if (exc.name or "").partition(".")[0] not in PLATFORM_PACKAGES:
            raise
        typer.echo(
            f"error: this command runs the trapline platform, which is not installed here "
            f"(no {exc.name} module); install it with: pip install 'trapline[server]'",
            err=True,
        )
        raise typer.Exit(2) from exc
    return trapline.commands


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment, with the flags given on the command line on top."""
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValueError as exc:
        typer.echo(f"error: invalid settings: {exc}", err=True)
        raise typer.Exit(2) from exc


def _version(value: bool) -> None:
    if value:
        typer.echo(f"trapline {__version__}")
        raise typer.Exit


@app.callback()
def main_options(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="print the version")
    ] = False,
) -> None:
    """trapline: run ML pipelines over field images and keep what they found."""


@app.command()
def up(
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    host: Host = None,
    port: Port = None,
    demo: Annotated[bool, typer.Option("--demo", help="also create a demo project")] = False,
) -> None:
    """Run everything in one process on embedded defaults, creating an admin on first run."""
    settings = load_settings(data_dir=data_dir, database_url=database_url, host=host, port=port)
    _run(platform_commands().run_up, settings, demo=demo)


@app.command()
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
    _run(platform_commands().run_serve, settings)


@app.command()
def migrate(data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """Bring the database schema up to date."""
    _run(
        platform_commands().run_migrate, load_settings(data_dir=data_dir, database_url=database_url)
    )
    typer.echo("database is up to date", err=True)


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
    commands = platform_commands()
    user = _run(commands.admin_create_user, settings, email=email, name=name, is_admin=is_admin)
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
    typer.echo(_run(platform_commands().admin_create_token, settings, email=email, name=name))


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
        _run(platform_commands().admin_create_service_token, settings, projects=project, name=name)
    )


@app.command("demo-images")
def demo_images(
    folder: Annotated[Path, typer.Argument(help="folder to write the photos into")],
    count: Annotated[int, typer.Option("--count", help="how many photos (1-1000)")] = 6,
) -> None:
    """Write sample light-trap photos (JPEG, named by capture time) to try uploads with."""
    from trapline.imaging.samples import write_sample_photos

    try:
        paths = write_sample_photos(folder, count)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"wrote {len(paths)} photos to {folder}/ ({paths[0].name} ...)", err=True)


@app.command("upload")
def upload(
    folder: Annotated[Path, typer.Argument(help="folder of photos")],
    project: Annotated[int, typer.Option("--project", help="project id")],
    deployment: Annotated[
        int | None, typer.Option("--deployment", help="deployment id", show_default=False)
    ] = None,
    recursive: Annotated[bool, typer.Option("--recursive", help="include sub-folders")] = False,
    threads: Annotated[int, typer.Option("--threads", help="requests at once (1-16)")] = 4,
    api_url: ApiUrl = None,
    token: Token = None,
) -> None:
    """Upload a folder's photos to a project: skips what it has (SHA-256), resumable."""
    import httpx

    from trapline.client import ApiError, Client

    settings = load_settings(api_url=api_url, token=token)
    if settings.token is None:
        typer.echo("error: no token: pass --token or set TRAPLINE_TOKEN", err=True)
        raise typer.Exit(2)
    with Client(settings.api_url, settings.token.get_secret_value()) as client:
        try:
            summary = client.upload_folder(
                project,
                folder,
                deployment_id=deployment,
                recursive=recursive,
                threads=min(max(threads, 1), 16),
            )
        except (ApiError, FileNotFoundError) as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from exc
        except httpx.HTTPError as exc:
            typer.echo(f"error: cannot reach {settings.api_url}: {exc}", err=True)
            raise typer.Exit(1) from exc
    typer.echo("\n".join(summary.lines()), err=True)
    raise typer.Exit(1 if summary.failed else 0)


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
    user, password = _run(
        platform_commands().admin_set_password, settings, email=email, password=given
    )
    typer.echo(f"password set for user {user.id} <{user.email}>; their sessions ended", err=True)
    if given is None:
        typer.echo(password)


@worker_app.callback(invoke_without_command=True)
def worker(
    ctx: typer.Context,
    pipeline: PipelineSlugs = None,
    pipeline_file: PipelineFiles = None,
    api_url: ApiUrl = None,
    token: Token = None,
    batch_size: Annotated[
        int | None,
        typer.Option(
            "--batch-size",
            help="same as TRAPLINE_BATCH_SIZE or AMI_ANTENNA_API_BATCH_SIZE",
            show_default=False,
        ),
    ] = None,
    name: WorkerName = None,
    burst: Annotated[
        bool, typer.Option("--burst", help="exit when there is no work (TRAPLINE_BURST)")
    ] = False,
    max_memory: Annotated[
        str | None,
        typer.Option("--max-memory", help="e.g. 4G (TRAPLINE_MAX_MEMORY)", show_default=False),
    ] = None,
) -> None:
    """Pull tasks for these pipelines, run them and post the results, until stopped."""
    if ctx.invoked_subcommand is not None:
        return
    from trapline.worker.main import run_worker

    settings = load_settings(
        pipelines=pipeline or None,
        pipeline_files=pipeline_file or None,
        api_url=api_url,
        token=token,
        batch_size=batch_size,
        worker_name=name,
        burst=True if burst else None,
        max_memory=max_memory,
    )
    raise typer.Exit(_run(run_worker, settings))


@worker_app.command("register")
def worker_register(
    project: Annotated[list[int], typer.Option("--project", help="project id (repeatable)")],
    pipeline: PipelineSlugs = None,
    pipeline_file: PipelineFiles = None,
    name: WorkerName = None,
    api_url: ApiUrl = None,
    token: Token = None,
) -> None:
    """Register this worker's pipelines with projects (loads no model)."""
    from trapline.worker.main import run_register

    settings = load_settings(
        pipelines=pipeline or None,
        pipeline_files=pipeline_file or None,
        worker_name=name,
        api_url=api_url,
        token=token,
    )
    raise typer.Exit(_run(run_register, settings, projects=project))


@worker_app.command("serve")
def worker_serve(
    pipeline: PipelineSlugs = None,
    pipeline_file: PipelineFiles = None,
    host: Host = None,
    port: Port = None,
) -> None:
    """Serve the pipelines as a synchronous processing service (/info, /readyz, /process)."""
    from trapline.worker.main import run_service

    settings = load_settings(
        pipelines=pipeline or None, pipeline_files=pipeline_file or None, host=host, port=port
    )
    raise typer.Exit(_run(run_service, settings))


@app.command("eval")
def evaluate(
    pipeline: Annotated[str, typer.Option("--pipeline", help="pipeline slug to measure")],
    images: Annotated[
        Path, typer.Option("--images", help="folder the ground truth's photos are in")
    ],
    truth: Annotated[Path, typer.Option("--truth", help="ground truth: COCO or MegaDetector JSON")],
    pipeline_file: PipelineFiles = None,
    draw: Annotated[
        Path | None,
        typer.Option("--draw", help="write each photo with its boxes here", show_default=False),
    ] = None,
    min_score: Annotated[
        float | None,
        typer.Option(
            "--min-score",
            help="ignore detections scored below this (default: the pipeline's threshold)",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Measure a pipeline's detections against drawn boxes: precision, recall, F1 per photo."""
    from trapline.evaluation.cli import run_eval

    settings = load_settings(pipeline_files=pipeline_file or None)
    typer.echo(
        _run(
            run_eval,
            settings,
            slug=pipeline,
            images=images,
            truth=truth,
            draw=draw,
            min_score=min_score,
        )
    )


# Exports and imports (docs/exports.md).

ProjectId = Annotated[int, typer.Option("--project", help="project id")]
AsEmail = Annotated[
    str | None,
    typer.Option("--as", help="account to act as (default: the admin `up` creates)"),
]


@app.command()
def export(
    project: ProjectId,
    fmt: Annotated[str, typer.Option("--format", help="csv, coco, megadetector or camtrap-dp")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="file to write (default: its own name)")
    ] = None,
    deployment: Annotated[int | None, typer.Option("--deployment", help="deployment id")] = None,
    date_from: Annotated[str | None, typer.Option("--from", help="first capture date")] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="last capture date")] = None,
    collection: Annotated[int | None, typer.Option("--collection", help="collection id")] = None,
    job: Annotated[int | None, typer.Option("--job", help="job id")] = None,
    pipeline: Annotated[str | None, typer.Option("--pipeline", help="pipeline slug")] = None,
    pipeline_version: Annotated[int | None, typer.Option("--pipeline-version")] = None,
    min_confidence: Annotated[float | None, typer.Option("--min-confidence")] = None,
    include_empty: Annotated[
        bool, typer.Option("--include-empty", help="CSV: rows for images without detections")
    ] = False,
    as_email: AsEmail = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Export a project's images and results to a file, showing progress."""
    from datetime import date

    from trapline.domain.exports import ExportFilters, ExportFormat

    try:
        chosen = ExportFormat(fmt)
        filters = ExportFilters(
            deployment_id=deployment,
            date_from=date.fromisoformat(date_from) if date_from else None,
            date_to=date.fromisoformat(date_to) if date_to else None,
            collection_id=collection,
            job_id=job,
            pipeline=pipeline,
            pipeline_version=pipeline_version,
            min_confidence=min_confidence,
            include_empty=include_empty,
        )
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc

    def progress(e: Any) -> None:
        total = f" of {e.images_total:,}" if e.images_total is not None else ""
        typer.echo(
            f"\rexport {e.id}: {e.status} {e.images_done:,}{total} images", err=True, nl=False
        )

    settings = load_settings(data_dir=data_dir, database_url=database_url)
    target = output or Path(f"trapline-project{project}-export.{chosen.extension}")
    done = _run(
        platform_commands_exports().run_export, settings, project_id=project, fmt=chosen,
        filters=filters, output=target, as_email=as_email, progress=progress,
    )  # fmt: skip
    typer.echo(f"\nwrote {target} ({done.size_bytes:,} bytes): {done.counts}", err=True)


@app.command("import-megadetector")
def import_megadetector(
    path: Annotated[Path, typer.Argument(help="MegaDetector batch output (JSON)")],
    project: ProjectId,
    deployment: Annotated[int | None, typer.Option("--deployment", help="deployment id")] = None,
    threshold: Annotated[float, typer.Option("--threshold", help="lowest conf kept")] = 0.0,
    as_email: AsEmail = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Import MegaDetector results into a project; prints the report (JSON) on stdout."""
    import json
    from dataclasses import asdict

    settings = load_settings(data_dir=data_dir, database_url=database_url)
    report = _run(
        platform_commands_exports().run_import_megadetector, settings, project_id=project,
        path=path, deployment_id=deployment, threshold=threshold, as_email=as_email,
    )  # fmt: skip
    typer.echo(json.dumps(asdict(report), indent=2))


def platform_commands_exports() -> ModuleType:
    """``trapline.commands_exports`` (the platform's), or an exit saying what to install."""
    platform_commands()
    import trapline.commands_exports

    return trapline.commands_exports


@app.command("simulate-pipeline")
def simulate_pipeline(
    image_id: Annotated[int, typer.Option("--image-id", help="image to analyse")],
    model_name: Annotated[str, typer.Option("--model-name")] = "simulated-pipeline",
    model_version: Annotated[str, typer.Option("--model-version")] = "1.0",
    url: Annotated[
        str | None, typer.Option("--url", help="server URL; default: from TRAPLINE_API_URL")
    ] = None,
    key_id: Annotated[str | None, typer.Option("--key-id", help="X-ML-Key-Id to send")] = None,
) -> None:
    """Drive one analysis through the callback API as an external pipeline would (HTTP only).

    The token comes from TRAPLINE_TOKEN, the secret from ML_CALLBACK_HMAC_SECRET (or
    TRAPLINE_ML_CALLBACK_HMAC_SECRET; the first of a list).
    """
    import httpx

    from trapline.simulation import PipelineClient, simulate, summary

    settings = load_settings()
    secrets = settings.callback_secrets()
    if settings.token is None or not secrets:
        typer.echo("error: set TRAPLINE_TOKEN and ML_CALLBACK_HMAC_SECRET", err=True)
        raise typer.Exit(2)
    base = (url or settings.api_url).rstrip("/").removesuffix("/api/v2")
    with httpx.Client(base_url=base, timeout=60) as http:
        client = PipelineClient(
            http, settings.token.get_secret_value(), secrets[0].decode(), key_id
        )
        try:
            analysis = simulate(
                client, image_id, model_name=model_name, model_version=model_version
            )
        except (RuntimeError, httpx.HTTPError) as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from exc
    typer.echo(summary(analysis))


def _run(function: Any, settings: Settings, **kwargs: Any) -> Any:
    from trapline.errors import TraplineError

    try:
        return function(settings, **kwargs)
    except TraplineError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(1) from exc


def main() -> None:
    """Entry point of the ``trapline`` script."""
    app()


if __name__ == "__main__":
    main()
