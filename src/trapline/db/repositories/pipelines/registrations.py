"""A processing service's registration of its pipelines in a project: the rows it writes.

Registering is safe to repeat: algorithms, category maps and pipelines already stored are
found (a category map by its digest, shared by every project) and links are made once.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ScalarSelect, delete, select
from sqlalchemy.orm import Session

from trapline.db.tables import (
    AlgorithmRow,
    AnalysisRow,
    CategoryMapRow,
    PipelineAlgorithmRow,
    PipelineRow,
    ProcessingServiceRow,
    ProjectPipelineRow,
    ProjectServiceRow,
    RegistrantPipelineRow,
    ServicePipelineRow,
)
from trapline.db.tracking_due import events_due
from trapline.db.types import access_changed
from trapline.domain.pipelines.pipelines import Registration
from trapline.errors import Conflict
from trapline.protocol.pipelines import AlgorithmConfig, CategoryMap, PipelineConfig


def category_map_digest(config: CategoryMap) -> str:
    """SHA-256 of every field of a category map, in a canonical JSON form."""
    value = [config.labels, config.data, config.version, config.description, config.uri]
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


def service_row(session: Session, project_id: int, name: str) -> ProcessingServiceRow | None:
    """The project's processing service with this name, if it has one."""
    # Found by name among this project's services only: looking site-wide would link (and
    # show) another project's service and its workers to whoever picks the same name.
    return session.scalar(
        select(ProcessingServiceRow)
        .join(ProjectServiceRow, ProjectServiceRow.service_id == ProcessingServiceRow.id)
        .where(
            ProjectServiceRow.project_id == project_id,
            ProcessingServiceRow.name == name,
        )
        .order_by(ProcessingServiceRow.id)
        .limit(1)
    )


def pipeline_ids(project_id: int, slug: str | None = None) -> ScalarSelect[int]:
    """The ids of the project's pipelines (with this slug), as a subquery."""
    query = select(PipelineRow.id).where(PipelineRow.project_id == project_id)
    if slug is not None:
        query = query.where(PipelineRow.slug == slug)
    return query.scalar_subquery()


class Registrar:
    """Writes one registration in the session's transaction (``PipelineRepo.register``)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def register(
        self,
        project_id: int,
        service_name: str,
        configs: Sequence[PipelineConfig],
        now: datetime,
        *,
        endpoint_url: str | None = None,
        trusted: bool = False,
        registered_by: int | None = None,
    ) -> Registration:
        """Record a service and its pipelines for a project; safe to repeat.

        Pipelines and algorithms are the project's own: a slug or key registered in another
        project is another row, never read, changed or conflicted with here. A pull-mode
        service has no ``endpoint_url`` (its workers call the platform); a push-mode service
        has one, and its pipelines in this project become exactly ``configs``. ``trusted``:
        whether the latest registration of a push-mode service was an admin's;
        ``registered_by``: the account whose token registers a pull-mode service.
        """
        service = service_row(self.session, project_id, service_name)
        if service is None:
            service = ProcessingServiceRow(name=service_name, endpoint_url=endpoint_url)
            self.session.add(service)
            self.session.flush()
        elif (service.endpoint_url is None) != (endpoint_url is None):
            raise Conflict(_mode_clash(service, project_id))
        service.endpoint_url = endpoint_url
        service.trusted = trusted
        service.last_seen_at = now
        # What a worker's token serves is remembered briefly (``WorkerAccess.serves``): a new
        # registrant or a newly offered version voids what this process remembers.
        changed = registered_by is not None and service.registered_by_id != registered_by
        if registered_by is not None:
            service.registered_by_id = registered_by
        self._link(ProjectServiceRow, project_id=project_id, service_id=service.id)
        created: list[str] = []
        updated: list[str] = []
        algorithms_created: list[str] = []
        offered: list[int] = []
        refused: list[tuple[str, int, str]] = []
        for config in configs:
            try:
                with self.session.begin_nested():  # a pipeline that conflicts leaves nothing
                    new_keys: list[str] = []
                    algorithm_ids = [
                        self._algorithm(project_id, a, new_keys) for a in config.algorithms
                    ]
                    pipeline, is_new = self._pipeline(project_id, config, algorithm_ids)
            except Conflict as exc:
                refused.append((config.slug, config.version, exc.detail))
                continue
            algorithms_created += new_keys
            offers = self._link(ServicePipelineRow, service_id=service.id, pipeline_id=pipeline.id)
            if registered_by is not None and endpoint_url is None:  # its token's workers' own
                mine = self._link(
                    RegistrantPipelineRow, user_id=registered_by, pipeline_id=pipeline.id
                )
                changed = changed or offers or mine
            self._link(ProjectPipelineRow, project_id=project_id, pipeline_id=pipeline.id)
            if is_new:
                created.append(config.slug)
            elif offers:  # a version the project had, newly offered by this service
                updated.append(config.slug)
            offered.append(pipeline.id)
        if endpoint_url is not None:  # a push service offers what its /info says, no more
            self.session.execute(
                delete(ServicePipelineRow).where(
                    ServicePipelineRow.service_id == service.id,
                    ServicePipelineRow.pipeline_id.in_(pipeline_ids(project_id)),
                    ServicePipelineRow.pipeline_id.not_in(offered),
                )
            )
        if changed:
            access_changed(self.session)
        if refused and not offered and endpoint_url is not None:  # nothing of it is kept
            raise Conflict("; ".join(why for _, _, why in refused))
        self.session.flush()
        # A pull-mode service refused whole is kept, offering nothing: its token is held to
        # nothing in the project (``Offered.serves``); the caller answers the refusal.
        return Registration(
            service.id, created, updated, algorithms_created, refused, registered=len(offered)
        )

    def _algorithm(self, project_id: int, config: AlgorithmConfig, created: list[str]) -> int:
        map_id = self._category_map(config.category_map) if config.category_map else None
        row = self.session.scalar(
            select(AlgorithmRow).where(
                AlgorithmRow.project_id == project_id,
                AlgorithmRow.key == config.key,
                AlgorithmRow.version == config.version,
            )
        )
        if row is not None:
            if row.category_map_id != map_id:
                # The same map but one without per-label data (registered before workers sent
                # it, or by a worker that still does not) is no change: the fuller one stays.
                kept = self._fuller_map(row.category_map_id, map_id)
                if kept is None:
                    raise Conflict(
                        f"algorithm {config.key} version {config.version} is already registered "
                        "in this project with another category map; give the changed algorithm "
                        "a new version"
                    )
                row.category_map_id = kept
            return row.id
        row = AlgorithmRow(
            project_id=project_id,
            key=config.key,
            version=config.version,
            name=config.name,
            task_type=config.task_type,
            version_name=config.version_name,
            description=config.description,
            uri=config.uri,
            weights_sha256=config.weights_sha256,
            category_map_id=map_id,
        )
        self.session.add(row)
        self.session.flush()
        created.append(config.key)
        return row.id

    def _fuller_map(self, stored: int | None, offered: int | None) -> int | None:
        """Of two maps that differ only in whether they have data, the one that has it; None
        when they differ otherwise."""
        old = self.session.get(CategoryMapRow, stored) if stored is not None else None
        new = self.session.get(CategoryMapRow, offered) if offered is not None else None
        if old is None or new is None or bool(old.data) == bool(new.data):
            return None
        same = (list(old.labels), old.version, old.description, old.uri) == (
            list(new.labels),
            new.version,
            new.description,
            new.uri,
        )
        if not same:
            return None
        return stored if old.data else offered

    def _category_map(self, config: CategoryMap) -> int:
        # Shared by every project that registers the same map, so the digest covers all of it:
        # a map differing in any field (a description, a URI) is another row, and nobody's
        # registration can put words into a map another project's algorithm shows.
        digest = category_map_digest(config)
        found = self.session.scalar(
            select(CategoryMapRow.id).where(CategoryMapRow.digest == digest)
        )
        if found is not None:
            return found
        row = CategoryMapRow(
            digest=digest,
            labels=config.labels,
            data=config.data,
            version=config.version,
            description=config.description,
            uri=config.uri,
        )
        self.session.add(row)
        self.session.flush()
        return row.id

    def _pipeline(
        self, project_id: int, config: PipelineConfig, algorithm_ids: list[int]
    ) -> tuple[PipelineRow, bool]:
        row = self.session.scalar(
            select(PipelineRow).where(
                PipelineRow.project_id == project_id,
                PipelineRow.slug == config.slug,
                PipelineRow.version == config.version,
            )
        )
        if row is not None:
            have = set(
                self.session.scalars(
                    select(PipelineAlgorithmRow.algorithm_id).where(
                        PipelineAlgorithmRow.pipeline_id == row.id
                    )
                )
            )
            if have != set(algorithm_ids):
                raise Conflict(
                    f"pipeline {config.slug} version {config.version} is already registered in "
                    "this project with other algorithms; give the changed pipeline a new version"
                )
            if row.default_threshold != config.default_threshold:
                # Which of its boxes count changed: the events of its photos track again.
                row.default_threshold = config.default_threshold
                events_due(
                    self.session,
                    select(AnalysisRow.image_id).where(AnalysisRow.pipeline_id == row.id),
                )
            row.classifies_boxes = bool(config.classifies_boxes)
            return row, False
        if self._external(project_id, config.slug):
            # Results are counted by the name of what made them: the two would be one.
            raise Conflict(
                f"pipeline {config.slug}: the project holds results an external pipeline posted "
                f"through the callback API as model {config.slug!r}; register the pipeline "
                "under another slug, so that its results are never taken for that model's"
            )
        row = PipelineRow(
            project_id=project_id,
            slug=config.slug,
            version=config.version,
            name=config.name,
            description=config.description,
            stages=[s.model_dump() for s in config.stages],
            default_threshold=config.default_threshold,
            classifies_boxes=bool(config.classifies_boxes),
        )
        self.session.add(row)
        self.session.flush()
        for algorithm_id in sorted(set(algorithm_ids)):
            self.session.add(PipelineAlgorithmRow(pipeline_id=row.id, algorithm_id=algorithm_id))
        self.session.flush()
        return row, True

    def _external(self, project_id: int, slug: str) -> bool:
        """Whether ``slug`` is new to the project and names the model of results posted
        through the callback API there (read once, when a slug is first registered)."""
        known = select(PipelineRow.id).where(
            PipelineRow.project_id == project_id, PipelineRow.slug == slug
        )
        if self.session.scalar(known.limit(1)) is not None:
            return False
        posted = select(AnalysisRow.id).where(
            AnalysisRow.pipeline_id.is_(None),
            AnalysisRow.project_id == project_id,
            AnalysisRow.model_name == slug,
        )
        return self.session.scalar(posted.limit(1)) is not None

    def _link(self, table: type, **key: int) -> bool:
        if self.session.get(table, tuple(key.values())) is not None:
            return False
        self.session.add(table(**key))
        self.session.flush()
        return True


def _mode_clash(service: ProcessingServiceRow, project_id: int) -> str:
    if service.endpoint_url is None:
        return (
            f"{service.name!r} is a pull-mode processing service of project {project_id} (its "
            "workers call the platform); give the push-mode service another name"
        )
    return (
        f"{service.name!r} is a push-mode processing service of project {project_id} (the "
        "platform calls it); register pull-mode workers under another name"
    )
