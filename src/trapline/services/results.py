"""Storing what workers found: each result item judged on its own, stored exactly once."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from pydantic import ValidationError

from trapline.db.engine import Database
from trapline.db.types import utcnow
from trapline.domain.jobs import TaskStatus
from trapline.domain.lease_tokens import InvalidLeaseToken, LeaseClaim, read_lease
from trapline.domain.pipelines import Pipeline
from trapline.domain.records import Project, User
from trapline.domain.results import AnalysisDraft, ResultTarget
from trapline.protocol import (
    PIPELINE_RESULT,
    ClientInfo,
    ItemStatus,
    ResultError,
    ResultItemStatus,
    ResultsResponse,
    describe_problem,
)
from trapline.queue.base import TaskQueue
from trapline.services.access import AccessMemo, require
from trapline.services.annotations import ResultRejected, drafts_from_result
from trapline.services.jobs import finish_if_done
from trapline.services.workers import WorkerTracker

log = logging.getLogger(__name__)

_GONE = "this task no longer exists"


@dataclass
class _Item:
    """One result item on its way through ingestion."""

    index: int
    token: str | None
    claim: LeaseClaim | None = None
    #: A valid pipeline result, as ``PIPELINE_RESULT`` answers it.
    success: dict[str, Any] | None = None
    error: ResultError | None = None
    status: str | None = None
    detail: str | None = None

    def judge(self, status: str, detail: str | None = None) -> None:
        self.status, self.detail = status, detail


def ingest_results(
    db: Database,
    access: AccessMemo,
    queue: TaskQueue,
    tracker: WorkerTracker,
    secret: bytes,
    caller: User,
    job_id: int,
    results: Sequence[Mapping[str, Any]],
    client_info: ClientInfo | None,
    *,
    checked: bool = False,
) -> ResultsResponse:
    """Judge and store a batch of results for one job; answers a status per item.

    Each item is a ``ResultItem`` as a dict. ``checked`` says every item was validated as a
    ``TypedResultItem`` already (``TYPED_RESULTS_BODY``); otherwise each is checked here.
    """
    items = [_parse(n, item, secret, job_id, checked) for n, item in enumerate(results)]
    pending = [i for i in items if i.status is None and i.claim is not None]
    job, project = access.worker_job(caller, job_id)
    with db.read() as repos:
        pipeline = require(repos.pipelines.get_cached(job.pipeline_id), "pipeline", job.pipeline_id)
        targets = repos.tasks.targets({i.claim.task_id for i in pending if i.claim})
    worker = tracker.seen(caller, client_info, [job.pipeline_slug], [job.project_id]).name
    now = utcnow()
    settled: list[LeaseClaim] = []
    requeued = False
    # Checking results needs no transaction: the write below stays short, which matters on
    # SQLite where every writer waits for it.
    drafts = _check(pending, targets, pipeline, project, job_id, worker)
    to_store = [i for i in pending if i.index in drafts and i.status is None]
    errors = [i for i in pending if i.error is not None and i.status is None]
    with db.write() as repos:
        completed = repos.tasks.complete(
            job_id, [i.claim.task_id for i in to_store if i.claim], now=now
        )
        repos.analyses.store(
            [drafts[i.index] for i in to_store if i.claim and i.claim.task_id in completed],
            project_id=project.id,
            job_id=job_id,
            pipeline_id=pipeline.id,
            source="job",
            now=now,
        )
        unsettled: list[_Item] = []
        for item in to_store:
            assert item.claim is not None
            if item.claim.task_id in completed:
                item.judge("saved")
                settled.append(item.claim)
            else:
                unsettled.append(item)
        for item in errors:
            assert item.claim is not None
            assert item.error is not None
            new_status = repos.tasks.fail(item.claim, item.error.error, job.params.retry, now=now)
            if new_status is None:
                unsettled.append(item)
                continue
            item.judge(
                "failed", "will be retried" if new_status is TaskStatus.QUEUED else "out of tries"
            )
            requeued = requeued or new_status is TaskStatus.QUEUED
            if new_status is TaskStatus.FAILED:
                settled.append(item.claim)
        # Why a task could not be settled is read now, inside the writing transaction.
        current = repos.tasks.infos(i.claim.task_id for i in unsettled if i.claim)
        for item in unsettled:
            assert item.claim is not None
            info = current.get(item.claim.task_id)
            if info is None:  # deleted with its job or image since it was read above
                item.judge("rejected", _GONE)
                continue
            item.judge(*_why_not_open(info.status, stale_lease=item.error is not None))
        finished = finish_if_done(repos, job_id, settled=len(settled)) if settled else None
    if requeued:
        queue.notify_queued(job_id)
    if finished:
        queue.finished(job_id)
    statuses = [
        ResultItemStatus(
            reply_subject=i.token,
            status=cast(ItemStatus, i.status or "rejected"),
            task_id=str(i.claim.task_id) if i.claim else None,
            detail=i.detail,
        )
        for i in items
    ]
    counts: dict[str, int] = {}
    for s in statuses:
        counts[s.status] = counts.get(s.status, 0) + 1
    log.info("results for job %s from %s: %s", job_id, worker, counts)
    return ResultsResponse(job_id=job_id, results_queued=counts.get("saved", 0), tasks=statuses)


def _check(
    pending: list[_Item],
    targets: dict[int, ResultTarget],
    pipeline: Pipeline,
    project: Project,
    job_id: int,
    worker: str,
) -> dict[int, AnalysisDraft]:
    """Judge the items that can be judged without writing; returns drafts by item index."""
    drafts: dict[int, AnalysisDraft] = {}
    seen_tasks: set[int] = set()
    for item in pending:
        claim = item.claim
        assert claim is not None
        target = targets.get(claim.task_id)
        if target is None or target.job_id != job_id:
            item.judge("rejected", _GONE)
            continue
        if claim.task_id in seen_tasks:
            item.judge("duplicate", "the same task appears earlier in this request")
            continue
        if item.success is not None:
            try:
                drafts[item.index] = drafts_from_result(
                    item.success, pipeline, target, project, worker
                )
            except ResultRejected as exc:
                item.judge("rejected", str(exc))
                continue
        # Only an item that passed its checks speaks for the task within this request.
        seen_tasks.add(claim.task_id)
    return drafts


def _parse(index: int, item: Mapping[str, Any], secret: bytes, job_id: int, checked: bool) -> _Item:
    token = item.get("reply_subject")
    if not isinstance(token, str):
        token = None
    parsed = _Item(index, token)
    if not token:
        parsed.judge("rejected", "reply_subject is missing; send back the one the task came with")
        return parsed
    try:
        claim = read_lease(secret, token)
    except InvalidLeaseToken as exc:
        parsed.judge("rejected", f"reply_subject is not valid: {exc}")
        return parsed
    parsed.claim = claim
    if claim.job_id != job_id:
        parsed.judge("rejected", f"this reply_subject belongs to job {claim.job_id}, not {job_id}")
        return parsed
    body = item.get("result")
    try:
        if not isinstance(body, dict):
            parsed.judge(
                "rejected", "result must be an object: a pipeline result or {error, image_id}"
            )
        elif "error" in body:
            parsed.error = ResultError.model_validate(body)
        else:
            parsed.success = body if checked else PIPELINE_RESULT.validate_python(body)
    except ValidationError as exc:
        parsed.judge("rejected", _short(exc))
    return parsed


def _why_not_open(status: TaskStatus, *, stale_lease: bool = False) -> tuple[str, str]:
    if status is TaskStatus.SUCCEEDED:
        return "duplicate", "this task already has a stored result"
    if status is TaskStatus.CANCELED:
        return "rejected", "the job was canceled; this task's result is not wanted"
    if status is TaskStatus.FAILED:
        return "rejected", "this task already failed for good"
    if stale_lease:
        return "rejected", "this lease has expired and the task went back to the queue"
    return "rejected", f"the task is {status.value}"


def _short(exc: ValidationError) -> str:
    return f"result is not valid: {describe_problem(exc.errors()[0])}"
