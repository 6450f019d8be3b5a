"""A worker's pipelines as a synchronous processing service (push mode, Antenna's v1 contract).

``ProcessingService`` is the work without the transport: it describes the service (``info``),
loads the pipelines in the background (``ready`` says when) and runs one pipeline over a list of
image URLs, answering one result merged over the images (``process``). ``service_http`` serves
it over HTTP (``/info``, ``/livez``, ``/readyz``, ``/process``) and maps its errors to statuses.

Images are fetched in parallel (``download_threads``) by a client that sends no credentials; an
image that cannot be fetched or decoded is reported in ``errors`` and the others are still
processed. Models are not thread-safe, so calls into one pipeline are serialised.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import replace

import httpx

from trapline import __version__
from trapline.errors import InvalidInput
from trapline.pipelines.base import GivenBox, Pipeline, SourceImage
from trapline.protocol.pipelines import AlgorithmConfig, PipelineConfig
from trapline.protocol.results import DetectionResponse, ResultError, SourceImageResponse
from trapline.protocol.service import (
    DetectionRequest,
    PipelineRequest,
    ProcessingServiceInfoResponse,
    ProcessResponse,
    SourceImageRequest,
)
from trapline.settings import WorkerSettings
from trapline.worker.client import image_client
from trapline.worker.images import ImageError, decode, decode_limit, fetch_bytes
from trapline.worker.memory import MemoryGuard

log = logging.getLogger(__name__)


class ProcessingError(Exception):
    """A request the service cannot process; ``code`` names the reason, ``detail`` explains."""

    code = "error"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class UnknownPipeline(ProcessingError):
    """The request names a pipeline this service does not offer."""

    code = "unknown_pipeline"


class NotReady(ProcessingError):
    """The pipelines have not loaded (yet, or ever: see ``ProcessingService.load_error``)."""

    code = "not_ready"


class PipelineFailed(ProcessingError):
    """The pipeline raised on the batch."""

    code = "pipeline_failed"


class ProcessingService:
    """A set of pipelines served synchronously; ``start`` it, then ``close`` it."""

    def __init__(self, pipelines: Sequence[Pipeline], settings: WorkerSettings) -> None:
        slugs = [p.slug for p in pipelines]
        if not slugs:
            raise InvalidInput("no pipeline to serve; name one with --pipeline")
        if len(set(slugs)) != len(slugs):
            raise InvalidInput(f"each pipeline may be served once (got {', '.join(slugs)})")
        self.settings = settings
        self.pipelines = {p.slug: p for p in pipelines}
        self.configs: dict[str, PipelineConfig] = {p.slug: p.config for p in pipelines}
        self.info = _service_info(settings, list(self.configs.values()))
        self._locks = {slug: threading.Lock() for slug in slugs}
        self._ready = threading.Event()
        self.load_error: str | None = None
        self._in_flight = 0
        self._idle = threading.Condition()
        self._images = image_client(settings.request_timeout, settings.download_threads)
        self._downloads = ThreadPoolExecutor(
            settings.download_threads, thread_name_prefix="service-fetch"
        )
        # The images of a request are held at once, as many decoding side by side as there
        # are download threads: each gets its share of the memory budget.
        share = MemoryGuard(settings.max_memory).budget() // max(1, settings.download_threads)
        self._max_pixels = decode_limit(settings.max_decode_pixels, share)

    @property
    def ready(self) -> bool:
        """Whether every pipeline has loaded."""
        return self._ready.is_set()

    @property
    def not_ready_reason(self) -> str | None:
        """Why requests cannot be processed yet (None once every pipeline has loaded)."""
        if self.ready:
            return None
        return self.load_error or "the pipelines are still loading"

    def start(self) -> None:
        """Load the pipelines in the background (``ready`` and ``load_error`` say how it went)."""
        threading.Thread(target=self._load, name="service-load", daemon=True).start()

    def close(self, drain_timeout: float | None = None) -> None:
        """Let requests in progress finish (up to the drain timeout), then release the
        download threads and the image client. Stop taking new requests first."""
        deadline = time.monotonic() + (
            self.settings.drain_timeout if drain_timeout is None else drain_timeout
        )
        with self._idle:
            while self._in_flight and (left := deadline - time.monotonic()) > 0:
                self._idle.wait(left)
            if self._in_flight:
                log.warning("stopping with %d requests still in progress", self._in_flight)
        self._downloads.shutdown(wait=False, cancel_futures=True)
        self._images.close()

    def _load(self) -> None:
        for slug, pipeline in self.pipelines.items():
            started = time.perf_counter()
            try:
                pipeline.load()
            except Exception as exc:
                log.exception("pipeline %s failed to load", slug)
                self.load_error = f"pipeline {slug} failed to load: {type(exc).__name__}: {exc}"
                return
            log.info("pipeline %s loaded in %.1fs", slug, time.perf_counter() - started)
        self._ready.set()

    @contextmanager
    def handling(self) -> Iterator[None]:
        """Count a request as in progress while the block runs (``stop`` waits for it)."""
        with self._idle:
            self._in_flight += 1
        try:
            yield
        finally:
            with self._idle:
                self._in_flight -= 1
                self._idle.notify_all()

    def process(self, request: PipelineRequest) -> ProcessResponse:
        """Run the request's pipeline over its images; failed images go to ``errors``.

        Raises:
            UnknownPipeline: the service does not offer the request's pipeline.
            NotReady: the pipelines are still loading (or failed to load).
            PipelineFailed: the pipeline itself failed on the batch.
        """
        pipeline = self.pipelines.get(request.pipeline)
        if pipeline is None:
            offered = ", ".join(self.pipelines)
            raise UnknownPipeline(
                f"this service does not offer pipeline {request.pipeline!r}; it offers: {offered}"
            )
        if (reason := self.not_ready_reason) is not None:
            raise NotReady(reason)
        started = time.perf_counter()
        wanted = _unique(request.source_images)
        fetched = list(self._downloads.map(self._fetch, wanted))
        images = [f for f in fetched if isinstance(f, SourceImage)]
        errors = [f for f in fetched if isinstance(f, ResultError)]
        if request.detections:  # Antenna sends an empty list when it gives no boxes
            images, unable = _with_given_boxes(pipeline, images, request.detections)
            errors += unable
        detections: list[DetectionResponse] = []
        if images:
            with self._locks[pipeline.slug]:  # models are not thread-safe
                try:
                    results = pipeline.process(images)
                except Exception as exc:
                    log.exception("pipeline %s failed on a batch of %d", pipeline.slug, len(images))
                    raise PipelineFailed(
                        f"pipeline {pipeline.slug} failed on this batch: "
                        f"{type(exc).__name__}: {exc}"
                    ) from exc
            for result in results:
                detections += result.detections
        elapsed = time.perf_counter() - started
        log.info(
            "%s: %d images, %d detections, %d errors in %.2fs",
            pipeline.slug,
            len(images),
            len(detections),
            len(errors),
            elapsed,
        )
        return ProcessResponse(
            pipeline=pipeline.slug,
            total_time=elapsed,
            source_images=[SourceImageResponse(id=i.id, url=i.url) for i in images],
            detections=detections,
            errors=[e.model_dump() for e in errors] or None,
        )

    def _fetch(self, image: SourceImageRequest) -> SourceImage | ResultError:
        if not image.url.lower().startswith(("http://", "https://")):
            return ResultError(
                error=f"url must be an http(s) URL (got {image.url!r})", image_id=image.id
            )
        try:
            data = fetch_bytes(self._images, image.url, max_bytes=self.settings.max_image_bytes)
            return decode(data, image.id, url=image.url, max_pixels=self._max_pixels)
        except ImageError as exc:
            return ResultError(error=str(exc), image_id=image.id)
        except httpx.InvalidURL as exc:
            return ResultError(error=f"url is not valid: {exc}", image_id=image.id)
        except Exception as exc:  # one odd image must not fail the whole request
            log.exception("fetching image %s failed", image.id)
            return ResultError(
                error=f"image failed: {type(exc).__name__}: {exc}", image_id=image.id
            )


def _service_info(
    settings: WorkerSettings, configs: list[PipelineConfig]
) -> ProcessingServiceInfoResponse:
    algorithms: dict[tuple[str, int], AlgorithmConfig] = {}
    for config in configs:
        for algorithm in config.algorithms:
            algorithms.setdefault((algorithm.key, algorithm.version), algorithm)
    return ProcessingServiceInfoResponse(
        name=settings.name or f"trapline worker ({socket.gethostname()})",
        description=(
            f"trapline {__version__} processing service: {', '.join(c.slug for c in configs)}"
        ),
        pipelines=configs,
        algorithms=list(algorithms.values()),
    )


def _with_given_boxes(
    pipeline: Pipeline, images: list[SourceImage], detections: Sequence[DetectionRequest]
) -> tuple[list[SourceImage], list[ResultError]]:
    """The images with the boxes the request gives each (none for an image it names no box
    of, as Antenna's services do); each image failed instead when the pipeline cannot classify
    given boxes."""
    if not pipeline.classifies_boxes:
        why = f"pipeline {pipeline.slug} does not classify boxes it is given; it only detects"
        return [], [ResultError(error=why, image_id=image.id) for image in images]
    given: dict[str, list[GivenBox]] = {image.id: [] for image in images}
    for wire in detections:
        if wire.source_image.id in given:
            given[wire.source_image.id].append(GivenBox.of(wire))
    return [replace(image, given=tuple(given[image.id])) for image in images], []


def _unique(images: Sequence[SourceImageRequest]) -> list[SourceImageRequest]:
    """The images with repeated ids left out (the first one stays), as Antenna's services do."""
    seen: dict[str, SourceImageRequest] = {}
    for image in images:
        seen.setdefault(image.id, image)
    if len(seen) != len(images):
        log.warning("ignoring %d repeated source image ids", len(images) - len(seen))
    return list(seen.values())
