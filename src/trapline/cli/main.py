"""The ``trapline`` command: a thin shell that parses, configures logging and calls one function.

Each command is a function in a module of this package, registered here in the order
``trapline --help`` lists them.
"""

from __future__ import annotations

from typing import Annotated

import typer

from trapline import __version__
from trapline.cli import admin, data, pipelines, server, worker
from trapline.cli.sources import sources_app

app = typer.Typer(
    help="trapline: run ML pipelines over field images and keep what they found.",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(admin.admin_app, name="admin")
app.add_typer(worker.worker_app, name="worker")
# Pull sources, over the API: works in a worker install too.
app.add_typer(sources_app, name="sources")


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


app.command()(server.up)
app.command()(server.serve)
app.command()(server.migrate)
app.command("demo-images")(data.demo_images)
app.command("upload")(data.upload)
app.command("eval")(pipelines.evaluate)
app.command()(data.export)
app.command("import-megadetector")(data.import_megadetector)
app.command("simulate-pipeline")(pipelines.simulate_pipeline)


def main() -> None:
    """Entry point of the ``trapline`` script."""
    app()


if __name__ == "__main__":
    main()
