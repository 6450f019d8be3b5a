"""Review (SQL): what people say of occurrences and detections: identifications and reviews."""

from __future__ import annotations

from functools import cached_property

from sqlalchemy.orm import Session

from trapline.db.repositories.review.classifiers import ClassifierRepo
from trapline.db.repositories.review.crop_boxes import CropBoxRepo
from trapline.db.repositories.review.detection_scorers import DetectionScorerRepo
from trapline.db.repositories.review.evaluation_boxes import EvaluationBoxRepo
from trapline.db.repositories.review.evaluation_sets import EvaluationSetRepo
from trapline.db.repositories.review.groupings import GroupingRepo
from trapline.db.repositories.review.identifications import IdentificationRepo
from trapline.db.repositories.review.refit_examples import RefitExampleRepo
from trapline.db.repositories.review.reviews import ReviewRepo
from trapline.db.repositories.review.unidentified import UnidentifiedRepo


class ReviewRepos:
    """Review's repositories in one transaction, each made when first used."""

    def __init__(self, session: Session) -> None:
        self._session = session

    @cached_property
    def classifiers(self) -> ClassifierRepo:
        return ClassifierRepo(self._session)

    @cached_property
    def crop_boxes(self) -> CropBoxRepo:
        return CropBoxRepo(self._session)

    @cached_property
    def detection_scorers(self) -> DetectionScorerRepo:
        return DetectionScorerRepo(self._session)

    @cached_property
    def evaluation_boxes(self) -> EvaluationBoxRepo:
        return EvaluationBoxRepo(self._session)

    @cached_property
    def evaluation_sets(self) -> EvaluationSetRepo:
        return EvaluationSetRepo(self._session)

    @cached_property
    def groupings(self) -> GroupingRepo:
        return GroupingRepo(self._session)

    @cached_property
    def identifications(self) -> IdentificationRepo:
        return IdentificationRepo(self._session)

    @cached_property
    def refit_examples(self) -> RefitExampleRepo:
        return RefitExampleRepo(self._session)

    @cached_property
    def reviews(self) -> ReviewRepo:
        return ReviewRepo(self._session)

    @cached_property
    def unidentified(self) -> UnidentifiedRepo:
        return UnidentifiedRepo(self._session)


__all__ = ["ReviewRepos"]
