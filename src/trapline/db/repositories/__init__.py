"""Repositories: every SQL statement of the platform's records, grouped by aggregate."""

from __future__ import annotations

from sqlalchemy.orm import Session

from trapline.db.repositories.analyses import AnalysisRepo
from trapline.db.repositories.callbacks import CallbackRepo
from trapline.db.repositories.camtrap import CamtrapRepo
from trapline.db.repositories.capture_times import CaptureTimeRepo
from trapline.db.repositories.collections import CollectionRepo
from trapline.db.repositories.counts import CountRepo
from trapline.db.repositories.deployments import DeploymentRepo
from trapline.db.repositories.dispatch import DispatchRepo
from trapline.db.repositories.duties import DutyLeaseRepo
from trapline.db.repositories.events import EventRepo
from trapline.db.repositories.export_reads import ExportReadRepo
from trapline.db.repositories.exports import ExportRepo
from trapline.db.repositories.identifications import IdentificationRepo
from trapline.db.repositories.images import ImageRepo
from trapline.db.repositories.jobs import JobRepo
from trapline.db.repositories.listings import ListingRepo
from trapline.db.repositories.occurrences import OccurrenceRepo
from trapline.db.repositories.pipelines import PipelineRepo
from trapline.db.repositories.projects import ProjectRepo
from trapline.db.repositories.regroupings import RegroupingRepo
from trapline.db.repositories.reviews import ReviewRepo
from trapline.db.repositories.sessions import SessionRepo
from trapline.db.repositories.sources import SourceRepo
from trapline.db.repositories.species import SpeciesRepo
from trapline.db.repositories.tasks import TaskRepo
from trapline.db.repositories.taxa import TaxaRepo
from trapline.db.repositories.taxa_store import TaxaStore
from trapline.db.repositories.tracking import TrackingRepo
from trapline.db.repositories.users import UserRepo
from trapline.db.repositories.workers import WorkerRepo


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
        self.tracking = TrackingRepo(session)
        self.taxa = TaxaRepo(session)
        self.taxa_store = TaxaStore(session)
        self.species = SpeciesRepo(session)
        self.listings = ListingRepo(session)
        self.camtrap = CamtrapRepo(session)
        self.identifications = IdentificationRepo(session)
        self.collections = CollectionRepo(session)
        self.jobs = JobRepo(session)
        self.analyses = AnalysisRepo(session)
        self.workers = WorkerRepo(session)
        self.duty_leases = DutyLeaseRepo(session)
        self.pipelines = PipelineRepo(session)
        self.tasks = TaskRepo(session)
        self.dispatch = DispatchRepo(session)
        self.exports = ExportRepo(session)
        self.export_reads = ExportReadRepo(session)

        self.sources = SourceRepo(session)

        self.sessions = SessionRepo(session)
        self.reviews = ReviewRepo(session)

        self.callbacks = CallbackRepo(session)


__all__ = ["Repos"]
