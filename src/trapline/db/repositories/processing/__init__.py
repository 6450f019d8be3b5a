"""Processing (SQL): jobs, tasks, and the results workers and services post (which of them
are current: ``db/current.py``).
"""

from __future__ import annotations

from functools import cached_property

from sqlalchemy.orm import Session

from trapline.db.repositories.processing.analyses import AnalysisRepo
from trapline.db.repositories.processing.dispatch import DispatchRepo
from trapline.db.repositories.processing.given_boxes import GivenBoxRepo
from trapline.db.repositories.processing.jobs import JobRepo
from trapline.db.repositories.processing.selection import SelectionRepo
from trapline.db.repositories.processing.tasks import TaskRepo


class ProcessingRepos:
    """Processing's repositories in one transaction, each made when first used."""

    def __init__(self, session: Session) -> None:
        self._session = session

    @cached_property
    def analyses(self) -> AnalysisRepo:
        return AnalysisRepo(self._session)

    @cached_property
    def dispatch(self) -> DispatchRepo:
        return DispatchRepo(self._session)

    @cached_property
    def given_boxes(self) -> GivenBoxRepo:
        return GivenBoxRepo(self._session)

    @cached_property
    def jobs(self) -> JobRepo:
        return JobRepo(self._session)

    @cached_property
    def selection(self) -> SelectionRepo:
        return SelectionRepo(self._session)

    @cached_property
    def tasks(self) -> TaskRepo:
        return TaskRepo(self._session)


__all__ = ["ProcessingRepos"]
