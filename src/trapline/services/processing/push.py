"""Push mode: what a call to a processing service is made of, and how its answer is stored.

Pull workers claim tasks; for a push-mode (``sync_api``) job the platform claims them itself,
from the same task queue and under the same leases (``background/push.py``, the dispatcher).
Each batch goes to an online push-mode service of the job's project that offers the job's
pipeline (``POST /process`` with signed image URLs, never a token); the merged answer is split
per image, and each image's result is stored by ``ResultStore.store``, the path pulled results
take, so counters, duplicates, retries, ``max_attempts`` and dead-lettering behave the same in
both modes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from trapline.domain.core.records import User
from trapline.domain.pipelines.pipelines import ServiceStatus
from trapline.domain.processing.jobs import Job, Lease
from trapline.domain.processing.lease_tokens import LeaseClaim
from trapline.errors import failure_text
from trapline.protocol.results import (
    DetectionResponse,
    PipelineResultsResponse,
    ResultError,
    SourceImageResponse,
)
from trapline.protocol.service import DetectionRequest, PipelineRequest, SourceImageRequest
from trapline.services.pipelines.process_answer import ProcessAnswer
from trapline.services.processing.given_boxes import GivenBoxes, wire_boxes
from trapline.services.processing.result_body import StreamedResult
from trapline.services.processing.result_items import Posted
from trapline.services.processing.results import ResultStore
from trapline.storage.base import BlobStore

log = logging.getLogger(__name__)

#: Who stores pushed results: the platform itself, acting in every project. It exists only in
#: memory and is never written anywhere; results name the processing service as their worker.
PLATFORM = User(
    id=0,
    email="push-dispatcher@trapline.invalid",
    name="push dispatcher",
    is_admin=True,
    is_active=True,
    created_at=datetime(2000, 1, 1, tzinfo=UTC),
)

Outcome = PipelineResultsResponse | StreamedResult | ResultError


@dataclass(frozen=True)
class Batch:
    """Tasks of one job claimed for one call to one service."""

    job: Job
    service: ServiceStatus
    leases: list[Lease]


def split_answer(
    answer: PipelineResultsResponse | ProcessAnswer, image_ids: list[str]
) -> dict[str, Outcome]:
    """A service's merged answer as one outcome per image of the request.

    An image named in ``errors`` (``{"error", "image_id"}``) failed; one with detections, or
    listed in ``source_images``, succeeded with its own detections; any other image failed, as
    the service said nothing about it. The detections of an answer read from its bytes
    (``ProcessAnswer``) stay there, each image's typed one at a time when it is stored.
    """
    head = answer.head if isinstance(answer, ProcessAnswer) else answer
    wanted = set(image_ids)
    failed: dict[str, str] = {}
    general: list[str] = []
    for error in head.errors if isinstance(head.errors, list) else [head.errors]:
        if isinstance(error, dict) and str(error.get("image_id")) in wanted:
            failed.setdefault(str(error["image_id"]), str(error.get("error") or error))
        elif error:
            general.append(str(error))
    streamed = answer if isinstance(answer, ProcessAnswer) else None
    typed: dict[str, list[DetectionResponse]] = {}
    for detection in head.detections:
        typed.setdefault(detection.source_image_id, []).append(detection)
    found = streamed.by_image.keys() if streamed else typed.keys()
    for image_id in found - wanted:
        log.warning("ignoring the detections for image %r, not asked for", image_id)
    returned = {image.id for image in head.source_images} | (found & wanted)
    share = head.total_time / max(len(returned), 1)
    outcomes: dict[str, Outcome] = {}
    for image_id in image_ids:
        if image_id in failed:
            outcomes[image_id] = ResultError(error=failed[image_id], image_id=image_id)
        elif image_id in returned:
            own = PipelineResultsResponse(
                pipeline=head.pipeline,
                total_time=share,
                source_images=[s for s in head.source_images if s.id == image_id][:1],
                detections=typed.get(image_id, []),
            )
            if streamed is not None:
                spans = streamed.by_image.get(image_id, [])
                outcomes[image_id] = StreamedResult(own, streamed.data, spans)
            else:
                outcomes[image_id] = own
        else:
            why = "the processing service returned no result for this image"
            outcomes[image_id] = ResultError(
                error=f"{why}: {'; '.join(general)}" if general else why, image_id=image_id
            )
    return outcomes


def failed_outcomes(reason: str, image_ids: list[str]) -> dict[str, Outcome]:
    """Every image of a call that failed as a whole, failed for ``reason``."""
    return {image_id: ResultError(error=reason, image_id=image_id) for image_id in image_ids}


def request_for(
    batch: Batch, store: BlobStore, *, url_ttl: int, base_url: str, given: GivenBoxes
) -> tuple[PipelineRequest, dict[str, Lease], dict[str, Outcome]]:
    """The ``/process`` request of a batch (signed image URLs; for a job over another
    pipeline's boxes, the boxes ``given`` of each image), its leases by image id, and the
    outcomes of images left out of it: those whose link could not be signed fail (each
    alone; the rest are sent), and a photo with none of the boxes a job classifies has an
    empty result (sent without boxes, it would be detected on)."""
    leases = {str(lease.image_id): lease for lease in batch.leases}
    source_images = []
    detections: list[DetectionRequest] = []
    unsent: dict[str, Outcome] = {}
    for image_id, lease in leases.items():
        try:
            url = store.signed_url(lease.storage_key, expires_in=url_ttl)
        except Exception as exc:  # one image's failure must not fail the others
            reason = f"its link could not be made for the processing service: {failure_text(exc)}"
            unsent[image_id] = ResultError(error=reason, image_id=image_id)
            continue
        image = SourceImageRequest(id=image_id, url=base_url + url if url.startswith("/") else url)
        boxes = given.get((lease.job_id, lease.image_id))
        if boxes is not None and not boxes:
            unsent[image_id] = nothing_found(batch.job.pipeline_slug, image)
            continue
        source_images.append(image)
        detections += wire_boxes(boxes or [], image)
    request = PipelineRequest(
        pipeline=batch.job.pipeline_slug,
        source_images=source_images,
        detections=detections or None,
        config={},
    )
    return request, leases, unsent


def nothing_found(pipeline: str, image: SourceImageRequest) -> PipelineResultsResponse:
    """The result of an image on which there was nothing to do."""
    return PipelineResultsResponse(
        pipeline=pipeline,
        total_time=0.0,
        source_images=[SourceImageResponse(id=image.id, url=image.url)],
        detections=[],
    )


def store_outcomes(
    results: ResultStore, batch: Batch, leases: dict[str, Lease], outcomes: dict[str, Outcome]
) -> None:
    """Store a call's outcomes as a worker's results (a result that is refused fails its task
    for good, with the reason: ``results.judge_item``)."""
    job, service = batch.job, batch.service.name
    _, project = results.access.worker_job(PLATFORM, job.id)
    posted = [Posted(None, _claim(leases[image_id]), o) for image_id, o in outcomes.items()]
    results.store(job, project, f"push:{service}", posted)


def _claim(lease: Lease) -> LeaseClaim:
    return LeaseClaim(lease.job_id, lease.task_id, lease.attempt, lease.lease_id)
