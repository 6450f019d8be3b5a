"""A worker's pipelines as a synchronous processing service (push mode, Antenna's v1 contract).

``GET /info`` describes the service and its pipelines, ``GET /livez`` answers while the process
runs, ``GET /readyz`` once every pipeline has loaded its models, and ``POST /process`` runs one
pipeline over a list of image URLs and answers with one result merged over the images.

Only the standard library's ``ThreadingHTTPServer`` serves it (``service_http``), so a worker
needs no web stack. Images are fetched in parallel (``download_threads``) by a client that sends
no credentials; an image that cannot be fetched or decoded is reported in ``errors`` and the
others are still processed. Models are not thread-safe, so calls into one pipeline are
serialised.
"""

from __future__ import annotations

import logging
import signal
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from types import FrameType
from typing import Any

import httpx

from trapline import __version__
from trapline.errors import InvalidInput, TraplineError
from trapline.pipelines.base import Pipeline, SourceImage
from trapline.protocol import (
    AlgorithmConfig,
    DetectionResponse,
    PipelineConfig,
    PipelineRequest,
    ProcessingServiceInfoResponse,
    ProcessResponse,
    ResultError,
    SourceImageRequest,
    SourceImageResponse,
)
from trapline.settings import Settings
from trapline.worker.client import image_client
from trapline.worker.images import ImageError, decode, fetch_bytes
from trapline.worker.service_http import ServiceError, ServiceHandler, ServiceServer

log = logging.getLogger(__name__)

#: Seconds between the HTTP server's checks for a stop request.
POLL_INTERVAL = 0.1


class ProcessingService:
    """The HTTP service over a set of pipelines; ``start`` it, then ``stop`` it."""

    def __init__(self, pipelines: Sequence[Pipeline], settings: Settings) -> None:
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
        try:
            self._server = ServiceServer((settings.host, settings.port), ServiceHandler, self)
        except OSError as exc:
            raise TraplineError(
                f"cannot listen on {settings.host}:{settings.port}: {exc.strerror or exc}"
            ) from exc
        self._serving = False
        self._images = image_client(settings.request_timeout, settings.download_threads)
        self._downloads = ThreadPoolExecutor(
            settings.download_threads, thread_name_prefix="service-fetch"
        )

    @property
    def port(self) -> int:
        """The port the service listens on (useful when started on port 0)."""
        return int(self._server.server_address[1])

    @property
    def ready(self) -> bool:
        """Whether every pipeline has loaded."""
        return self._ready.is_set()

    def start(self) -> None:
        """Serve requests in the background and load the pipelines (``/readyz`` says when)."""
        self._serving = True
        threading.Thread(
            target=self._server.serve_forever,
            args=(POLL_INTERVAL,),
            name="service-http",
            daemon=True,
        ).start()
        threading.Thread(target=self._load, name="service-load", daemon=True).start()

    def stop(self, drain_timeout: float | None = None) -> None:
        """Stop taking requests, let those in progress finish (up to the drain timeout), close."""
        if self._serving:  # shutdown() waits for serve_forever, which must have started
            self._server.shutdown()
            self._serving = False
        self._server.server_close()
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

    # -- the endpoints --

    def readiness(self) -> tuple[int, dict[str, Any]]:
        """``/readyz``: 200 with the ready pipelines' slugs, or 503 while loading (or broken)."""
        if self.ready:
            return 200, {"status": list(self.pipelines)}
        detail = self.load_error or "the pipelines are still loading"
        return 503, {"status": [], "detail": detail}

    def process(self, request: PipelineRequest) -> ProcessResponse:
        """Run the request's pipeline over its images; failed images go to ``errors``.

        Raises:
            ServiceError: for an unknown pipeline (400), while loading (503), or when the
                pipeline itself fails on the batch (500).
        """
        pipeline = self.pipelines.get(request.pipeline)
        if pipeline is None:
            offered = ", ".join(self.pipelines)
            raise ServiceError(
                400,
                f"this service does not offer pipeline {request.pipeline!r}; it offers: {offered}",
                "unknown_pipeline",
            )
        if not self.ready:
            raise ServiceError(503, self.readiness()[1]["detail"], "not_ready")
        started = time.perf_counter()
        wanted = _unique(request.source_images)
        fetched = list(self._downloads.map(self._fetch, wanted))
        images = [f for f in fetched if isinstance(f, SourceImage)]
        errors = [f for f in fetched if isinstance(f, ResultError)]
        detections: list[DetectionResponse] = []
        if images:
            with self._locks[pipeline.slug]:  # models are not thread-safe
                try:
                    results = pipeline.process(images)
                except Exception as exc:
                    log.exception("pipeline %s failed on a batch of %d", pipeline.slug, len(images))
                    raise ServiceError(
                        500,
                        f"pipeline {pipeline.slug} failed on this batch: "
                        f"{type(exc).__name__}: {exc}",
                        "pipeline_failed",
                    ) from exc
            for result in results:
                detections += result.detections
        config = self.configs[pipeline.slug]
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
            algorithms={a.key: a for a in config.algorithms},
        )

    def _fetch(self, image: SourceImageRequest) -> SourceImage | ResultError:
        if not image.url.lower().startswith(("http://", "https://")):
            return ResultError(
                error=f"url must be an http(s) URL (got {image.url!r})", image_id=image.id
            )
        try:
            data = fetch_bytes(self._images, image.url, max_bytes=self.settings.max_image_bytes)
            return decode(data, image.id, url=image.url)
        except ImageError as exc:
            return ResultError(error=str(exc), image_id=image.id)
        except httpx.InvalidURL as exc:
            return ResultError(error=f"url is not valid: {exc}", image_id=image.id)
        except Exception as exc:  # one odd image must not fail the whole request
            log.exception("fetching image %s failed", image.id)
            return ResultError(
                error=f"image failed: {type(exc).__name__}: {exc}", image_id=image.id
            )


def serve(pipelines: list[Pipeline], settings: Settings) -> None:
    """Serve ``pipelines`` on ``settings.host:settings.port`` until SIGTERM or SIGINT.

    Raises:
        TraplineError: when the port cannot be bound or a pipeline fails to load.
    """
    service = ProcessingService(pipelines, settings)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        log.info("%s: stopping", signal.Signals(signum).name)
        stop.set()

    previous = {}
    if threading.current_thread() is threading.main_thread():
        previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        service.start()
        log.info(
            "processing service %r on http://%s:%d serving %s",
            service.info.name,
            settings.host,
            service.port,
            ", ".join(service.pipelines),
        )
        while not stop.wait(0.2) and service.load_error is None:
            pass
    finally:
        service.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if service.load_error is not None:
        raise TraplineError(service.load_error)
    log.info("processing service stopped")


def _service_info(
    settings: Settings, configs: list[PipelineConfig]
) -> ProcessingServiceInfoResponse:
    algorithms: dict[tuple[str, int], AlgorithmConfig] = {}
    for config in configs:
        for algorithm in config.algorithms:
            algorithms.setdefault((algorithm.key, algorithm.version), algorithm)
    return ProcessingServiceInfoResponse(
        name=settings.worker_name or f"trapline worker ({socket.gethostname()})",
        description=(
            f"trapline {__version__} processing service: {', '.join(c.slug for c in configs)}"
        ),
        pipelines=configs,
        algorithms=list(algorithms.values()),
    )


def _unique(images: Sequence[SourceImageRequest]) -> list[SourceImageRequest]:
    """The images with repeated ids left out (the first one stays), as Antenna's services do."""
    seen: dict[str, SourceImageRequest] = {}
    for image in images:
        seen.setdefault(image.id, image)
    if len(seen) != len(images):
        log.warning("ignoring %d repeated source image ids", len(images) - len(seen))
    return list(seen.values())
