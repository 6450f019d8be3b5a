"""Pull sources: places a project's images are fetched from on a schedule."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from trapline.api.deps import CurrentUser, DatabaseDep
from trapline.background.sources import SourceRunner
from trapline.http.pagination import offset_page
from trapline.http.params import DEFAULT_LIMIT, Id, Limit, Offset
from trapline.http.state import platform_of
from trapline.schemas.sources import RunOut, SourceFileOut, SourceIn, SourceOut, SourcePatch
from trapline.services.sources import sources

router = APIRouter(tags=["sources"])


async def _runner(request: Request) -> SourceRunner:
    return platform_of(request).sources


RunnerDep = Annotated[SourceRunner, Depends(_runner)]


@router.post("/projects/{project_id}/sources", status_code=201)
def create_source(
    project_id: Id, body: SourceIn, caller: CurrentUser, db: DatabaseDep, runner: RunnerDep
) -> SourceOut:
    """Add a pull source to a project (managers)."""
    values = body.model_dump(exclude_none=True)
    made = sources.create_source(db, runner.rules, caller, project_id, **values)
    return SourceOut.of(made)


@router.get("/projects/{project_id}/sources")
def list_sources(
    request: Request,
    project_id: Id,
    caller: CurrentUser,
    db: DatabaseDep,
    limit: Limit = DEFAULT_LIMIT,
    offset: Offset = 0,
) -> dict[str, Any]:
    """A project's pull sources."""
    total, found = sources.list_sources(db, caller, project_id, limit=limit, offset=offset)
    return offset_page(request, total, [SourceOut.of(s) for s in found], limit, offset)


@router.get("/sources/{source_id}")
def get_source(source_id: Id, caller: CurrentUser, db: DatabaseDep) -> SourceOut:
    """One pull source (credentials only as set or not)."""
    return SourceOut.of(sources.get_source(db, caller, source_id))


@router.patch("/sources/{source_id}")
def update_source(
    source_id: Id, body: SourcePatch, caller: CurrentUser, db: DatabaseDep, runner: RunnerDep
) -> SourceOut:
    """Change a pull source (managers); send only the fields to change."""
    changed = sources.update_source(db, runner.rules, caller, source_id, **body.changes())
    return SourceOut.of(changed)


@router.delete("/sources/{source_id}", status_code=204)
def delete_source(source_id: Id, caller: CurrentUser, db: DatabaseDep) -> Response:
    """Remove a pull source with its runs (managers); its images stay."""
    sources.delete_source(db, caller, source_id)
    return Response(status_code=204)


@router.post("/sources/{source_id}/run", status_code=202)
def run_source(source_id: Id, caller: CurrentUser, db: DatabaseDep, runner: RunnerDep) -> RunOut:
    """Run a pull source now (managers); answers at once with the run, which goes on here."""
    run = sources.request_run(db, caller, source_id)
    runner.submit(source_id)
    return RunOut.of(run)


@router.get("/sources/{source_id}/runs")
def list_runs(
    request: Request,
    source_id: Id,
    caller: CurrentUser,
    db: DatabaseDep,
    limit: Limit = DEFAULT_LIMIT,
    offset: Offset = 0,
) -> dict[str, Any]:
    """A pull source's runs, newest first, with their counts and errors."""
    total, found = sources.list_runs(db, caller, source_id, limit=limit, offset=offset)
    return offset_page(request, total, [RunOut.of(r) for r in found], limit, offset)


@router.get("/sources/{source_id}/runs/{run_id}")
def get_run(source_id: Id, run_id: Id, caller: CurrentUser, db: DatabaseDep) -> RunOut:
    """One run of a pull source."""
    return RunOut.of(sources.get_run(db, caller, source_id, run_id))


@router.get("/sources/{source_id}/runs/{run_id}/failures")
def list_failures(
    request: Request,
    source_id: Id,
    run_id: Id,
    caller: CurrentUser,
    db: DatabaseDep,
    limit: Limit = DEFAULT_LIMIT,
    offset: Offset = 0,
) -> dict[str, Any]:
    """The files a run could not take, with their errors and when they are tried again."""
    total, found = sources.run_failures(db, caller, source_id, run_id, limit=limit, offset=offset)
    return offset_page(request, total, [SourceFileOut.of(i) for i in found], limit, offset)
