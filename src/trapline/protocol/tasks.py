"""Tasks handed to workers: asking for them, extending their leases, the tasks themselves."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

from trapline.protocol.base import MAX_LIST, NOT_TEXT, BatchSize, ReplySubject, Slug, WireModel
from trapline.protocol.pipelines import ClientInfo
from trapline.protocol.service import DetectionRequest


class TasksRequest(WireModel):
    """``POST /jobs/{id}/tasks/``."""

    batch_size: BatchSize
    client_info: ClientInfo | None = None


class NextTasksRequest(WireModel):
    """``POST /tasks/next/``: claim across all running jobs of these pipelines."""

    pipelines: list[Slug] = Field(min_length=1, max_length=MAX_LIST)
    batch_size: BatchSize
    client_info: ClientInfo | None = None


class ExtendRequest(WireModel):
    """``POST /tasks/extend/``: keep leases alive for long tasks."""

    reply_subjects: list[ReplySubject] = Field(min_length=1, max_length=MAX_LIST)
    seconds: Annotated[int, Field(ge=1, le=24 * 3600), NOT_TEXT]
    client_info: ClientInfo | None = None


class TaskOut(BaseModel):
    """One task handed to a worker. Ids are strings, as AMI workers expect."""

    id: str
    image_id: str
    image_url: str
    reply_subject: str
    job_id: int | None = None
    #: Seconds the lease lasts from the claim (an extension; Antenna does not send it).
    lease_seconds: int | None = None
    #: A job over another pipeline's boxes: the boxes of this image to classify, instead of
    #: detecting (an extension; Antenna's tasks carry none, so its workers detect as ever).
    detections: list[DetectionRequest] | None = None


class TasksResponse(BaseModel):
    """A claimed batch; empty when there is nothing to do."""

    tasks: list[TaskOut] = Field(default_factory=list)
