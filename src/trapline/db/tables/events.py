"""Tables of events (a deployment's runs of photos), their regroupings, and the occurrences
tracked within them."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.expression import false

from trapline.db.tables.base import Base
from trapline.db.types import IdType, UTCDateTime, utcnow


class EventRow(Base):
    """An event: its photos point at it (``image_events``); its span and count are kept."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    deployment_id: Mapped[int] = mapped_column(ForeignKey("deployments.id", ondelete="CASCADE"))
    #: The earliest photo: how a regrouping finds the event it just made for each photo.
    first_image_id: Mapped[int] = mapped_column(IdType, index=True)
    #: Wall-clock times of the first and last photo, with their UTC offsets.
    starts_at: Mapped[datetime] = mapped_column(DateTime)
    start_offset_minutes: Mapped[int] = mapped_column(SmallInteger)
    ends_at: Mapped[datetime] = mapped_column(DateTime)
    end_offset_minutes: Mapped[int] = mapped_column(SmallInteger)
    image_count: Mapped[int] = mapped_column(IdType)
    #: Raised by every change to the event's current results or reviews; tracking is due while
    #: it is ahead of ``tracked_version`` (the value the last tracking read).
    tracking_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    tracked_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: Boxes the last tracking left out (past the cap on boxes a photo, per pipeline).
    untracked_boxes: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: Trackings begun in a row that did not store their occurrences (they failed, or their
    #: server died in them); 0 once one does.
    tracking_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: Not tracked again before this (the backoff after a tracking that did not finish).
    tracking_retry_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: Why the last tracking failed (None: it did not, or its server died in it).
    tracking_error: Mapped[str | None] = mapped_column(Text, nullable=True)

    __table_args__ = (
        Index("ix_events_deployment_starts", "deployment_id", "starts_at"),
        Index("ix_events_tracking_due", "tracking_version", "tracked_version"),
    )


class RegroupingRow(Base):
    """Grouping events again after a rule changed, deployment by deployment, in the
    background."""

    __tablename__ = "event_regroupings"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    #: The deployment regrouped; None: every deployment of the project.
    deployment_id: Mapped[int | None] = mapped_column(
        ForeignKey("deployments.id", ondelete="CASCADE"), nullable=True, index=True
    )
    status: Mapped[str] = mapped_column(String(16), default="queued")
    deployments_total: Mapped[int | None] = mapped_column(IdType, nullable=True)
    deployments_done: Mapped[int] = mapped_column(IdType, default=0)
    #: Deployments that could not be regrouped (each keeps its events; ``error`` says why).
    deployments_failed: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: The last deployment regrouped: a run taken over goes on from there.
    after_deployment_id: Mapped[int] = mapped_column(IdType, default=0)
    #: The server running it and its last heartbeat (its lease).
    runner: Mapped[str | None] = mapped_column(String(255), nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: What of the occurrences could not be kept as they were: a line for each it parted
    #: across events (``db/repositories/ecology/handover.py``), the first ``NOT_KEPT_LINES``
    #: of them.
    not_kept: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    __table_args__ = (
        CheckConstraint(
            "status IN ('queued', 'running', 'succeeded', 'failed', 'superseded')",
            name="status",
        ),
        Index("ix_event_regroupings_status", "status"),
    )


class OccurrenceRow(Base):
    """One individual seen in consecutive photos of an event by one pipeline: its detections
    point at it through ``occurrence_detections``."""

    __tablename__ = "occurrences"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    deployment_id: Mapped[int] = mapped_column(
        ForeignKey("deployments.id", ondelete="CASCADE"), index=True
    )
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    #: The pipeline whose current results were tracked (its slug, or an external source).
    pipeline: Mapped[str] = mapped_column(String(255))
    #: Wall-clock times of the first and last photo it is in, with their UTC offsets.
    first_seen_at: Mapped[datetime] = mapped_column(DateTime)
    first_offset_minutes: Mapped[int] = mapped_column(SmallInteger)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime)
    last_offset_minutes: Mapped[int] = mapped_column(SmallInteger)
    detection_count: Mapped[int] = mapped_column(Integer)
    #: The detection whose crop shows it best (its most confident).
    best_annotation_id: Mapped[int] = mapped_column(IdType)
    #: The determination: a person's label, else the models' most confident.
    label: Mapped[str | None] = mapped_column(String(255), nullable=True)
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    #: ``model`` or ``person``.
    determined_by: Mapped[str] = mapped_column(String(16))
    #: The taxon the determination names: a person's identification, else the label's
    #: mapping onto the project's taxa list (None: unmapped, or no list). No reference:
    #: taxa are never deleted one by one, and SQLite cannot add one in place.
    taxon_id: Mapped[int | None] = mapped_column(IdType, nullable=True)
    #: Who made the identification that determines it (a person's name), if one does.
    identified_by: Mapped[str | None] = mapped_column(String(255), nullable=True)
    #: Whether the people who identified it named different taxa (their latest word each).
    disputed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: A person rejected it (``domain/taxa/rejections.Rejection``'s value: "not_an_insect"…),
    #: their latest word: it counts nowhere (no tally, listing or export holds it).
    rejected: Mapped[str | None] = mapped_column(String(32), nullable=True)
    #: Made by a reviewer's split or merge: kept as it is when the event is tracked again.
    edited: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: The id the exports publish for it when not its own: the id of the individual it holds
    #: of the pipeline its deployment counted by before a person switched
    #: (``services/ecology/carrying.py``), so that the published id does not change.
    published_id: Mapped[int | None] = mapped_column(IdType, nullable=True)

    __table_args__ = (
        CheckConstraint("determined_by IN ('model', 'person')", name="determined_by"),
        Index(
            "ix_occurrences_project_pipeline_taxon", "project_id", "pipeline", "taxon_id", "score"
        ),
        Index(
            "ix_occurrences_project_pipeline_taxon_seen",
            "project_id",
            "pipeline",
            "taxon_id",
            "first_seen_at",
        ),
        # The project's listing of occurrences, in order of first sighting at any depth.
        Index(
            "ix_occurrences_project_pipeline_seen", "project_id", "pipeline", "first_seen_at", "id"
        ),
        # How many a listing filtered by determination holds (by whom, how sure, whether it
        # needs identifying), and which of people's determinations the identification queue
        # shows first: read in the index, without reading a row (every column those read is
        # in it; the id last for PostgreSQL, whose rows are not found by it otherwise). Not
        # the deployment: a deployment's listing then counts by the deployment's index, where
        # SQLite (which plans without statistics) walked all of the project's in this one.
        Index(
            "ix_occurrences_project_pipeline_determination",
            "project_id",
            "pipeline",
            "determined_by",
            "score",
            "disputed",
            "identified_by",
            "label",
            "rejected",
            "taxon_id",
            "id",
        ),
    )


class OccurrenceDetectionRow(Base):
    """A detection's occurrence (a detection is in at most one)."""

    __tablename__ = "occurrence_detections"

    annotation_id: Mapped[int] = mapped_column(
        ForeignKey("annotations.id", ondelete="CASCADE"), primary_key=True
    )
    occurrence_id: Mapped[int] = mapped_column(
        ForeignKey("occurrences.id", ondelete="CASCADE"), index=True
    )
    #: Indexed: the event page reads the tracked detections of the photos it shows.
    image_id: Mapped[int] = mapped_column(IdType, index=True)
    #: What the link cost (``domain/ecology/tracking.py``); None for the first of an occurrence.
    cost: Mapped[float | None] = mapped_column(Float, nullable=True)


class OccurrenceTallyRow(Base):
    """How many occurrences of an event one pipeline tracked have a label, by the night they
    were first seen: what every page and export counts, kept with the occurrences."""

    __tablename__ = "occurrence_tallies"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[int] = mapped_column(IdType, index=True)
    deployment_id: Mapped[int] = mapped_column(IdType, index=True)
    #: The pipeline whose occurrences these are: counts never add two pipelines.
    pipeline: Mapped[str] = mapped_column(String(255), default="", server_default="")
    #: The evening's date of the night (noon to noon on the camera's clock).
    night: Mapped[date] = mapped_column(Date)
    label: Mapped[str | None] = mapped_column(String(255), nullable=True)
    taxon_id: Mapped[int | None] = mapped_column(IdType, nullable=True)
    occurrences: Mapped[int] = mapped_column(Integer)
    detections: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    __table_args__ = (
        # A taxon's tallies night by night: its first and last night are the ends of a range,
        # and a taxon's page reads its sums by night and deployment in the index alone.
        Index(
            "ix_occurrence_tallies_project_pipeline_taxon",
            "project_id",
            "pipeline",
            "taxon_id",
            "night",
            "deployment_id",
            "label",
            "occurrences",
            "detections",
        ),
        # The count tables: a pipeline's tallies night by night, every column a table reads in
        # the index, so a table of a large project reads no row of the table itself.
        Index(
            "ix_occurrence_tallies_project_pipeline_night",
            "project_id",
            "pipeline",
            "night",
            "taxon_id",
            "label",
            "deployment_id",
            "event_id",
            "occurrences",
        ),
    )


class PipelineTallyRow(Base):
    """How many occurrences (and tracked detections) one pipeline has in a project: the sum of
    its tallies, kept with them, so that choosing the project's counting pipeline reads a few
    rows however large the project grows."""

    __tablename__ = "pipeline_tallies"

    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    pipeline: Mapped[str] = mapped_column(String(255), primary_key=True)
    occurrences: Mapped[int] = mapped_column(Integer)
    detections: Mapped[int] = mapped_column(Integer)


class LabelTallyRow(Base):
    """How many occurrences (and tracked detections) one pipeline has in a deployment with a
    label and taxon: the tallies summed over events and nights, kept with them, so that the
    pages counting by label or taxon over a whole project or deployment read a row per label,
    not a row per event. No label is ``""`` and no taxon ``0`` (key columns); a key whose
    occurrences are all gone stays at zero."""

    __tablename__ = "label_tallies"

    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    pipeline: Mapped[str] = mapped_column(String(255), primary_key=True)
    deployment_id: Mapped[int] = mapped_column(IdType, primary_key=True)
    label: Mapped[str] = mapped_column(String(255), primary_key=True)
    taxon_id: Mapped[int] = mapped_column(IdType, primary_key=True)
    occurrences: Mapped[int] = mapped_column(Integer)
    detections: Mapped[int] = mapped_column(Integer)

    __table_args__ = (
        # The key and the sums: a project's sums by deployment and pipeline (its counting
        # table), by label, and by label or taxon (the identification queue) read in the index
        # alone, not a row of the table each.
        Index(
            "ix_label_tallies_sums",
            "project_id",
            "pipeline",
            "deployment_id",
            "label",
            "taxon_id",
            "occurrences",
            "detections",
        ),
    )
