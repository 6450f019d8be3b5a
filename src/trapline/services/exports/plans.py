"""What an export reads and the names its writer needs: its scope (the photos its filters,
pipeline and collection take) and its context (project, deployments, algorithms, pipelines),
planned once before its first batch is read."""

from __future__ import annotations

from trapline.db.engine import Database
from trapline.db.repositories.exports.export_reads import ExportScope
from trapline.db.repositories.exports.same_names import NameScope
from trapline.domain.exports.exports import Export
from trapline.errors import TraplineError
from trapline.exports.file_names import FileNames
from trapline.exports.reader import ExportContext
from trapline.services.exports.file_names import file_names


def plan(
    db: Database, export: Export, base_url: str | None
) -> tuple[ExportContext, ExportScope, int] | None:
    """The export's context, its scope and how many photos it takes; None when its project
    is gone. ``base_url`` is the server's public address, which links to media start with."""
    f = export.filters
    with db.read() as repos:
        project = repos.core.projects.get(export.project_id)
        if project is None:
            return None
        pipelines = repos.pipelines.pipelines.facts(export.project_id)
        pipeline_ids = None
        if f.pipeline is not None:
            pipeline_ids = [
                p.id for p in pipelines.values()
                if p.slug == f.pipeline and f.pipeline_version in (None, p.version)
            ]  # fmt: skip
        collection_id, collection_filter = None, None
        if f.collection_id is not None:
            collection = repos.core.collections.get(f.collection_id)
            if collection is None:
                raise TraplineError(f"collection {f.collection_id} was deleted")
            if collection.kind == "explicit":
                collection_id = collection.id
            else:
                collection_filter = collection.filter
        scope = ExportScope(
            export.project_id,
            f,
            pipeline_ids=pipeline_ids,
            collection_id=collection_id,
            collection_filter=collection_filter,
            max_image_id=repos.exports.export_reads.max_image_id(export.project_id),
        )
        total = repos.exports.export_reads.count_images(scope)
        deployments = {}
        offset = 0
        while True:  # every deployment: a project has a few hundred at most
            _, page = repos.core.deployments.page(export.project_id, limit=1000, offset=offset)
            deployments.update({d.id: d for d in page})
            if len(page) < 1000:
                break
            offset += 1000
        names = FileNames()
        if export.format.names_paths:
            named = NameScope(export.project_id, f.deployment_id, scope.max_image_id)
            names = file_names(repos, named)
        context = ExportContext(
            project=project,
            filters=f,
            deployments=deployments,
            algorithms=repos.exports.export_reads.algorithms(export.project_id),
            pipelines=pipelines,
            created_at=export.created_at,
            base_url=base_url,
            installation=repos.core.projects.installation(),
            hidden_labels=frozenset(repos.taxa.taxa.hidden_labels(export.project_id)),
            job_thresholds=repos.processing.jobs.thresholds(export.project_id),
            file_names=names,
        )
    return context, scope, total
