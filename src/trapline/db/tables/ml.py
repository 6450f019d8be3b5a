"""Tables of processing services, their workers, pipelines, algorithms and category maps."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from trapline.db.tables.base import Base
from trapline.db.types import IdType, UTCDateTime, utcnow


class ProcessingServiceRow(Base):
    __tablename__ = "processing_services"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    #: Names are the project's business: a name taken in another project is another service.
    name: Mapped[str] = mapped_column(String(255), index=True)
    #: Base URL of a push-mode service; None for pull-mode services (workers call us).
    endpoint_url: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    #: Push mode: registered by an admin, so the platform calls it at any address (an ordinary
    #: account's service must be at an address the outbound policy allows).
    trusted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: Push mode: when the platform last called the service's ``/readyz``.
    last_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: Push mode: why the last check failed; None when it succeeded.
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: Pull mode: the account whose token last registered it (a record, so no key): a worker
    #: claiming with that token is given only the tasks of the versions it offers.
    registered_by_id: Mapped[int | None] = mapped_column(IdType, nullable=True, index=True)


class ProjectServiceRow(Base):
    __tablename__ = "project_services"

    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    service_id: Mapped[int] = mapped_column(
        ForeignKey("processing_services.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class CategoryMapRow(Base):
    __tablename__ = "category_maps"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    #: SHA-256 of the map's canonical JSON: the same map registered twice is stored once.
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    labels: Mapped[list[str]] = mapped_column(JSON)
    data: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    version: Mapped[str | None] = mapped_column(String(255), nullable=True)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    uri: Mapped[str | None] = mapped_column(String(1024), nullable=True)


class AlgorithmRow(Base):
    __tablename__ = "algorithms"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    #: Keys are the project's business, as pipeline slugs are. None once the project is
    #: deleted: algorithms are never deleted (results keep their ids), and no lookup finds them.
    project_id: Mapped[int | None] = mapped_column(
        ForeignKey("projects.id", ondelete="SET NULL"), nullable=True
    )
    key: Mapped[str] = mapped_column(String(255))
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(255))
    task_type: Mapped[str | None] = mapped_column(String(64), nullable=True)
    version_name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    uri: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    weights_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    category_map_id: Mapped[int | None] = mapped_column(
        ForeignKey("category_maps.id", ondelete="RESTRICT"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("project_id", "key", "version"),)


class PipelineRow(Base):
    __tablename__ = "pipelines"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    #: Slugs are the project's business: the same slug and version registered in another
    #: project is another pipeline. None once the project is deleted, as for algorithms.
    project_id: Mapped[int | None] = mapped_column(
        ForeignKey("projects.id", ondelete="SET NULL"), nullable=True
    )
    slug: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    stages: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    #: The registration's ``default_threshold``: the last registration's word, as it only
    #: says how results are shown (it is not part of the version's identity).
    default_threshold: Mapped[float | None] = mapped_column(Float, nullable=True)
    #: The registration's ``classifies_boxes``: a job may run it over another pipeline's boxes.
    classifies_boxes: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("project_id", "slug", "version"),)


class PipelineAlgorithmRow(Base):
    __tablename__ = "pipeline_algorithms"

    pipeline_id: Mapped[int] = mapped_column(
        ForeignKey("pipelines.id", ondelete="CASCADE"), primary_key=True
    )
    algorithm_id: Mapped[int] = mapped_column(
        ForeignKey("algorithms.id", ondelete="RESTRICT"), primary_key=True, index=True
    )


class ServicePipelineRow(Base):
    __tablename__ = "service_pipelines"

    service_id: Mapped[int] = mapped_column(
        ForeignKey("processing_services.id", ondelete="CASCADE"), primary_key=True
    )
    pipeline_id: Mapped[int] = mapped_column(
        ForeignKey("pipelines.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class RegistrantPipelineRow(Base):
    """A pipeline version a token registered (pull mode): what its workers are given
    (``PipelineRepo.registered_by``), whoever else registers under the same service name."""

    __tablename__ = "registrant_pipelines"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    pipeline_id: Mapped[int] = mapped_column(
        ForeignKey("pipelines.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class ProjectPipelineRow(Base):
    __tablename__ = "project_pipelines"

    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    pipeline_id: Mapped[int] = mapped_column(
        ForeignKey("pipelines.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WorkerRow(Base):
    __tablename__ = "workers"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    #: The account the worker authenticates as.
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    #: The processing service the worker runs for, when one is known.
    service_id: Mapped[int | None] = mapped_column(
        ForeignKey("processing_services.id", ondelete="SET NULL"), nullable=True, index=True
    )
    #: hostname:pid (or the name the worker gives): one running worker process.
    identity: Mapped[str] = mapped_column(String(512))
    hostname: Mapped[str | None] = mapped_column(String(255), nullable=True)
    software: Mapped[str | None] = mapped_column(String(255), nullable=True)
    version: Mapped[str | None] = mapped_column(String(64), nullable=True)
    pid: Mapped[int | None] = mapped_column(Integer, nullable=True)
    pipelines: Mapped[list[str]] = mapped_column(JSON)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        UniqueConstraint("user_id", "identity"),
        Index("ix_workers_last_seen_at", "last_seen_at"),
    )
