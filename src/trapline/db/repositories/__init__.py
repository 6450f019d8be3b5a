"""Repositories: every SQL statement of the platform's records, grouped by aggregate."""

from __future__ import annotations

from sqlalchemy.orm import Session

from trapline.db.repositories.callbacks.callbacks import CallbackRepo
from trapline.db.repositories.core.duties import DutyLeaseRepo
from trapline.db.repositories.core.projects import ProjectRepo
from trapline.db.repositories.core.sessions import SessionRepo
from trapline.db.repositories.core.users import UserRepo
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
from trapline.db.repositories.exports.camtrap import CamtrapRepo
from trapline.db.repositories.exports.export_reads import ExportReadRepo
from trapline.db.repositories.exports.exports import ExportRepo
from trapline.db.repositories.photos.capture_times import CaptureTimeRepo
from trapline.db.repositories.photos.collections import CollectionRepo
from trapline.db.repositories.photos.deployments import DeploymentRepo
from trapline.db.repositories.photos.images import ImageRepo
from trapline.db.repositories.pipelines.pipelines import PipelineRepo
from trapline.db.repositories.pipelines.workers import WorkerRepo
from trapline.db.repositories.processing.analyses import AnalysisRepo
from trapline.db.repositories.processing.dispatch import DispatchRepo
from trapline.db.repositories.processing.given_boxes import GivenBoxRepo
from trapline.db.repositories.processing.jobs import JobRepo
from trapline.db.repositories.processing.tasks import TaskRepo
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
from trapline.db.repositories.sources.sources import SourceRepo
from trapline.db.repositories.taxa.taxa import TaxaRepo
from trapline.db.repositories.taxa.taxa_store import TaxaStore


class Repos:
    """The repositories of one transaction."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.users = UserRepo(session)
        self.projects = ProjectRepo(session)
        self.deployments = DeploymentRepo(session)
        self.images = ImageRepo(session)
        self.capture_times = CaptureTimeRepo(session)
        self.events = EventRepo(session)
        self.regroupings = RegroupingRepo(session)
        self.occurrences = OccurrenceRepo(session)
        self.counts = CountRepo(session)
        self.choices = ChoiceRepo(session)
        self.carrying = CarryRepo(session)
        self.compare = CompareRepo(session)
        self.tracking = TrackingRepo(session)
        self.taxa = TaxaRepo(session)
        self.taxa_store = TaxaStore(session)
        self.species = SpeciesRepo(session)
        self.listings = ListingRepo(session)
        self.camtrap = CamtrapRepo(session)
        self.identifications = IdentificationRepo(session)
        self.evaluation_sets = EvaluationSetRepo(session)
        self.evaluation_boxes = EvaluationBoxRepo(session)
        self.classifiers = ClassifierRepo(session)
        self.detection_scorers = DetectionScorerRepo(session)
        self.refit_examples = RefitExampleRepo(session)
        self.crop_boxes = CropBoxRepo(session)
        self.groupings = GroupingRepo(session)
        self.unidentified = UnidentifiedRepo(session)
        self.collections = CollectionRepo(session)
        self.jobs = JobRepo(session)
        self.analyses = AnalysisRepo(session)
        self.workers = WorkerRepo(session)
        self.duty_leases = DutyLeaseRepo(session)
        self.pipelines = PipelineRepo(session)
        self.tasks = TaskRepo(session)
        self.dispatch = DispatchRepo(session)
        self.given_boxes = GivenBoxRepo(session)
        self.exports = ExportRepo(session)
        self.export_reads = ExportReadRepo(session)

        self.sources = SourceRepo(session)

        self.sessions = SessionRepo(session)
        self.reviews = ReviewRepo(session)

        self.callbacks = CallbackRepo(session)


__all__ = ["Repos"]
