"""Photos (SQL): their uploads, listings, capture times and blobs, and removing deployments."""

from __future__ import annotations

from functools import cached_property

from sqlalchemy.orm import Session

from trapline.db.repositories.photos.capture_times import CaptureTimeRepo
from trapline.db.repositories.photos.deployment_removal import DeploymentRemovalRepo
from trapline.db.repositories.photos.images import ImageRepo


class PhotoRepos:
    """Photos's repositories in one transaction, each made when first used."""

    def __init__(self, session: Session) -> None:
        self._session = session

    @cached_property
    def capture_times(self) -> CaptureTimeRepo:
        return CaptureTimeRepo(self._session)

    @cached_property
    def deployment_removal(self) -> DeploymentRemovalRepo:
        return DeploymentRemovalRepo(self._session)

    @cached_property
    def images(self) -> ImageRepo:
        return ImageRepo(self._session)


__all__ = ["PhotoRepos"]
