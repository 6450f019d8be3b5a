"""Ecology (SQL): events, the occurrences tracked in them, and the counts of both."""

from __future__ import annotations

from functools import cached_property

from sqlalchemy.orm import Session

from trapline.db.repositories.ecology.carrying import CarryRepo
from trapline.db.repositories.ecology.choices import ChoiceRepo
from trapline.db.repositories.ecology.compare import CompareRepo
from trapline.db.repositories.ecology.counts import CountRepo
from trapline.db.repositories.ecology.events import EventRepo
from trapline.db.repositories.ecology.listings import ListingRepo
from trapline.db.repositories.ecology.occurrences import OccurrenceRepo
from trapline.db.repositories.ecology.regroupings import RegroupingRepo
from trapline.db.repositories.ecology.species import SpeciesRepo
from trapline.db.repositories.ecology.tracking import TrackingRepo


class EcologyRepos:
    """Ecology's repositories in one transaction, each made when first used."""

    def __init__(self, session: Session) -> None:
        self._session = session

    @cached_property
    def carrying(self) -> CarryRepo:
        return CarryRepo(self._session)

    @cached_property
    def choices(self) -> ChoiceRepo:
        return ChoiceRepo(self._session)

    @cached_property
    def compare(self) -> CompareRepo:
        return CompareRepo(self._session)

    @cached_property
    def counts(self) -> CountRepo:
        return CountRepo(self._session)

    @cached_property
    def events(self) -> EventRepo:
        return EventRepo(self._session)

    @cached_property
    def listings(self) -> ListingRepo:
        return ListingRepo(self._session)

    @cached_property
    def occurrences(self) -> OccurrenceRepo:
        return OccurrenceRepo(self._session)

    @cached_property
    def regroupings(self) -> RegroupingRepo:
        return RegroupingRepo(self._session)

    @cached_property
    def species(self) -> SpeciesRepo:
        return SpeciesRepo(self._session)

    @cached_property
    def tracking(self) -> TrackingRepo:
        return TrackingRepo(self._session)


__all__ = ["EcologyRepos"]
