"""Which running jobs a worker may serve, remembered briefly beside its token
(``AccessMemo``): a worker calls several times a second about the same job."""

from __future__ import annotations

from trapline.clock import Clock
from trapline.db.engine import Database
from trapline.domain.core.records import Project, User
from trapline.domain.pipelines.pipelines import Offered
from trapline.domain.processing.jobs import Job, JobStatus
from trapline.services.core.access import AccessMemo, Kept, require, worker_project


class WorkerAccess(AccessMemo):
    """``AccessMemo`` that also remembers the running jobs each worker may serve."""

    def __init__(self, db: Database, ttl: float, clock: Clock | None = None) -> None:
        super().__init__(db, ttl, clock)
        self._jobs: dict[tuple[int, int], Kept[tuple[Job, Project]]] = {}
        self._offered: dict[int, Kept[Offered]] = {}

    def worker_job(self, caller: User, job_id: int) -> tuple[Job, Project]:
        """A job the caller may work on and its project; NotFound as for any foreign job."""
        hit = self.recall(self._jobs, (caller.id, job_id))
        if hit is not None:
            return hit
        version = self.db.access_version
        with self.db.read() as repos:
            job = require(repos.processing.jobs.get(job_id), "job", job_id)
            project = worker_project(repos, caller, job.project_id, asked=("job", job_id))
        if job.status is JobStatus.RUNNING:
            self.keep(self._jobs, (caller.id, job_id), (job, project), version)
        return job, project

    def serves(self, caller: User, job: Job) -> bool:
        """Whether the caller's worker serves the job's pipeline version (``Offered.serves``):
        a worker whose token registered in the project is given only the versions it
        registered there, none of a pipeline refused there."""
        offered = self.recall(self._offered, caller.id)
        if offered is None:
            version = self.db.access_version
            with self.db.read() as repos:
                offered = repos.pipelines.pipelines.registered_by(caller.id)
            self.keep(self._offered, caller.id, offered, version)
        return offered.serves(job.project_id, job.pipeline_slug, job.pipeline_version)
