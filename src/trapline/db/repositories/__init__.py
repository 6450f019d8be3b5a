"""Repositories: every SQL statement of the platform's records, grouped by aggregate, and
the aggregates grouped by capability (decision 076): ``repos.review.classifiers``.
"""

from __future__ import annotations

from functools import cached_property

from sqlalchemy.orm import Session

from trapline.db.repositories.callbacks import CallbackRepos
from trapline.db.repositories.core import CoreRepos
from trapline.db.repositories.ecology import EcologyRepos
from trapline.db.repositories.exports import ExportRepos
from trapline.db.repositories.photos import PhotoRepos
from trapline.db.repositories.pipelines import PipelineRepos
from trapline.db.repositories.processing import ProcessingRepos
from trapline.db.repositories.review import ReviewRepos
from trapline.db.repositories.sources import SourceRepos
from trapline.db.repositories.taxa import TaxaRepos


class Repos:
    """The repositories of one transaction, one view a capability (``repos.photos.images``).

    A view is made when a block first uses it, and each repository in it likewise: a
    transaction builds only what it touches. Which views a service may use follows the
    capabilities' order (``tests/unit/test_capability_views.py``).
    """

    def __init__(self, session: Session) -> None:
        self.session = session

    @cached_property
    def core(self) -> CoreRepos:
        return CoreRepos(self.session)

    @cached_property
    def pipelines(self) -> PipelineRepos:
        return PipelineRepos(self.session)

    @cached_property
    def processing(self) -> ProcessingRepos:
        return ProcessingRepos(self.session)

    @cached_property
    def taxa(self) -> TaxaRepos:
        return TaxaRepos(self.session)

    @cached_property
    def ecology(self) -> EcologyRepos:
        return EcologyRepos(self.session)

    @cached_property
    def review(self) -> ReviewRepos:
        return ReviewRepos(self.session)

    @cached_property
    def photos(self) -> PhotoRepos:
        return PhotoRepos(self.session)

    @cached_property
    def sources(self) -> SourceRepos:
        return SourceRepos(self.session)

    @cached_property
    def callbacks(self) -> CallbackRepos:
        return CallbackRepos(self.session)

    @cached_property
    def exports(self) -> ExportRepos:
        return ExportRepos(self.session)


__all__ = ["Repos"]
