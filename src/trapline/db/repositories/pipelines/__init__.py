"""Pipelines (SQL): pipelines and their versions, the processing services and workers that serve
them.
"""

from __future__ import annotations

from functools import cached_property

from sqlalchemy.orm import Session

from trapline.db.repositories.pipelines.pipelines import PipelineRepo
from trapline.db.repositories.pipelines.workers import WorkerRepo


class PipelineRepos:
    """Pipelines's repositories in one transaction, each made when first used."""

    def __init__(self, session: Session) -> None:
        self._session = session

    @cached_property
    def pipelines(self) -> PipelineRepo:
        return PipelineRepo(self._session)

    @cached_property
    def workers(self) -> WorkerRepo:
        return WorkerRepo(self._session)


__all__ = ["PipelineRepos"]
