"""Pipelines, algorithms, category maps and processing services."""

from __future__ import annotations

import hashlib
import json
import weakref
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ScalarSelect, delete, func, select, update
from sqlalchemy.orm import Session

from trapline.db.tables import (
    AlgorithmRow,
    CategoryMapRow,
    PipelineAlgorithmRow,
    PipelineRow,
    ProcessingServiceRow,
    ProjectPipelineRow,
    ProjectServiceRow,
    ServicePipelineRow,
    WorkerRow,
)
from trapline.db.types import affected
from trapline.domain.pipelines import (
    ONLINE_WINDOW,
    Algorithm,
    Pipeline,
    ProjectPipeline,
    Registration,
    ServiceStatus,
    push_service_online,
)
from trapline.errors import Conflict
from trapline.protocol import AlgorithmConfig, CategoryMap, PipelineConfig


def category_map_digest(config: CategoryMap) -> str:
    """SHA-256 of every field of a category map, in a canonical JSON form."""
    value = [config.labels, config.data, config.version, config.description, config.uri]
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


#: Pipeline versions read so far, per engine (see ``PipelineRepo.get_cached``).
_VERSIONS: weakref.WeakKeyDictionary[Any, dict[int, Pipeline]] = weakref.WeakKeyDictionary()


class PipelineRepo:
    """Registration and lookup of pipelines."""

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
    ) -> Registration:
        """Record a service and its pipelines for a project; safe to repeat.

        Pipelines and algorithms are the project's own: a slug or key registered in another
        project is another row, never read, changed or conflicted with here. A pull-mode
        service has no ``endpoint_url`` (its workers call the platform); a push-mode service
        has one, and its pipelines in this project become exactly ``configs``. ``trusted``:
        whether the latest registration of a push-mode service was an admin's.
        """
        service = self._service_row(project_id, service_name)
        if service is None:
            service = ProcessingServiceRow(name=service_name, endpoint_url=endpoint_url)
            self.session.add(service)
            self.session.flush()
        elif (service.endpoint_url is None) != (endpoint_url is None):
            raise Conflict(_mode_clash(service, project_id))
        service.endpoint_url = endpoint_url
        service.trusted = trusted
        service.last_seen_at = now
        self._link(ProjectServiceRow, project_id=project_id, service_id=service.id)
        created: list[str] = []
        updated: list[str] = []
        algorithms_created: list[str] = []
        offered: list[int] = []
        for config in configs:
            algorithm_ids = [
                self._algorithm(project_id, a, algorithms_created) for a in config.algorithms
            ]
            pipeline, is_new = self._pipeline(project_id, config, algorithm_ids)
            offers = self._link(ServicePipelineRow, service_id=service.id, pipeline_id=pipeline.id)
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
                    ServicePipelineRow.pipeline_id.in_(self._ids_in(project_id)),
                    ServicePipelineRow.pipeline_id.not_in(offered),
                )
            )
        self.session.flush()
        return Registration(service.id, created, updated, algorithms_created)

    def service_named(self, project_id: int, name: str) -> int | None:
        """The id of the project's processing service with this name."""
        row = self._service_row(project_id, name)
        return row.id if row else None

    def _service_row(self, project_id: int, name: str) -> ProcessingServiceRow | None:
        # Found by name among this project's services only: looking site-wide would link (and
        # show) another project's service and its workers to whoever picks the same name.
        return self.session.scalar(
            select(ProcessingServiceRow)
            .join(ProjectServiceRow, ProjectServiceRow.service_id == ProcessingServiceRow.id)
            .where(
                ProjectServiceRow.project_id == project_id,
                ProcessingServiceRow.name == name,
            )
            .order_by(ProcessingServiceRow.id)
            .limit(1)
        )

    def get(self, pipeline_id: int) -> Pipeline | None:
        """A pipeline version with its algorithms."""
        row = self.session.get(PipelineRow, pipeline_id)
        return self._pipeline_record(row) if row else None

    def get_cached(self, pipeline_id: int) -> Pipeline | None:
        """``get``, remembered per database: a pipeline version never changes once registered
        (registration refuses other algorithms or category maps under the same versions)."""
        known = _VERSIONS.setdefault(self.session.get_bind(), {})
        pipeline = known.get(pipeline_id)
        if pipeline is None:
            pipeline = self.get(pipeline_id)
            if pipeline is not None:
                known[pipeline_id] = pipeline
        return pipeline

    def resolve(self, project_id: int, slug: str) -> Pipeline | None:
        """The newest enabled version of a pipeline in a project."""
        row = self.session.scalar(
            select(PipelineRow)
            .join(ProjectPipelineRow, ProjectPipelineRow.pipeline_id == PipelineRow.id)
            .where(
                PipelineRow.project_id == project_id,
                ProjectPipelineRow.project_id == project_id,
                ProjectPipelineRow.enabled,
                PipelineRow.slug == slug,
            )
            .order_by(PipelineRow.version.desc())
            .limit(1)
        )
        return self._pipeline_record(row) if row else None

    def for_project(
        self, project_id: int, now: datetime, *, push_window: timedelta = ONLINE_WINDOW
    ) -> list[ProjectPipeline]:
        """Every pipeline version registered for a project, with its services' status."""
        rows = self.session.execute(
            select(PipelineRow, ProjectPipelineRow.enabled)
            .join(ProjectPipelineRow, ProjectPipelineRow.pipeline_id == PipelineRow.id)
            .where(
                PipelineRow.project_id == project_id, ProjectPipelineRow.project_id == project_id
            )
            .order_by(PipelineRow.slug, PipelineRow.version)
        ).all()
        services = self.services_of_project(project_id, now, push_window=push_window)
        by_pipeline: dict[int, list[ServiceStatus]] = {}
        for service_id, pipeline_id in self.session.execute(
            select(ServicePipelineRow.service_id, ServicePipelineRow.pipeline_id).where(
                ServicePipelineRow.service_id.in_(list(services))
            )
        ):
            by_pipeline.setdefault(pipeline_id, []).append(services[service_id])
        return [
            ProjectPipeline(self._pipeline_record(row), enabled, tuple(by_pipeline.get(row.id, ())))
            for row, enabled in rows
        ]

    def default_thresholds(self, pipeline_ids: Sequence[int]) -> dict[int, float]:
        """The default thresholds of those of the pipelines that have one."""
        rows = self.session.execute(
            select(PipelineRow.id, PipelineRow.default_threshold).where(
                PipelineRow.id.in_(list(pipeline_ids)), PipelineRow.default_threshold.is_not(None)
            )
        )
        return {pipeline_id: threshold for pipeline_id, threshold in rows if threshold is not None}

    def set_enabled(self, project_id: int, slug: str, enabled: bool) -> int:
        """Enable or disable every version of a pipeline in a project; returns rows changed."""
        result = self.session.execute(
            update(ProjectPipelineRow)
            .where(
                ProjectPipelineRow.project_id == project_id,
                ProjectPipelineRow.pipeline_id.in_(self._ids_in(project_id, slug)),
            )
            .values(enabled=enabled)
        )
        return affected(result)

    def services_of_project(
        self, project_id: int, now: datetime, *, push_window: timedelta = ONLINE_WINDOW
    ) -> dict[int, ServiceStatus]:
        """The project's processing services with their online status.

        A pull-mode service is online when one of its workers was seen within ONLINE_WINDOW; a
        push-mode service when its last status check succeeded within ``push_window``.
        """
        rows = self.session.scalars(
            select(ProcessingServiceRow)
            .join(ProjectServiceRow, ProjectServiceRow.service_id == ProcessingServiceRow.id)
            .where(ProjectServiceRow.project_id == project_id)
            .order_by(ProcessingServiceRow.id)
        ).all()
        result = {}
        for row in rows:
            if row.endpoint_url is not None:
                result[row.id] = _push_status(row, now, push_window)
                continue
            worker_seen = self.session.scalar(
                select(func.max(WorkerRow.last_seen_at)).where(WorkerRow.service_id == row.id)
            )
            seen = max((t for t in (row.last_seen_at, worker_seen) if t is not None), default=None)
            result[row.id] = ServiceStatus(
                id=row.id,
                name=row.name,
                endpoint_url=row.endpoint_url,
                last_seen_at=seen,
                online=seen is not None and now - seen <= ONLINE_WINDOW,
            )
        return result

    def pipeline_slugs(self, project_id: int, service_ids: Sequence[int]) -> dict[int, list[str]]:
        """The slugs of the project's pipelines each of these services offers, sorted."""
        slugs: dict[int, set[str]] = {service_id: set() for service_id in service_ids}
        for service_id, slug in self.session.execute(
            select(ServicePipelineRow.service_id, PipelineRow.slug)
            .join(PipelineRow, PipelineRow.id == ServicePipelineRow.pipeline_id)
            .where(
                ServicePipelineRow.service_id.in_(list(service_ids)),
                PipelineRow.project_id == project_id,
            )
        ):
            slugs[service_id].add(slug)
        return {service_id: sorted(found) for service_id, found in slugs.items()}

    def push_endpoints(self) -> list[tuple[int, str, bool]]:
        """Every push-mode service, as (id, endpoint URL, trusted), for the status checks."""
        rows = self.session.execute(
            select(
                ProcessingServiceRow.id,
                ProcessingServiceRow.endpoint_url,
                ProcessingServiceRow.trusted,
            )
            .where(ProcessingServiceRow.endpoint_url.is_not(None))
            .order_by(ProcessingServiceRow.id)
        )
        return [(service_id, url, trusted) for service_id, url, trusted in rows if url is not None]

    def record_check(self, service_id: int, now: datetime, error: str | None) -> None:
        """Note a status check of a push-mode service: seen now, or failing with ``error``."""
        values: dict[str, object] = {"last_checked_at": now, "last_error": error}
        if error is None:
            values["last_seen_at"] = now
        self.session.execute(
            update(ProcessingServiceRow)
            .where(ProcessingServiceRow.id == service_id)
            .values(**values)
        )

    def push_services_for(
        self, project_id: int, slug: str, now: datetime, window: timedelta
    ) -> list[ServiceStatus]:
        """The project's online push-mode services that offer a pipeline with this slug."""
        rows = self.session.scalars(
            select(ProcessingServiceRow)
            .join(ProjectServiceRow, ProjectServiceRow.service_id == ProcessingServiceRow.id)
            .join(ServicePipelineRow, ServicePipelineRow.service_id == ProcessingServiceRow.id)
            .join(PipelineRow, PipelineRow.id == ServicePipelineRow.pipeline_id)
            .where(
                ProjectServiceRow.project_id == project_id,
                ProcessingServiceRow.endpoint_url.is_not(None),
                PipelineRow.project_id == project_id,
                PipelineRow.slug == slug,
            )
            .order_by(ProcessingServiceRow.id)
            .distinct()
        ).all()
        found = [_push_status(row, now, window) for row in rows]
        return [status for status in found if status.online]

    def service_for_pipelines(self, slugs: Sequence[str], project_ids: Sequence[int]) -> int | None:
        """The most recently seen pull-mode service in these projects offering one of these."""
        return self.session.scalar(
            select(ProcessingServiceRow.id)
            .join(ServicePipelineRow, ServicePipelineRow.service_id == ProcessingServiceRow.id)
            .join(PipelineRow, PipelineRow.id == ServicePipelineRow.pipeline_id)
            .join(ProjectServiceRow, ProjectServiceRow.service_id == ProcessingServiceRow.id)
            .where(
                PipelineRow.slug.in_(list(slugs)),
                ProjectServiceRow.project_id.in_(list(project_ids)),
                PipelineRow.project_id == ProjectServiceRow.project_id,
                ProcessingServiceRow.endpoint_url.is_(None),  # workers pull; push services don't
            )
            .order_by(ProcessingServiceRow.last_seen_at.desc())
            .limit(1)
        )

    def _ids_in(self, project_id: int, slug: str | None = None) -> ScalarSelect[int]:
        """The ids of the project's pipelines (with this slug), as a subquery."""
        query = select(PipelineRow.id).where(PipelineRow.project_id == project_id)
        if slug is not None:
            query = query.where(PipelineRow.slug == slug)
        return query.scalar_subquery()

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
            row.default_threshold = config.default_threshold
            return row, False
        row = PipelineRow(
            project_id=project_id,
            slug=config.slug,
            version=config.version,
            name=config.name,
            description=config.description,
            stages=[s.model_dump() for s in config.stages],
            default_threshold=config.default_threshold,
        )
        self.session.add(row)
        self.session.flush()
        for algorithm_id in sorted(set(algorithm_ids)):
            self.session.add(PipelineAlgorithmRow(pipeline_id=row.id, algorithm_id=algorithm_id))
        self.session.flush()
        return row, True

    def _link(self, table: type, **key: int) -> bool:
        if self.session.get(table, tuple(key.values())) is not None:
            return False
        self.session.add(table(**key))
        self.session.flush()
        return True

    def _pipeline_record(self, row: PipelineRow) -> Pipeline:
        algorithms = self.session.execute(
            select(AlgorithmRow, CategoryMapRow.labels)
            .join(PipelineAlgorithmRow, PipelineAlgorithmRow.algorithm_id == AlgorithmRow.id)
            .outerjoin(CategoryMapRow, CategoryMapRow.id == AlgorithmRow.category_map_id)
            .where(PipelineAlgorithmRow.pipeline_id == row.id)
            .order_by(AlgorithmRow.id)
        ).all()
        return Pipeline(
            id=row.id,
            slug=row.slug,
            version=row.version,
            name=row.name,
            description=row.description,
            default_threshold=row.default_threshold,
            algorithms=tuple(
                Algorithm(
                    id=a.id,
                    key=a.key,
                    version=a.version,
                    name=a.name,
                    task_type=a.task_type,
                    labels=tuple(labels) if labels is not None else None,
                    uri=a.uri,
                    weights_sha256=a.weights_sha256,
                )
                for a, labels in algorithms
            ),
        )


def _push_status(row: ProcessingServiceRow, now: datetime, window: timedelta) -> ServiceStatus:
    return ServiceStatus(
        id=row.id,
        name=row.name,
        endpoint_url=row.endpoint_url,
        last_seen_at=row.last_seen_at,
        online=push_service_online(row.last_seen_at, row.last_error, now, window),
        last_checked_at=row.last_checked_at,
        last_error=row.last_error,
        trusted=row.trusted,
    )


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
