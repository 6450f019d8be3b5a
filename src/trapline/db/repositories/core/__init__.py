"""Core (SQL): accounts, tokens, projects and who may do what in them; the records every
capability shares.
"""

from __future__ import annotations

from functools import cached_property

from sqlalchemy.orm import Session

from trapline.db.repositories.core.collections import CollectionRepo
from trapline.db.repositories.core.deployments import DeploymentRepo
from trapline.db.repositories.core.duties import DutyLeaseRepo
from trapline.db.repositories.core.image_records import ImageRecordRepo
from trapline.db.repositories.core.projects import ProjectRepo
from trapline.db.repositories.core.sessions import SessionRepo
from trapline.db.repositories.core.users import UserRepo


class CoreRepos:
    """Core's repositories in one transaction, each made when first used."""

    def __init__(self, session: Session) -> None:
        self._session = session

    @cached_property
    def collections(self) -> CollectionRepo:
        return CollectionRepo(self._session)

    @cached_property
    def deployments(self) -> DeploymentRepo:
        return DeploymentRepo(self._session)

    @cached_property
    def duty_leases(self) -> DutyLeaseRepo:
        return DutyLeaseRepo(self._session)

    @cached_property
    def images(self) -> ImageRecordRepo:
        return ImageRecordRepo(self._session)

    @cached_property
    def projects(self) -> ProjectRepo:
        return ProjectRepo(self._session)

    @cached_property
    def sessions(self) -> SessionRepo:
        return SessionRepo(self._session)

    @cached_property
    def users(self) -> UserRepo:
        return UserRepo(self._session)


__all__ = ["CoreRepos"]
