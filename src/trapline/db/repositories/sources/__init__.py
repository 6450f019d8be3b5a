"""Sources (SQL): pull sources: folders and buckets photos are taken in from."""

from __future__ import annotations

from functools import cached_property

from sqlalchemy.orm import Session

from trapline.db.repositories.sources.sources import SourceRepo


class SourceRepos:
    """Sources's repositories in one transaction, each made when first used."""

    def __init__(self, session: Session) -> None:
        self._session = session

    @cached_property
    def sources(self) -> SourceRepo:
        return SourceRepo(self._session)


__all__ = ["SourceRepos"]
