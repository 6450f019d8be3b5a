"""The worker's HTTP client for the platform: one pooled session, retries, clear errors.

Every call retries connection errors, timeouts, 5xx and 429 (honouring ``Retry-After``) with
exponential backoff; other 4xx answers are final and raise ``ApiError`` with the server's
message. Result posts are idempotent on the server (a repeated post answers ``duplicate``), so
they are retried like everything else. The platform token is sent only to the platform: images
are fetched by ``image_client()``, which has no credentials.
"""

from __future__ import annotations

import logging
import os
import platform
import random
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from trapline import __version__
from trapline.pipelines.base import GivenBox
from trapline.protocol.pipelines import ClientInfo, PipelineConfig, PipelineRegistration
from trapline.protocol.results import PostedResults
from trapline.protocol.tasks import TaskOut, TasksResponse

log = logging.getLogger(__name__)

_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
#: Jobs asked for per listing.
JOB_PAGE = 100


class ApiError(Exception):
    """The platform refused a call with a final (non-retryable) status."""

    def __init__(self, status: int, detail: str, path: str) -> None:
        # status 0: no answer at all (retries ran out on connection errors)
        super().__init__(f"{path}: HTTP {status}: {detail}" if status else f"{path}: {detail}")
        self.status = status
        self.detail = detail
        self.path = path


class Stopped(Exception):
    """Retrying gave up because the worker is shutting down."""


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with jitter; ``attempts=None`` retries until told to stop."""

    attempts: int | None = None
    first: float = 0.5
    cap: float = 30.0

    def delay(self, attempt: int) -> float:
        """Seconds to wait before retry number ``attempt`` (1-based)."""
        base = min(self.cap, self.first * 2.0 ** (attempt - 1))
        return base * random.uniform(0.5, 1.0)


@dataclass(frozen=True)
class Task:
    """A leased task as the worker keeps it."""

    id: str
    job_id: int
    image_id: str
    image_url: str
    reply_subject: str
    pipeline: str
    lease_seconds: int | None
    claimed_at: float
    #: Boxes to classify instead of detecting (a job over another pipeline's boxes).
    given: tuple[GivenBox, ...] | None = None

    @classmethod
    def from_wire(cls, wire: TaskOut, job_id: int, pipeline: str) -> Task:
        """A task from the claim answer; ``job_id`` for answers that don't carry it."""
        return cls(
            id=wire.id,
            job_id=wire.job_id if wire.job_id is not None else job_id,
            image_id=wire.image_id,
            image_url=wire.image_url,
            reply_subject=wire.reply_subject,
            pipeline=pipeline,
            lease_seconds=wire.lease_seconds,
            claimed_at=time.monotonic(),
            given=None if wire.detections is None else tuple(map(GivenBox.of, wire.detections)),
        )


def api_base(url: str) -> str:
    """The API root: ``http://host:8000`` and ``http://host:8000/api/v2/`` both work."""
    url = url.rstrip("/")
    return url if "/api/" in url + "/" else url + "/api/v2"


def client_info(
    name: str | None, pipelines: Sequence[str], *, fallback: bool = False
) -> ClientInfo:
    """Who this worker process is, sent with claims and posts; a ``fallback`` worker leaves
    jobs to the other workers online."""
    host = socket.gethostname()
    return ClientInfo(
        hostname=host,
        software="trapline-worker",
        version=__version__,
        platform=platform.platform(terse=True),
        pid=os.getpid(),
        pipelines=list(pipelines),
        name=name or f"{host}-{os.getpid()}",
        fallback=True if fallback else None,
    )


def image_client(timeout: float, threads: int) -> httpx.Client:
    """A client for image URLs: no platform credentials, pooled for the download threads."""
    return httpx.Client(
        timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
        limits=httpx.Limits(max_connections=threads, max_keepalive_connections=threads),
        follow_redirects=True,
        transport=httpx.HTTPTransport(retries=2),
    )


class PlatformClient:
    """Calls to the platform's worker API with the token, retried per ``backoff``."""

    def __init__(
        self,
        api_url: str,
        token: str,
        *,
        info: ClientInfo,
        timeout: float = 60.0,
        backoff: Backoff = Backoff(),
        stopping: Callable[[], bool] = lambda: False,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        """``transport``: how calls travel (default: HTTP; a test passes an app's own)."""
        self.base = api_base(api_url)
        self.info = info
        self.backoff = backoff
        self._stopping = stopping
        self._http = httpx.Client(
            base_url=self.base,
            headers={"Authorization": f"Token {token}", "User-Agent": f"trapline/{__version__}"},
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            limits=httpx.Limits(max_connections=16, max_keepalive_connections=16),
            transport=transport,
        )
        self._lock = threading.Lock()
        #: ``False`` once the server answered that it lacks ``/tasks/next/``: then it is
        #: Antenna, found out once by the first claim, and the worker speaks to it as ADC does.
        self.has_next = True
        self.has_extend = True
        #: Set once the first claim told whether the platform is trapline or Antenna.
        self.known = threading.Event()

    @property
    def antenna(self) -> bool:
        """Whether the platform is Antenna (known after the first claim)."""
        return not self.has_next

    def close(self) -> None:
        """Close pooled connections."""
        self._http.close()

    # -- claiming ---------------------------------------------------------------------------

    def next_tasks(
        self, pipeline: str, batch_size: int, until: Callable[[], bool] | None = None
    ) -> list[Task]:
        """Claim across running jobs of ``pipeline`` (trapline's ``/tasks/next/``)."""
        body = {"pipelines": [pipeline], "batch_size": batch_size, "client_info": self._info()}
        try:
            answer = self.call("POST", "/tasks/next/", json=body, until=until)
        except ApiError as exc:
            if exc.status in (404, 405):
                log.info("the platform has no /tasks/next/; claiming job by job instead")
                self.has_next = False
                self.known.set()
                return []
            raise
        self.known.set()
        return [Task.from_wire(t, 0, pipeline) for t in TasksResponse.model_validate(answer).tasks]

    def incomplete_jobs(
        self,
        pipelines: Sequence[str],
        until: Callable[[], bool] | None = None,
        *,
        started_only: bool = False,
    ) -> list[tuple[int, str]]:
        """Pull-mode jobs of these pipelines not finished yet (Antenna's list call).

        ``started_only`` leaves out jobs nobody started, which will bring no work by themselves
        (trapline only: Antenna's ``status`` filter takes one value of its own states).
        Antenna answers one job at random unless a ``limit`` is given; the worker asks for a
        page, so one pass over it sees every job.
        """
        params = {
            "pipeline__slug__in": ",".join(pipelines),
            "ids_only": "1",
            "incomplete_only": "1",
            "dispatch_mode": "async_api",
            "limit": str(JOB_PAGE),
        }
        if started_only and not self.antenna:
            params["status"] = "queued,running"
        answer = self.call("GET", "/jobs/", params=params, until=until)
        return [(int(j["id"]), str(j["pipeline_slug"])) for j in answer.get("results", [])]

    def claim(
        self,
        job_id: int,
        pipeline: str,
        batch_size: int,
        until: Callable[[], bool] | None = None,
    ) -> list[Task]:
        """Claim a batch of one job (Antenna's ``/jobs/{id}/tasks/``)."""
        body = {"batch_size": batch_size, "client_info": self._info()}
        answer = self.call("POST", f"/jobs/{job_id}/tasks/", json=body, until=until)
        return [
            Task.from_wire(t, job_id, pipeline) for t in TasksResponse.model_validate(answer).tasks
        ]

    def extend(self, reply_subjects: Sequence[str], seconds: int) -> list[str]:
        """Extend leases; returns the reply subjects the platform no longer holds for us."""
        if not self.has_extend:
            return []
        body = {"reply_subjects": list(reply_subjects), "seconds": seconds}
        try:
            answer = self.call("POST", "/tasks/extend/", json=body, backoff=Backoff(attempts=2))
        except ApiError as exc:
            if exc.status in (404, 405):
                self.has_extend = False
                return []
            raise
        return [str(t) for t in answer.get("lost", [])]

    # -- results and registration -----------------------------------------------------------

    def post_results(self, job_id: int, items: list[dict[str, Any]]) -> PostedResults:
        """Post results of one job; retried until it succeeds or the worker is stopped."""
        body = {"results": items, "client_info": self._info()}
        answer = self.call("POST", f"/jobs/{job_id}/result/", json=body)
        return PostedResults.model_validate(answer)

    def register(
        self, project_id: int, service_name: str, pipelines: Sequence[PipelineConfig]
    ) -> dict[str, Any]:
        """Register pipelines with a project; returns the server's answer."""
        body = PipelineRegistration(
            processing_service_name=service_name,
            pipelines=list(pipelines),
            client_info=self.info,
        ).model_dump(mode="json", exclude_none=True)
        answer: dict[str, Any] = self.call(
            "POST", f"/projects/{project_id}/pipelines/", json=body, backoff=Backoff(attempts=4)
        )
        return answer

    # -- transport ---------------------------------------------------------------------------

    def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, str] | None = None,
        backoff: Backoff | None = None,
        until: Callable[[], bool] | None = None,
    ) -> Any:
        """One API call with retries; the decoded JSON answer.

        Raises:
            ApiError: for a final 4xx answer (or when retries ran out).
            Stopped: when ``until`` (default: the client's ``stopping``) turned true while
                waiting to retry.
        """
        policy = backoff or self.backoff
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self._http.request(method, path, json=json, params=params)
            except httpx.TransportError as exc:
                problem, wait = f"{type(exc).__name__}: {exc}", None
            else:
                if response.status_code < 400:
                    return response.json() if response.content else {}
                if response.status_code not in _RETRY_STATUSES:
                    raise ApiError(response.status_code, _detail(response), path)
                problem = f"HTTP {response.status_code}: {_detail(response)}"
                wait = _retry_after(response)
            if policy.attempts is not None and attempt >= policy.attempts:
                raise ApiError(0, f"gave up after {attempt} attempts: {problem}", path)
            # A little jitter on Retry-After too: workers refused at the same moment would
            # otherwise all come back together, and be refused together again.
            delay = wait * random.uniform(1.0, 1.25) if wait is not None else policy.delay(attempt)
            log.warning(
                "%s %s failed (%s); retry %d in %.1fs", method, path, problem, attempt, delay
            )
            self._sleep(delay, until or self._stopping)

    @staticmethod
    def _sleep(seconds: float, until: Callable[[], bool]) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if until():
                raise Stopped
            time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))

    def _info(self) -> dict[str, Any]:
        return self.info.model_dump(mode="json", exclude_none=True)


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300] or response.reason_phrase
    if isinstance(body, dict) and "detail" in body:
        return str(body["detail"])
    return str(body)[:300]


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "")
    try:
        return min(max(float(value), 0.0), 300.0)
    except ValueError:
        return None
