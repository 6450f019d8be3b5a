"""A pipeline measured or simulated: ``trapline eval`` and ``trapline simulate-pipeline``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from trapline.cli.base import PipelineFiles, load_settings, run_command


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
    from trapline.cli.evaluation import run_eval

    settings = load_settings(pipeline_files=pipeline_file or None)
    typer.echo(
        run_command(
            run_eval,
            settings,
            slug=pipeline,
            images=images,
            truth=truth,
            draw=draw,
            min_score=min_score,
        )
    )


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

    from trapline.client.simulation import PipelineClient, simulate, summary

    settings = load_settings()
    secrets = settings.callbacks.hmac_secrets()
    base = (url or settings.worker.api_url).rstrip("/").removesuffix("/api/v2")
    if settings.worker.token is None:
        typer.echo(
            "error: set TRAPLINE_TOKEN to a member's API token of the image's project", err=True
        )
        raise typer.Exit(2)
    if not secrets:
        token = settings.worker.token.get_secret_value()
        typer.echo(_secret_hint(base, token, image_id), err=True)
        raise typer.Exit(2)
    with httpx.Client(base_url=base, timeout=60) as http:
        client = PipelineClient(
            http, settings.worker.token.get_secret_value(), secrets[0].decode(), key_id
        )
        try:
            analysis = simulate(
                client, image_id, model_name=model_name, model_version=model_version
            )
        except (RuntimeError, httpx.HTTPError) as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from exc
    typer.echo(summary(analysis))


def _secret_hint(base: str, token: str, image_id: int) -> str:
    """How to get a callback secret: the exact call that makes one for the image's project
    (its id looked up with the token when the server answers)."""
    import httpx

    try:
        answer = httpx.get(
            f"{base}/api/v2/images/{image_id}/",
            headers={"Authorization": f"Token {token}"},
            timeout=10,
        )
        answer.raise_for_status()
        project = str(answer.json()["project_id"])
    except (httpx.HTTPError, ValueError, KeyError):
        project = "<project id>"  # the server did not say: the reader fills it in
    return (
        "error: no callback secret: set ML_CALLBACK_HMAC_SECRET to one of the server's, or make a "
        "project secret (managers) and sign with it:\n"
        f"  curl -X POST {base}/api/v2/projects/{project}/callback-secrets \\\n"
        '    -H "Authorization: Token $TRAPLINE_TOKEN" -H "Content-Type: application/json" \\\n'
        '    -d \'{"name": "simulator"}\'\n'
        "then, with the secret and key_id it answers (shown once):\n"
        f"  ML_CALLBACK_HMAC_SECRET=<secret> trapline simulate-pipeline --image-id {image_id} "
        "--key-id <key_id>"
    )
