"""Pipelines, algorithms, category maps and processing services, as projects see them."""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import Session

from trapline.db.repositories.pipelines.registrations import Registrar, pipeline_ids, service_row
from trapline.db.tables import (
    AlgorithmRow,
    CategoryMapRow,
    PipelineAlgorithmRow,
    PipelineRow,
    ProcessingServiceRow,
    ProjectPipelineRow,
    ProjectServiceRow,
    RegistrantPipelineRow,
    ServicePipelineRow,
    WorkerRow,
)
from trapline.db.types import affected
from trapline.domain.pipelines.pipelines import (
    ONLINE_WINDOW,
    Algorithm,
    Offered,
    Pipeline,
    PipelineFacts,
    ProjectPipeline,
    Registration,
    ServiceStatus,
    push_service_online,
)
from trapline.protocol.pipelines import PipelineConfig

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
        registered_by: int | None = None,
    ) -> Registration:
        """Record a service and its pipelines for a project; safe to repeat
        (``registrations.py``)."""
        return Registrar(self.session).register(
            project_id, service_name, configs, now,
            endpoint_url=endpoint_url, trusted=trusted, registered_by=registered_by,
        )  # fmt: skip

    def service_named(self, project_id: int, name: str) -> int | None:
        """The id of the project's processing service with this name."""
        row = service_row(self.session, project_id, name)
        return row.id if row else None

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

    def resolve(self, project_id: int, slug: str, version: int | None = None) -> Pipeline | None:
        """A pipeline's ``version`` enabled in a project (None: its newest)."""
        query = self._enabled(project_id, slug)
        if version is not None:
            query = query.where(PipelineRow.version == version)
        row = self.session.scalar(query.order_by(PipelineRow.version.desc()).limit(1))
        return self._pipeline_record(row) if row else None

    def facts(self, project_id: int) -> dict[int, PipelineFacts]:
        """The project's pipeline versions, as results and exports name them."""
        p = PipelineRow
        rows = self.session.execute(
            select(p.id, p.slug, p.version, p.name, p.default_threshold).where(
                p.project_id == project_id
            )
        )
        return {
            r.id: PipelineFacts(r.id, r.slug, r.version, r.name, r.default_threshold) for r in rows
        }

    def versions(self, project_id: int, slug: str) -> list[int]:
        """The versions of a pipeline enabled in a project, oldest first."""
        rows = self.session.scalars(self._enabled(project_id, slug).order_by(PipelineRow.version))
        return [row.version for row in rows]

    def named(self, project_id: int, slug: str) -> bool:
        """Whether the project has a pipeline of this slug, enabled or not."""
        found = select(PipelineRow.id).where(
            PipelineRow.project_id == project_id, PipelineRow.slug == slug
        )
        return self.session.scalar(found.limit(1)) is not None

    @staticmethod
    def _enabled(project_id: int, slug: str) -> Select[PipelineRow]:
        return (
            select(PipelineRow)
            .join(ProjectPipelineRow, ProjectPipelineRow.pipeline_id == PipelineRow.id)
            .where(
                PipelineRow.project_id == project_id,
                ProjectPipelineRow.project_id == project_id,
                ProjectPipelineRow.enabled,
                PipelineRow.slug == slug,
            )
        )

    def with_algorithm(self, project_id: int, key: str) -> Pipeline | None:
        """The project's pipeline version whose algorithms include the one keyed ``key``."""
        row = self.session.scalar(
            select(PipelineRow)
            .join(PipelineAlgorithmRow, PipelineAlgorithmRow.pipeline_id == PipelineRow.id)
            .join(AlgorithmRow, AlgorithmRow.id == PipelineAlgorithmRow.algorithm_id)
            .where(PipelineRow.project_id == project_id, AlgorithmRow.key == key)
            .order_by(PipelineRow.id)
            .limit(1)
        )
        return self._pipeline_record(row) if row else None

    def services_of(self, pipeline_id: int) -> set[str]:
        """The names of the processing services that registered the pipeline in its project
        (the import one for imported results, the refits' for a promoted refit)."""
        return set(
            self.session.scalars(
                select(ProcessingServiceRow.name)
                .join(ServicePipelineRow, ServicePipelineRow.service_id == ProcessingServiceRow.id)
                .where(ServicePipelineRow.pipeline_id == pipeline_id)
            )
        )

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

    def enabled_slugs(self, project_id: int) -> list[str]:
        """The slugs of the pipelines enabled in a project."""
        rows = self.session.scalars(
            select(PipelineRow.slug)
            .join(ProjectPipelineRow, ProjectPipelineRow.pipeline_id == PipelineRow.id)
            .where(ProjectPipelineRow.project_id == project_id, ProjectPipelineRow.enabled)
            .distinct()
            .order_by(PipelineRow.slug)
        )
        return [str(s) for s in rows]

    def set_enabled(self, project_id: int, slug: str, enabled: bool) -> int:
        """Enable or disable every version of a pipeline in a project; returns rows changed."""
        result = self.session.execute(
            update(ProjectPipelineRow)
            .where(
                ProjectPipelineRow.project_id == project_id,
                ProjectPipelineRow.pipeline_id.in_(pipeline_ids(project_id, slug)),
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

    def registered_by(self, user_id: int) -> Offered:
        """What this account's token registered in pull mode: the projects it registered a
        service in, and the pipeline versions it registered there (another token registering
        under the same service name gives it nothing of its own)."""
        s = ProcessingServiceRow
        rows = self.session.execute(
            select(PipelineRow.project_id, PipelineRow.slug, PipelineRow.version)
            .join(RegistrantPipelineRow, RegistrantPipelineRow.pipeline_id == PipelineRow.id)
            .where(RegistrantPipelineRow.user_id == user_id)
        ).all()
        projects = {
            *self.session.scalars(
                select(ProjectServiceRow.project_id)
                .join(s, s.id == ProjectServiceRow.service_id)
                .where(s.registered_by_id == user_id, s.endpoint_url.is_(None))
            ),
            *(project_id for project_id, _, _ in rows if project_id is not None),
        }
        found: dict[tuple[int, str], set[int]] = {}
        for project_id, slug, version in rows:  # pipelines of no project are never offered
            if project_id is not None:
                found.setdefault((int(project_id), str(slug)), set()).add(int(version))
        return Offered(
            frozenset(int(p) for p in projects),
            {key: frozenset(versions) for key, versions in found.items()},
        )

    def push_services_for(
        self, project_id: int, pipeline_id: int, now: datetime, window: timedelta
    ) -> list[ServiceStatus]:
        """The project's online push-mode services that offer this pipeline version (a
        service of version 1 is never sent the tasks of version 2)."""
        rows = self.session.scalars(
            select(ProcessingServiceRow)
            .join(ProjectServiceRow, ProjectServiceRow.service_id == ProcessingServiceRow.id)
            .join(ServicePipelineRow, ServicePipelineRow.service_id == ProcessingServiceRow.id)
            .join(PipelineRow, PipelineRow.id == ServicePipelineRow.pipeline_id)
            .where(
                ProjectServiceRow.project_id == project_id,
                ProcessingServiceRow.endpoint_url.is_not(None),
                PipelineRow.project_id == project_id,
                PipelineRow.id == pipeline_id,
            )
            .order_by(ProcessingServiceRow.id)
            .distinct()
        ).all()
        found = [_push_status(row, now, window) for row in rows]
        return [status for status in found if status.online]

    def serving(
        self, slugs: Sequence[str], project_ids: Sequence[int] | None, now: datetime
    ) -> int | None:
        """A worker offering these pipelines was seen now serving these projects (None: every
        project): each pull-mode service there that offers one of them is seen now, so it is
        online in every project the worker serves, not only the one its row names. The most
        recently seen of them before (the worker's own service), if any."""
        offering = (
            select(ProcessingServiceRow.id)
            .join(ServicePipelineRow, ServicePipelineRow.service_id == ProcessingServiceRow.id)
            .join(PipelineRow, PipelineRow.id == ServicePipelineRow.pipeline_id)
            .join(ProjectServiceRow, ProjectServiceRow.service_id == ProcessingServiceRow.id)
            .where(
                PipelineRow.slug.in_(list(slugs)),
                PipelineRow.project_id == ProjectServiceRow.project_id,
                ProcessingServiceRow.endpoint_url.is_(None),  # workers pull; push services don't
            )
        )
        if project_ids is not None:
            offering = offering.where(ProjectServiceRow.project_id.in_(list(project_ids)))
        own = self.session.scalar(
            offering.order_by(ProcessingServiceRow.last_seen_at.desc()).limit(1)
        )
        if own is not None:
            self.session.execute(
                update(ProcessingServiceRow)
                .where(ProcessingServiceRow.id.in_(offering.scalar_subquery()))
                .values(last_seen_at=now)
                .execution_options(synchronize_session=False)
            )
        return own

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
            classifies_boxes=row.classifies_boxes,
            algorithms=tuple(_algorithm(a, labels) for a, labels in algorithms),
        )

    def algorithms_of(self, project_id: int, slug: str) -> tuple[Algorithm, ...]:
        """The algorithms of every version of pipeline ``slug`` in the project (without their
        category maps)."""
        rows = self.session.scalars(
            select(AlgorithmRow)
            .join(PipelineAlgorithmRow, PipelineAlgorithmRow.algorithm_id == AlgorithmRow.id)
            .join(PipelineRow, PipelineRow.id == PipelineAlgorithmRow.pipeline_id)
            .where(PipelineRow.project_id == project_id, PipelineRow.slug == slug)
            .distinct()
            .order_by(AlgorithmRow.id)
        )
        return tuple(_algorithm(a, None) for a in rows)


def _algorithm(a: AlgorithmRow, labels: Sequence[str] | None) -> Algorithm:
    return Algorithm(
        id=a.id,
        key=a.key,
        version=a.version,
        name=a.name,
        task_type=a.task_type,
        labels=tuple(labels) if labels is not None else None,
        uri=a.uri,
        weights_sha256=a.weights_sha256,
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
