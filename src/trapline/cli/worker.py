"""``trapline worker ...``: run pipelines for a platform, pulling tasks or serving them."""

from __future__ import annotations

from typing import Annotated

import typer

from trapline.cli.base import (
    ApiUrl,
    Host,
    PipelineFiles,
    PipelineSlugs,
    Port,
    Token,
    WorkerName,
    load_settings,
    run_command,
)

worker_app = typer.Typer(
    help="Run ML pipelines for a trapline (or Antenna) platform.", add_completion=False
)


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
    raise typer.Exit(run_command(run_worker, settings))


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
    raise typer.Exit(run_command(run_register, settings, projects=project))


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
    raise typer.Exit(run_command(run_service, settings))
