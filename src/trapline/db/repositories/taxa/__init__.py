"""Taxa (SQL): taxa lists, a project's taxa and what its labels stand for."""

from __future__ import annotations

from functools import cached_property

from sqlalchemy.orm import Session

from trapline.db.repositories.taxa.taxa import TaxaRepo
from trapline.db.repositories.taxa.taxa_store import TaxaStore


class TaxaRepos:
    """Taxa's repositories in one transaction, each made when first used."""

    def __init__(self, session: Session) -> None:
        self._session = session

    @cached_property
    def taxa(self) -> TaxaRepo:
        return TaxaRepo(self._session)

    @cached_property
    def taxa_store(self) -> TaxaStore:
        return TaxaStore(self._session)


__all__ = ["TaxaRepos"]
