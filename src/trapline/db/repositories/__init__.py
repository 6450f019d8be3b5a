"""Repositories: every SQL statement of the platform's records, grouped by aggregate."""

from __future__ import annotations

from sqlalchemy.orm import Session

from trapline.db.repositories.collections import CollectionRepo
from trapline.db.repositories.deployments import DeploymentRepo
from trapline.db.repositories.images import ImageRepo
from trapline.db.repositories.projects import ProjectRepo
from trapline.db.repositories.users import UserRepo


class Repos:
    """The repositories of one transaction."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.users = UserRepo(session)
        self.projects = ProjectRepo(session)
        self.deployments = DeploymentRepo(session)
        self.images = ImageRepo(session)
        self.collections = CollectionRepo(session)


__all__ = ["Repos"]
