"""Exports (SQL): exports and imports of the field's formats."""

from __future__ import annotations

from functools import cached_property

from sqlalchemy.orm import Session

from trapline.db.repositories.exports.camtrap import CamtrapRepo
from trapline.db.repositories.exports.export_reads import ExportReadRepo
from trapline.db.repositories.exports.exports import ExportRepo
from trapline.db.repositories.exports.same_names import SameNameRepo


class ExportRepos:
    """Exports's repositories in one transaction, each made when first used."""

    def __init__(self, session: Session) -> None:
        self._session = session

    @cached_property
    def camtrap(self) -> CamtrapRepo:
        return CamtrapRepo(self._session)

    @cached_property
    def export_reads(self) -> ExportReadRepo:
        return ExportReadRepo(self._session)

    @cached_property
    def exports(self) -> ExportRepo:
        return ExportRepo(self._session)

    @cached_property
    def same_names(self) -> SameNameRepo:
        return SameNameRepo(self._session)


__all__ = ["ExportRepos"]
