"""Images and results in and out: `demo-images`, `upload`, `export`, `import-megadetector`.

Exports and imports are described in docs/exports.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from trapline.cli import tuning
from trapline.cli.base import (
    ApiUrl,
    AsEmail,
    DatabaseUrl,
    DataDir,
    ProjectId,
    Token,
    load_export_commands,
    load_settings,
    run_command,
)


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
    if settings.worker.token is None:
        typer.echo("error: no token: pass --token or set TRAPLINE_TOKEN", err=True)
        raise typer.Exit(2)
    with Client(settings.worker.api_url, settings.worker.token.get_secret_value()) as client:
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
            typer.echo(f"error: cannot reach {settings.worker.api_url}: {exc}", err=True)
            raise typer.Exit(1) from exc
    typer.echo("\n".join(summary.lines()), err=True)
    raise typer.Exit(1 if summary.failed else 0)


def export(
    project: ProjectId,
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            help="csv, coco, megadetector, camtrap-dp, dwca, occurrences-csv or occurrences-json",
        ),
    ],
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
    all_runs: Annotated[
        bool, typer.Option("--all-runs", help="every run's results, not only the current ones")
    ] = False,
    observation_level: Annotated[
        str,
        typer.Option(
            "--observation-level",
            help="camtrap-dp: media (an observation per detection) or event (per event and "
            "label, counting occurrences)",
        ),
    ] = "media",
    as_email: AsEmail = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Export a project's images and results to a file, showing progress and its warnings.

    Exits with 1 when the export has no rows (the file is written all the same)."""
    from datetime import date

    from pydantic import ValidationError

    from trapline.http.errors import describe_validation_errors
    from trapline.schemas.exports import ExportIn

    try:
        asked = ExportIn.model_validate(
            {
                "format": fmt,
                "deployment_id": deployment,
                "date_from": date.fromisoformat(date_from) if date_from else None,
                "date_to": date.fromisoformat(date_to) if date_to else None,
                "collection_id": collection,
                "job_id": job,
                "pipeline": pipeline,
                "pipeline_version": pipeline_version,
                "min_confidence": min_confidence,
                "include_empty": include_empty,
                "all_runs": all_runs,
                "observation_level": observation_level,
            }
        )
    except ValidationError as exc:
        typer.echo(f"error: {describe_validation_errors(exc.errors())}", err=True)
        raise typer.Exit(2) from exc
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    chosen, filters = asked.format, asked.filters()

    def progress(e: Any) -> None:
        total = f" of {e.images_total:,}" if e.images_total is not None else ""
        typer.echo(
            f"\rexport {e.id}: {e.status} {e.images_done:,}{total} images", err=True, nl=False
        )

    settings = load_settings(data_dir=data_dir, database_url=database_url)
    target = output or Path(f"trapline-project{project}-export.{chosen.extension}")
    commands = load_export_commands()
    tuning.apply(settings.server)  # the export runs as a server runs it, collector and all
    done = run_command(
        commands.run_export, settings, project_id=project, fmt=chosen,
        filters=filters, output=target, as_email=as_email, progress=progress,
    )  # fmt: skip
    typer.echo(f"\nwrote {target} ({done.size_bytes:,} bytes): {done.counts}", err=True)
    for problem in done.errors:
        typer.echo(f"warning: {problem}", err=True)
    if not done.counts.get("rows"):
        typer.echo(f"error: export {done.id} has no rows: nothing was written", err=True)
        raise typer.Exit(1)


def import_megadetector(
    path: Annotated[Path, typer.Argument(help="MegaDetector batch output (JSON)")],
    project: ProjectId,
    deployment: Annotated[int | None, typer.Option("--deployment", help="deployment id")] = None,
    threshold: Annotated[
        float | None,
        typer.Option(
            "--threshold",
            help="score the model counts boxes from (every box is stored); default: the "
            "file's typical_detection_threshold, else 0.2",
        ),
    ] = None,
    as_email: AsEmail = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Import MegaDetector results into a project; prints the report (JSON) on stdout."""
    import json
    from dataclasses import asdict

    settings = load_settings(data_dir=data_dir, database_url=database_url)
    report = run_command(
        load_export_commands().run_import_megadetector, settings, project_id=project,
        path=path, deployment_id=deployment, threshold=threshold, as_email=as_email,
    )  # fmt: skip
    typer.echo(json.dumps(asdict(report), indent=2))
