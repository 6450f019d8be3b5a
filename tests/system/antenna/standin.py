"""A stand-in for Antenna, the AMI platform: another product, not trapline.

It answers the calls a trapline worker makes the way Antenna's current code does, so that a
change that would break trapline workers on Antenna fails ``make test``. What it answers was
taken from Antenna's sources (``ami/jobs/views.py``, ``ami/jobs/serializers.py``,
``ami/jobs/schemas.py``, ``ami/ml/schemas.py``, ``ami/ml/orchestration/nats_queue.py``,
``ami/ml/models/pipeline.py``); it is written here from those facts, in a few hundred lines
of the standard library and pydantic:

- ``GET /api/v2/jobs/``: the job filters Antenna declares (``status`` and ``dispatch_mode`` take
  one of their choices; anything else is a 400 naming the field), ``pipeline__slug__in``,
  ``incomplete_only`` (leaves out final states), ``ids_only`` (``{id, pipeline_slug}``, one
  random job unless ``limit`` is given); ``GET /api/v2/jobs`` redirects to it;
- ``POST /api/v2/jobs/{id}/tasks/``: ``batch_size`` checked first, then the job; tasks only
  while the job is ``STARTED`` or ``RETRY``; a reserved task comes back after the visibility
  timeout (``ack_wait``, 300 s), at most ``max_deliver`` (2) times;
- ``POST /api/v2/jobs/{id}/result/``: the whole body validated (one bad item: 400, nothing
  taken), then ``accepted`` with every item ``queued``; results are stored in the background
  and only then acknowledged: detections and classifications by the algorithms registered for
  the pipeline, each classification's taxon data read from ``category_map.data[index of the
  best score]``; a result that cannot be stored is not acknowledged and comes back; a result
  arriving once its job has ended (canceled, revoked, done) is dropped, as Antenna logs
  "result arrived after the job already finished … ignoring";
- ``POST /api/v2/projects/{id}/pipelines/``: registration (201), answered as Antenna's
  ``register_pipelines`` answers: ``pipelines_created`` names each pipeline new to the project
  and the key of each algorithm new to its pipeline, ``algorithms_created`` stays empty;
- anything else: Django's 404 page (no ``/tasks/next/``, no lease extension).
"""

from __future__ import annotations

import json
import queue
import random
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from pydantic import BaseModel, ConfigDict, ValidationError

#: Antenna's job states (``JobState``); ``status`` filters take exactly one of them.
JOB_STATES = ("CREATED", "PENDING", "STARTED", "SUCCESS", "FAILURE", "RETRY")
JOB_STATES += ("CANCELING", "REVOKED", "RECEIVED", "UNKNOWN")
FINAL_STATES = ("SUCCESS", "FAILURE", "REVOKED")
ACTIVE_STATES = ("STARTED", "RETRY")
DISPATCH_MODES = ("internal", "sync_api", "async_api")


# -- the request bodies, as Antenna's pydantic schemas declare them --


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class AlgorithmReference(_Model):
    name: str
    key: str


class Classification(_Model):
    classification: str
    labels: list[str] | None = None
    scores: list[float] = []
    logits: list[float] | None = None
    algorithm: AlgorithmReference
    terminal: bool = True
    timestamp: datetime


class BoundingBox(_Model):
    x1: float
    y1: float
    x2: float
    y2: float


class Detection(_Model):
    source_image_id: str
    bbox: BoundingBox | None = None
    algorithm: AlgorithmReference
    timestamp: datetime
    classifications: list[Classification] = []


class SourceImage(_Model):
    id: str
    url: str


class PipelineResults(_Model):
    pipeline: str
    total_time: float
    source_images: list[SourceImage]
    detections: list[Detection]
    errors: list[Any] | str | None = None


class PipelineError(_Model):
    error: str
    image_id: str | None = None


class TaskResult(_Model):
    reply_subject: str
    result: PipelineResults | PipelineError


class ResultsBody(_Model):
    results: list[TaskResult]


class CategoryMap(_Model):
    data: list[dict[str, Any]] = []
    labels: list[str] = []
    version: str | None = None


class AlgorithmConfig(_Model):
    name: str
    key: str
    task_type: str | None = None
    version: int = 1
    category_map: CategoryMap | None = None


class PipelineConfig(_Model):
    name: str
    slug: str
    version: int
    algorithms: list[AlgorithmConfig] = []


class Registration(_Model):
    processing_service_name: str
    pipelines: list[PipelineConfig] = []


# -- state --


@dataclass
class Message:
    """One task in a job's JetStream stream."""

    seq: int
    image_id: int
    deliveries: int = 0
    reserved_until: float = 0.0
    acked: bool = False


@dataclass
class Job:
    id: int
    project_id: int
    pipeline_slug: str
    status: str = "STARTED"
    dispatch_mode: str = "async_api"
    messages: list[Message] = field(default_factory=list)
    failed_images: set[int] = field(default_factory=set)


@dataclass
class Stored:
    """What the background result processing saved."""

    detections: list[tuple[int, str]] = field(default_factory=list)
    classifications: list[tuple[int, str, str, dict[str, Any]]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    #: Jobs whose result arrived once they had ended (dropped, as Antenna drops it).
    ignored: list[int] = field(default_factory=list)


class Antenna:
    """The stand-in's state and behaviour; ``serve()`` puts it on a loopback port."""

    def __init__(self, *, visibility: float = 300.0, max_deliver: int = 2) -> None:
        self.visibility = visibility
        self.max_deliver = max_deliver
        self.url = ""
        self.tokens: dict[str, set[int]] = {}
        self.projects: set[int] = set()
        self.images: dict[int, bytes] = {}
        self.algorithms: dict[str, dict[str, AlgorithmConfig]] = {}  # by pipeline slug
        self.services: dict[int, set[str]] = {}
        #: (project, pipeline slug) pairs registered: Antenna's project pipeline configs.
        self.project_pipelines: set[tuple[int, str]] = set()
        self.jobs: dict[int, Job] = {}
        self.stored = Stored()
        #: Every answer of 400 or more, as (method, path, status, body).
        self.refused: list[tuple[str, str, int, Any]] = []
        self.seen: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._results: queue.Queue[tuple[int, TaskResult] | None] = queue.Queue()
        self._seq = 0
        self.changed = threading.Condition(self._lock)

    # -- set-up by the test --

    def add_job(self, project_id: int, slug: str, images: dict[int, bytes], **fields: Any) -> Job:
        with self._lock:
            self.projects.add(project_id)
            self.images.update(images)
            job = Job(len(self.jobs) + 1, project_id, slug, **fields)
            for image_id in images:
                self._seq += 1
                job.messages.append(Message(self._seq, image_id))
            self.jobs[job.id] = job
            return job

    def wait(self, done: Any, timeout: float) -> bool:
        """Wait until ``done()`` holds (checked whenever the state changes)."""
        with self.changed:
            return self.changed.wait_for(done, timeout)

    # -- the API --

    def answer(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Any:
        """(status, headers, body) for one request."""
        parts = urlsplit(target)
        path, query = parts.path, parse_qs(parts.query)
        self.seen.append((method, target))
        if method == "GET" and path.startswith("/media/"):
            image = self.images.get(int(path.rsplit("/", 1)[1].split(".")[0]))
            return (200, {"Content-Type": "image/jpeg"}, image) if image else _not_found()
        if method == "GET" and path == "/api/v2/jobs":
            return 301, {"Location": f"/api/v2/jobs/?{parts.query}"}, b""
        segments = path.strip("/").split("/")
        rest = segments[2:] if segments[:2] == ["api", "v2"] else []
        route = None
        if method == "GET" and rest == ["jobs"]:
            route = self._list_jobs
        elif method == "POST" and len(rest) == 3 and rest[0] == "jobs":
            route = self._job_action
        elif method == "POST" and len(rest) == 3 and rest[::2] == ["projects", "pipelines"]:
            route = self._register
        if route is None or not path.endswith("/"):
            return _not_found()
        projects = self._auth(headers)
        if isinstance(projects, tuple):
            return projects
        return route(segments, query, body, projects)

    def _auth(self, headers: dict[str, str]) -> set[int] | tuple[int, dict[str, str], bytes]:
        scheme, _, key = headers.get("authorization", "").partition(" ")
        if scheme != "Token" or not key:
            return _json(401, {"detail": "Authentication credentials were not provided."})
        if key not in self.tokens:
            return _json(401, {"detail": "Invalid token."})
        return self.tokens[key]

    def _list_jobs(
        self, segments: list[str], query: dict[str, list[str]], body: bytes, projects: set[int]
    ) -> Any:
        one = {k: v[-1] for k, v in query.items()}
        errors: dict[str, list[str]] = {}
        for name, choices in (("status", JOB_STATES), ("dispatch_mode", DISPATCH_MODES)):
            if name in one and one[name] and one[name] not in choices:
                errors[name] = [
                    f"Select a valid choice. {one[name]} is not one of the available choices."
                ]
        if errors:
            return _json(400, errors)
        with self._lock:
            jobs = [j for j in self.jobs.values() if j.project_id in projects]
        if one.get("status"):
            jobs = [j for j in jobs if j.status == one["status"]]
        if one.get("dispatch_mode"):
            jobs = [j for j in jobs if j.dispatch_mode == one["dispatch_mode"]]
        if "pipeline__slug__in" in one:
            slugs = {s for s in one["pipeline__slug__in"].split(",") if s}
            jobs = [j for j in jobs if j.pipeline_slug in slugs]
        if _true(one.get("incomplete_only")):
            jobs = [j for j in jobs if j.status not in FINAL_STATES]
        ids_only = _true(one.get("ids_only"))
        limit = _positive(one.get("limit")) or (1 if ids_only and "page_size" not in one else 10)
        if ids_only:
            random.shuffle(jobs)
        page = jobs[:limit]
        results = [
            {"id": j.id, "pipeline_slug": j.pipeline_slug, "user_permissions": ["run"]}
            if ids_only
            else {"id": j.id, "status": j.status, "dispatch_mode": j.dispatch_mode}
            for j in page
        ]
        return _json(
            200,
            {
                "count": len(jobs),
                "next": None,
                "previous": None,
                "results": results,
                "user_permissions": [],
            },
        )

    def _job_action(
        self, segments: list[str], query: dict[str, list[str]], body: bytes, projects: set[int]
    ) -> Any:
        action = segments[4]
        if action == "tasks":
            return self._tasks(int(segments[3]) if segments[3].isdigit() else 0, body, projects)
        if action == "result":
            return self._result(int(segments[3]) if segments[3].isdigit() else 0, body, projects)
        return _not_found()

    def _job(self, job_id: int, projects: set[int]) -> Job | None:
        job = self.jobs.get(job_id)
        return job if job is not None and job.project_id in projects else None

    def _tasks(self, job_id: int, body: bytes, projects: set[int]) -> Any:
        data = _body(body)
        size = data.get("batch_size") if isinstance(data, dict) else None
        problem = (
            "This field is required."
            if size is None
            else "A valid integer is required."
            if not isinstance(size, int) or isinstance(size, bool)
            else "Ensure this value is greater than or equal to 1."
            if size < 1
            else None
        )
        if problem:
            return _json(400, {"batch_size": [problem]})
        with self._lock:
            job = self._job(job_id, projects)
            if job is None:
                return _json(404, {"detail": "No Job matches the given query."})
            if job.dispatch_mode != "async_api":
                return _json(400, ["Only async_api jobs have fetchable tasks"])
            if job.status not in ACTIVE_STATES:
                return _json(200, {"tasks": []})
            now = time.monotonic()
            tasks = []
            for message in job.messages:
                if len(tasks) == size:
                    break
                if message.acked or message.reserved_until > now:
                    continue
                if message.deliveries >= self.max_deliver:
                    continue
                message.deliveries += 1
                message.reserved_until = now + self.visibility
                pending = sum(1 for m in job.messages if not m.acked)
                tasks.append(
                    {
                        "id": str(message.image_id),
                        "image_id": str(message.image_id),
                        "image_url": f"{self.url}/media/{message.image_id}.jpg",
                        "reply_subject": (
                            f"$JS.ACK.job_{job.id}.job-{job.id}-consumer.{message.deliveries}."
                            f"{message.seq}.{message.seq}.{time.time_ns()}.{pending}"
                        ),
                    }
                )
        return _json(200, {"tasks": tasks})

    def _result(self, job_id: int, body: bytes, projects: set[int]) -> Any:
        with self._lock:
            job = self._job(job_id, projects)
        if job is None:
            return _json(404, {"detail": "No Job matches the given query."})
        try:
            parsed = ResultsBody.model_validate(_body(body))
        except ValidationError as exc:
            return _json(400, {"results": [str(exc)]})
        queued = []
        for item in parsed.results:
            self._results.put((job.id, item))
            queued.append(
                {
                    "reply_subject": item.reply_subject,
                    "status": "queued",
                    "task_id": str(uuid.uuid4()),
                }
            )
        return _json(
            200,
            {
                "status": "accepted",
                "job_id": job.id,
                "results_queued": len(queued),
                "tasks": queued,
            },
        )

    def _register(
        self, segments: list[str], query: dict[str, list[str]], body: bytes, projects: set[int]
    ) -> Any:
        project_id = int(segments[3]) if segments[3].isdigit() else 0
        if project_id not in projects or project_id not in self.projects:
            return _json(404, {"detail": "No Project matches the given query."})
        data = _body(body)
        if not isinstance(data, dict) or "processing_service_name" not in data:
            return _json(400, {"processing_service_name": ["This field is required."]})
        try:
            registration = Registration.model_validate(data)
        except ValidationError as exc:
            return _json(400, {"pipelines": [str(exc)]})
        # Antenna lists algorithm keys among the created pipelines and fills no
        # algorithms_created (ami/ml/models/processing_service.py, register_pipelines).
        created: list[str] = []
        with self._lock:
            for pipeline in registration.pipelines:
                if (project_id, pipeline.slug) not in self.project_pipelines:
                    self.project_pipelines.add((project_id, pipeline.slug))
                    created.append(pipeline.slug)
                known = self.algorithms.setdefault(pipeline.slug, {})
                for algorithm in pipeline.algorithms:
                    if algorithm.key not in known:
                        created.append(algorithm.key)
                    known[algorithm.key] = algorithm
                self.services.setdefault(project_id, set()).add(
                    registration.processing_service_name
                )
        return _json(
            201,
            {
                "timestamp": datetime.now(UTC).isoformat(),
                "success": True,
                "error": None,
                "pipelines": [p.model_dump() for p in registration.pipelines],
                "pipelines_created": created,
                "algorithms_created": [],
            },
        )

    # -- storing results in the background (Antenna's Celery task) --

    def _store_loop(self) -> None:
        while (work := self._results.get()) is not None:
            job_id, item = work
            try:
                self._store(job_id, item)
            except Exception as exc:  # not acknowledged: the task comes back later
                with self.changed:
                    self.stored.errors.append(f"job {job_id}: {type(exc).__name__}: {exc}")
                    self.changed.notify_all()
                continue
            self._ack(job_id, item)

    def _store(self, job_id: int, item: TaskResult) -> None:
        with self._lock:
            ended = self.jobs[job_id].status in (*FINAL_STATES, "CANCELING")
        if ended:
            with self.changed:
                self.stored.ignored.append(job_id)
                self.changed.notify_all()
            return
        result = item.result
        if isinstance(result, PipelineError):
            if result.image_id is not None:
                self.jobs[job_id].failed_images.add(int(result.image_id))
            return
        known = self.algorithms.get(result.pipeline, {})
        detections: list[tuple[int, str]] = []
        classifications: list[tuple[int, str, str, dict[str, Any]]] = []
        for detection in result.detections:
            if detection.algorithm.key not in known:
                raise ValueError(f"detection algorithm {detection.algorithm.key} is not known")
            detections.append((int(detection.source_image_id), detection.algorithm.key))
            for verdict in detection.classifications:
                algorithm = known.get(verdict.algorithm.key)
                if algorithm is None:
                    raise ValueError(f"classification algorithm {verdict.algorithm.key} unknown")
                labels = verdict.labels or [str(i) for i in range(len(verdict.scores))]
                category_map = algorithm.category_map or CategoryMap(
                    labels=labels, data=[{"label": x, "index": i} for i, x in enumerate(labels)]
                )
                label_data = category_map.data[verdict.scores.index(max(verdict.scores))]
                classifications.append(
                    (
                        int(detection.source_image_id),
                        verdict.classification,
                        label_data.get("taxon_rank", "UNKNOWN"),
                        label_data,
                    )
                )
        with self.changed:
            self.stored.detections += detections
            self.stored.classifications += classifications

    def _ack(self, job_id: int, item: TaskResult) -> None:
        seq = int(item.reply_subject.split(".")[5])
        with self.changed:
            job = self.jobs[job_id]
            for message in job.messages:
                if message.seq == seq:
                    message.acked = True
            if all(m.acked for m in job.messages) and job.status not in FINAL_STATES:
                failed = len(job.failed_images) > len(job.messages) / 2
                job.status = "FAILURE" if failed else "SUCCESS"
            self.changed.notify_all()

    @contextmanager
    def serve(self) -> Iterator[str]:
        """Listen on a free loopback port and store results in the background; yields the URL."""
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, extra, data = stand_in.answer(self.command, self.path, headers, body)
                if status >= 400:
                    stand_in.refused.append((self.command, self.path, status, data))
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Content-Type", extra.pop("Content-Type", "application/json"))
                for key, value in extra.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _handle

            def log_message(self, format: str, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{server.server_address[1]}"
        threads = [
            threading.Thread(target=server.serve_forever, daemon=True),
            threading.Thread(target=self._store_loop, daemon=True),
        ]
        for thread in threads:
            thread.start()
        try:
            yield self.url
        finally:
            self._results.put(None)
            server.shutdown()
            server.server_close()


def _json(status: int, body: Any) -> tuple[int, dict[str, str], bytes]:
    return status, {}, json.dumps(body).encode()


def _not_found() -> tuple[int, dict[str, str], bytes]:
    page = b"<!doctype html><title>Not Found</title><h1>Not Found</h1>"
    return 404, {"Content-Type": "text/html"}, page


def _body(body: bytes) -> Any:
    try:
        return json.loads(body or b"{}")
    except ValueError:
        return None


def _true(value: str | None) -> bool:
    return (value or "").lower() in ("1", "true", "yes", "on")


def _positive(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and int(value) > 0 else None
