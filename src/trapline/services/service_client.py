"""Calls from the platform to push-mode processing services: ``/info``, ``/readyz``, ``/process``.

Services are called without credentials (they get signed image URLs, never the platform's
token). Failures become ``ServiceError``s that say what went wrong in words a project manager
can act on; ``transient`` ones (the service unreachable, or answering 5xx) are worth retrying.
"""

from __future__ import annotations

import json
import logging
import time
from typing import TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from trapline.domain.jobs import RetryPolicy
from trapline.errors import TraplineError
from trapline.protocol import PipelineRequest, ProcessingServiceInfoResponse, ProcessResponse

log = logging.getLogger(__name__)

#: Seconds a ``/info`` call may take (the answer carries whole category maps).
INFO_TIMEOUT = 15.0
#: Seconds a ``/readyz`` call may take.
READY_TIMEOUT = 5.0
#: Seconds to wait for a connection to a service.
CONNECT_TIMEOUT = 5.0
#: Largest answer read from a service, in bytes.
MAX_ANSWER_BYTES = 512 * 1024 * 1024
#: How ``/process`` calls are retried when the service is unreachable or answers 5xx.
PROCESS_RETRY = RetryPolicy(max_attempts=3, base_delay=1.0, max_delay=10.0)

Answer = TypeVar("Answer", bound=BaseModel)


class ServiceError(TraplineError):
    """A processing service could not be used; answered as 502 by the API."""

    status_code = 502
    code = "service_error"

    def __init__(self, detail: str, *, transient: bool, code: str | None = None) -> None:
        super().__init__(detail, code=code)
        #: Whether trying again soon may work (unreachable, timed out or a 5xx answer).
        self.transient = transient


def endpoint(base_url: str, path: str) -> str:
    """``path`` of the service at ``base_url`` (which may or may not end with a slash)."""
    return f"{base_url.rstrip('/')}/{path.lstrip('/')}"


class ServiceClient:
    """One pooled HTTP client for every processing service; thread-safe."""

    def __init__(
        self, *, process_timeout: float, transport: httpx.BaseTransport | None = None
    ) -> None:
        self.process_timeout = process_timeout
        self._http = httpx.Client(
            timeout=httpx.Timeout(process_timeout, connect=CONNECT_TIMEOUT),
            follow_redirects=False,
            transport=transport,
        )

    def close(self) -> None:
        """Close the pooled connections."""
        self._http.close()

    def info(self, base_url: str) -> ProcessingServiceInfoResponse:
        """The service's description and pipelines (``GET /info``).

        Raises:
            ServiceError: unreachable, an error status, or an answer that is no description.
        """
        return self._call("GET", base_url, "info", ProcessingServiceInfoResponse, INFO_TIMEOUT)

    def readiness_error(self, base_url: str) -> str | None:
        """Why the service is not ready (``GET /readyz``), or None when it is."""
        url = endpoint(base_url, "readyz")
        try:
            answer = self._http.get(url, timeout=READY_TIMEOUT)
        except httpx.HTTPError as exc:
            return _unreachable(url, exc)
        if answer.is_success:
            return None
        return f"{url} answered HTTP {answer.status_code}{_detail(answer.content)}"

    def process(
        self, base_url: str, request: PipelineRequest, retry: RetryPolicy = PROCESS_RETRY
    ) -> ProcessResponse:
        """Run a pipeline over images (``POST /process``), retrying transient failures.

        Raises:
            ServiceError: when every try failed, or at once for a 4xx or an invalid answer.
        """
        attempt = 1
        while True:
            try:
                return self._call(
                    "POST", base_url, "process", ProcessResponse, self.process_timeout, request
                )
            except ServiceError as exc:
                if not exc.transient or attempt >= retry.max_attempts:
                    raise
                pause = retry.delay(attempt).total_seconds()
                log.warning("%s; try %d again in %.1fs", exc.detail, attempt + 1, pause)
                time.sleep(pause)
                attempt += 1

    def _call(
        self,
        method: str,
        base_url: str,
        path: str,
        model: type[Answer],
        timeout: float,
        body: BaseModel | None = None,
    ) -> Answer:
        url = endpoint(base_url, path)
        try:
            with self._http.stream(
                method,
                url,
                json=body.model_dump(mode="json") if body is not None else None,
                timeout=httpx.Timeout(timeout, connect=CONNECT_TIMEOUT),
            ) as answer:
                content = _read_limited(answer, url)
        except httpx.TimeoutException as exc:
            raise ServiceError(
                f"{url} did not answer within {timeout:.0f}s ({type(exc).__name__})",
                transient=not isinstance(exc, httpx.ReadTimeout),  # a slow service stays slow
                code="service_timeout",
            ) from exc
        except httpx.HTTPError as exc:
            raise ServiceError(
                _unreachable(url, exc), transient=True, code="service_unreachable"
            ) from exc
        if not answer.is_success:
            raise ServiceError(
                f"{url} answered HTTP {answer.status_code}{_detail(content)}",
                transient=answer.status_code >= 500,
                code="service_failed",
            )
        try:
            return model.model_validate_json(content)
        except ValidationError as exc:
            raise ServiceError(
                f"{url} did not answer as a processing service does: {_first_problem(exc)}",
                transient=False,
                code="bad_service_answer",
            ) from exc


def _read_limited(answer: httpx.Response, url: str) -> bytes:
    body = bytearray()
    for chunk in answer.iter_bytes():
        body += chunk
        if len(body) > MAX_ANSWER_BYTES:
            raise ServiceError(
                f"{url} answered more than {MAX_ANSWER_BYTES} bytes",
                transient=False,
                code="bad_service_answer",
            )
    return bytes(body)


def _unreachable(url: str, exc: httpx.HTTPError) -> str:
    reason = str(exc) or type(exc).__name__
    return f"could not reach {url}: {reason}"


def _detail(content: bytes) -> str:
    """The ``detail`` a service gave with an error, if it gave a short one in JSON."""
    try:
        detail = json.loads(content).get("detail")
    except (ValueError, AttributeError):
        return ""
    return f": {detail}" if isinstance(detail, str) and len(detail) <= 500 else ""


def _first_problem(exc: ValidationError) -> str:
    first = exc.errors()[0]
    if first.get("type") == "json_invalid":
        return "the answer is not JSON"
    where = ".".join(str(p) for p in first.get("loc", ())) or "the answer"
    return f"{where}: {first.get('msg')}"
