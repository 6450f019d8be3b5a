"""``trapline sources add|list|run|runs``: pull sources from the command line, over the API.

A thin client of the platform's API (``TRAPLINE_API_URL`` and ``TRAPLINE_TOKEN``, as for the
worker), so it works from any machine that can reach the platform, with the caller's own
rights. Answers are printed as JSON, one object per line.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import httpx
import typer

from trapline.cli.base import load_settings
from trapline.settings import Settings

sources_app = typer.Typer(
    help="Pull sources of a project, over the API (TRAPLINE_API_URL, TRAPLINE_TOKEN).",
    no_args_is_help=True,
)

Project = Annotated[int, typer.Option("--project", help="project id")]


def _client(settings: Settings) -> httpx.Client:
    from trapline.worker.client import api_base

    if settings.worker.token is None:
        typer.echo("error: set TRAPLINE_TOKEN to a manager's (or member's) API token", err=True)
        raise typer.Exit(2)
    return httpx.Client(
        base_url=api_base(settings.worker.api_url),
        headers={"Authorization": f"Token {settings.worker.token.get_secret_value()}"},
        timeout=settings.worker.request_timeout,
    )


def _call(method: str, path: str, body: dict[str, Any] | None = None) -> Any:
    settings = load_settings()
    with _client(settings) as client:
        try:
            answer = client.request(method, path, json=body)
        except httpx.HTTPError as exc:
            typer.echo(f"error: could not reach {settings.worker.api_url}: {exc}", err=True)
            raise typer.Exit(1) from None
    data = answer.json() if answer.content else None
    if answer.status_code >= 400:
        detail = data.get("detail") if isinstance(data, dict) else answer.text
        typer.echo(f"error: {answer.status_code}: {detail}", err=True)
        raise typer.Exit(1)
    return data


def _print(*items: Any) -> None:
    for item in items:
        typer.echo(json.dumps(item, sort_keys=True))


@sources_app.command("add")
def add(
    project: Project,
    name: Annotated[str, typer.Option(help="the source's name")],
    kind: Annotated[str, typer.Option(help="http_directory, s3, ftp or local")],
    url: Annotated[str, typer.Option(help="where the photos are")],
    depth: Annotated[int, typer.Option(help="levels of sub-folders followed")] = 0,
    schedule: Annotated[str, typer.Option(help="cron, five fields, UTC")] = "0 * * * *",
    include: Annotated[list[str] | None, typer.Option(help="glob taken (repeatable)")] = None,
    exclude: Annotated[list[str] | None, typer.Option(help="glob left (repeatable)")] = None,
    pipeline: Annotated[str | None, typer.Option(help="process new images with it")] = None,
    deployment: Annotated[int | None, typer.Option(help="deployment id")] = None,
    endpoint_url: Annotated[str | None, typer.Option(help="s3: MinIO endpoint")] = None,
    credential: Annotated[
        list[str] | None,
        typer.Option(help="NAME=VALUE, or NAME=@FILE to read the value from a file (repeatable)"),
    ] = None,
) -> None:
    """Add a pull source to a project (managers)."""
    body: dict[str, Any] = {"name": name, "kind": kind, "url": url, "depth": depth,
                            "schedule": schedule}  # fmt: skip
    optional = {"include": include, "exclude": exclude, "pipeline": pipeline,
                "deployment_id": deployment, "endpoint_url": endpoint_url}  # fmt: skip
    for field, value in optional.items():
        if value:
            body[field] = value
    if credential:
        body["credentials"] = dict(_credential(c) for c in credential)
    _print(_call("POST", f"/projects/{project}/sources", body))


def _credential(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        typer.echo(f"error: --credential is NAME=VALUE or NAME=@FILE (got {text!r})", err=True)
        raise typer.Exit(2)
    if value.startswith("@"):
        with open(value[1:], encoding="utf-8") as handle:
            value = handle.read().strip()
    return name, value


@sources_app.command("list")
def list_sources(project: Project) -> None:
    """A project's pull sources."""
    _print(*_call("GET", f"/projects/{project}/sources?limit=1000")["results"])


@sources_app.command("run")
def run(source: Annotated[int, typer.Argument(help="source id")]) -> None:
    """Run a source now; prints the run (follow it with ``trapline sources runs``)."""
    _print(_call("POST", f"/sources/{source}/run"))


@sources_app.command("runs")
def runs(
    source: Annotated[int, typer.Argument(help="source id")],
    limit: Annotated[int, typer.Option(help="runs shown, newest first")] = 20,
) -> None:
    """A source's runs, newest first, with their counts and errors."""
    _print(*_call("GET", f"/sources/{source}/runs?limit={limit}")["results"])
