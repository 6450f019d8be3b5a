"""Storing what workers found, in three steps: parse, judge, store.

1. ``result_items.posted_items`` turns what a worker posted (``result_body.read_post``) into
   ``Posted`` items: a lease (or none) and one of three outcomes — a pipeline result, an error
   report, or a ``Refusal`` saying why the item cannot be read. A posted result stays in the
   body until it is judged, and its detections are typed one at a time, so a post is never
   held parsed whole.
2. ``judge`` (pure) decides each item from what the database said before any write: ``Store``
   a result, ``Fail`` a task (the worker's error, or its result refused for what it holds:
   then at once and for good), or ``Settled`` with a verdict (rejected, duplicate) at once.
3. ``ResultStore.store`` applies the judgements in one short transaction; a task that is no
   longer open turns its item into a duplicate or a rejection there.

Workers (``receive``), the push dispatcher and any other source of results all store through
``ResultStore.store``, so counters, duplicates, retries and dead-lettering behave the same.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import datetime
from enum import StrEnum
from typing import NamedTuple

from trapline.db.engine import Database
from trapline.db.repositories import Repos
from trapline.domain.core.records import Project, User
from trapline.domain.pipelines.pipelines import Pipeline
from trapline.domain.processing.jobs import Job, TaskStatus
from trapline.domain.processing.lease_tokens import LeaseClaim
from trapline.domain.processing.results import AnalysisDraft, ResultTarget
from trapline.protocol.results import (
    ItemStatus,
    PipelineResultsResponse,
    ResultError,
    ResultItemStatus,
    ResultsResponse,
)
from trapline.queue.base import TaskQueue
from trapline.services.core.access import require
from trapline.services.pipelines.workers import WorkerTracker
from trapline.services.processing.annotations import ResultRejected, drafts_from_result
from trapline.services.processing.given_boxes import with_source_algorithms
from trapline.services.processing.jobs import finish_if_done
from trapline.services.processing.result_body import (
    PendingResult,
    ReadPost,
    Refusal,
    ResultInvalid,
    StreamedResult,
)
from trapline.services.processing.result_items import Posted, posted_items
from trapline.services.processing.worker_access import WorkerAccess

log = logging.getLogger(__name__)

_GONE = "this task no longer exists"
#: Most values (``_weight``) judged items may hold before they are written: drafts of a project
#: that keeps full score vectors hold them until then (~32 bytes each), so ~10 MB.
FLUSH_WEIGHT = 300_000


class Verdict(StrEnum):
    """What became of one result item."""

    SAVED = "saved"
    DUPLICATE = "duplicate"
    FAILED = "failed"
    REJECTED = "rejected"


_ON_THE_WIRE: dict[Verdict, ItemStatus] = {
    Verdict.SAVED: "saved",
    Verdict.DUPLICATE: "duplicate",
    Verdict.FAILED: "failed",
    Verdict.REJECTED: "rejected",
}


class Store(NamedTuple):
    """Judged: complete the task and store this analysis."""

    claim: LeaseClaim
    draft: AnalysisDraft


class Fail(NamedTuple):
    """Judged: the worker could not process the image; fail (or retry) the task. ``refused``:
    the worker's result was refused (its content breaks the rules); the task fails for good at
    once with the reason, and the item is answered ``rejected``."""

    claim: LeaseClaim
    error: str
    refused: bool = False


class Settled(NamedTuple):
    """Decided: nothing (more) to write."""

    verdict: Verdict
    detail: str | None = None


Judgement = Store | Fail | Settled


def judge(
    posted: Sequence[Posted],
    targets: dict[int, ResultTarget],
    pipeline: Pipeline,
    project: Project,
    job_id: int,
    worker: str,
) -> list[Judgement]:
    """Step 2: what to do with each item, from the tasks as read before writing (pure)."""
    seen_tasks: dict[int, bool] = {}
    return [
        judge_item(item, targets, pipeline, project, job_id, worker, seen_tasks) for item in posted
    ]


def judge_item(
    item: Posted,
    targets: dict[int, ResultTarget],
    pipeline: Pipeline,
    project: Project,
    job_id: int,
    worker: str,
    seen_tasks: dict[int, bool],
) -> Judgement:
    """What to do with one item; ``seen_tasks`` holds the tasks earlier items spoke for (True:
    with a result, False: with the worker's error, which a later result of the post outranks).

    A result still in the body is typed here, its detections one at a time as they become
    annotations; a problem in its JSON outranks any other, as when results were typed first.
    """
    claim = item.claim
    read = item.outcome.read() if isinstance(item.outcome, PendingResult) else item.outcome
    outcome: PipelineResultsResponse | ResultError | Refusal
    if isinstance(read, StreamedResult):
        streamed, outcome = read, read.head
    else:
        streamed, outcome = None, read
    if claim is None:
        return Settled(Verdict.REJECTED, outcome.reason if isinstance(outcome, Refusal) else _GONE)
    target = targets.get(claim.task_id)
    if target is None or target.job_id != job_id:
        if isinstance(outcome, Refusal):
            return Settled(Verdict.REJECTED, outcome.reason)
        return _unless_invalid(streamed, Settled(Verdict.REJECTED, _GONE))
    if isinstance(outcome, Refusal):  # the job's own task: it fails, unless a later item is right
        return Fail(claim, outcome.reason, refused=True)
    spoken = seen_tasks.get(claim.task_id)
    if spoken or (spoken is not None and isinstance(outcome, ResultError)):
        why = "the same task appears earlier in this request"
        return _unless_invalid(streamed, Settled(Verdict.DUPLICATE, why))
    judged: Judgement
    if isinstance(outcome, ResultError):
        judged = Fail(claim, outcome.error)
    else:
        detections = streamed.detections() if streamed else None
        try:
            draft = drafts_from_result(outcome, pipeline, target, project, worker, detections)
        except ResultInvalid as exc:
            judged = Fail(claim, str(exc), refused=True)
        except ResultRejected as exc:
            problem = streamed.problem() if streamed is not None else None
            judged = Fail(claim, problem or str(exc), refused=True)
        else:
            judged = Store(claim, draft)
    # Only an item that passed its checks speaks for the task within this request: a refused
    # result, or the worker's error, fails its task unless a later item of the request is right.
    if isinstance(judged, Store):
        seen_tasks[claim.task_id] = True
    elif not judged.refused:
        seen_tasks.setdefault(claim.task_id, False)
    return judged


def _unless_invalid(streamed: StreamedResult | None, verdict: Settled) -> Settled:
    """``verdict``, unless a detection of ``streamed`` is not valid, which outranks it."""
    problem = streamed.problem() if streamed is not None else None
    return Settled(Verdict.REJECTED, problem) if problem else verdict


def _weight(judged: Judgement) -> int:
    """About how many values a judgement holds in memory until it is written (feature vectors,
    and full score vectors for projects that keep them)."""
    if not isinstance(judged, Store):
        return 1
    weight = 0
    for annotation in judged.draft.annotations:
        for child in (annotation, *annotation.children):
            data = child.data or {}
            weight += 10 + sum(len(data.get(k, ())) for k in ("all_scores", "logits", "features"))
            weight += len(child.features or b"") // 4
    return weight


class ResultStore:
    """The one way results reach the database."""

    def __init__(
        self,
        db: Database,
        queue: TaskQueue,
        access: WorkerAccess,
        tracker: WorkerTracker,
        secret: bytes,
    ) -> None:
        self.db, self.queue, self.access, self.tracker = db, queue, access, tracker
        #: Key that signed the leases workers send back.
        self.secret = secret

    def receive(
        self,
        caller: User,
        job_id: int,
        body: ReadPost,
    ) -> ResultsResponse:
        """A worker's results post for one job (``result_body.read_post``): every item
        answered."""
        job, project = self.access.worker_job(caller, job_id)
        posted = posted_items(body, self.secret, job_id)
        pipelines, projects = [job.pipeline_slug], [job.project_id]
        worker = self.tracker.seen(caller, body.client_info, pipelines, projects).name
        settled = self.store(job, project, worker, posted)
        answers = [
            ResultItemStatus(
                reply_subject=item.reply_subject,
                status=_ON_THE_WIRE[outcome.verdict],
                task_id=str(item.claim.task_id) if item.claim else None,
                detail=outcome.detail,
            )
            for item, outcome in zip(posted, settled, strict=True)
        ]
        counts = Counter(outcome.verdict.value for outcome in settled)
        # Posts that went well are routine (workers make them all day), as their requests are.
        routine = counts.keys() <= {Verdict.SAVED.value, Verdict.DUPLICATE.value}
        log.log(
            logging.DEBUG if routine else logging.INFO,
            "results for job %s from %s: %s",
            job_id,
            worker,
            dict(counts),
        )
        return ResultsResponse(
            job_id=job_id, results_queued=counts[Verdict.SAVED.value], tasks=answers
        )

    def store(
        self, job: Job, project: Project, worker: str, posted: Sequence[Posted]
    ) -> list[Settled]:
        """Step 3: judge the items and write what they decide; one verdict per item.

        The judgements are written in one short transaction, or in several when the drafts
        waiting to be written would hold more than ``FLUSH_WEIGHT`` values (full score vectors
        a project keeps), so memory stays bounded by that, not by the post. A task's failure
        (the worker's error, a refused result) waits for the last of them: a later item of the
        post may still bring the task's result, which outranks it.
        """
        wanted = {p.claim.task_id for p in posted if p.claim and p.claim.job_id == job.id}
        with self.db.read() as repos:
            known = repos.pipelines.pipelines.get_cached(job.pipeline_id)
            pipeline = require(known, "pipeline", job.pipeline_id)
            pipeline = with_source_algorithms(repos, job, pipeline)
            targets = repos.processing.tasks.targets(wanted)
        # Judging needs no transaction: the writes below stay short, which matters on SQLite
        # where every writer waits for them.
        settled: dict[int, Settled] = {}  # by the item's place in the post
        seen_tasks: dict[int, bool] = {}
        pending: list[tuple[int, Judgement]] = []
        failing: list[tuple[int, Judgement]] = []
        weight = 0
        for n, item in enumerate(posted):
            judged = judge_item(item, targets, pipeline, project, job.id, worker, seen_tasks)
            (failing if isinstance(judged, Fail) else pending).append((n, judged))
            weight += _weight(judged)
            if weight > FLUSH_WEIGHT:
                settled.update(self._apply(job, project.id, pipeline.id, pending, worker))
                pending, weight = [], 0
        if pending or failing or not posted:
            settled.update(self._apply(job, project.id, pipeline.id, pending + failing, worker))
        return [settled[n] for n in range(len(posted))]

    def _apply(
        self,
        job: Job,
        project_id: int,
        pipeline_id: int,
        judged: list[tuple[int, Judgement]],
        worker: str,
    ) -> Iterator[tuple[int, Settled]]:
        """Write judgements (each with its item's place in the post); their verdicts, placed."""
        with self.db.write() as repos:
            settled, finished, requeued = _write(
                repos, job, project_id, pipeline_id, [j for _, j in judged],
                self.queue.clock.now(), worker,
            )  # fmt: skip
        if requeued:
            self.queue.notify_queued(job.id)
        if finished:
            self.queue.finished(job.id)
        return zip((n for n, _ in judged), settled, strict=True)


def _write(
    repos: Repos,
    job: Job,
    project_id: int,
    pipeline_id: int,
    judged: list[Judgement],
    now: datetime,
    worker: str,
) -> tuple[list[Settled], bool, bool]:
    """Apply the judgements in the caller's transaction (``now`` by the queue's clock, which
    times the tasks): (verdicts, job finished, requeued)."""
    stores = [j for j in judged if isinstance(j, Store)]
    completed = repos.processing.tasks.complete(job.id, [s.claim.task_id for s in stores], now=now)
    repos.processing.analyses.store(
        [s.draft for s in stores if s.claim.task_id in completed],
        project_id=project_id,
        job_id=job.id,
        pipeline_id=pipeline_id,
        source="job",
        now=now,
    )
    verdicts: dict[int, Settled] = {}  # by position in ``judged``
    refused: list[str] = []  # why each refused result was refused
    unsettled: dict[int, tuple[LeaseClaim, bool]] = {}  # position -> (claim, was an error)
    closed = 0  # tasks this transaction took out of the open states
    requeued = False
    for n, j in enumerate(judged):
        if isinstance(j, Settled):
            verdicts[n] = j
        elif isinstance(j, Store):
            if j.claim.task_id in completed:
                verdicts[n] = Settled(Verdict.SAVED)
                closed += 1
            else:
                unsettled[n] = (j.claim, False)
        else:
            if j.claim.task_id in completed:  # a later item of this post was right
                verdicts[n] = (
                    Settled(Verdict.REJECTED, j.error)
                    if j.refused
                    else Settled(Verdict.DUPLICATE, "a later item of this request was saved")
                )
                continue
            error = f"the result from {worker} was refused: {j.error}" if j.refused else j.error
            retry = job.params.retry
            new_status = repos.processing.tasks.fail(
                j.claim, error, retry, now=now, retry=not j.refused
            )
            if new_status is None and j.refused:
                verdicts[n] = Settled(Verdict.REJECTED, j.error)
                continue
            if new_status is None:
                unsettled[n] = (j.claim, True)
                continue
            retried = new_status is TaskStatus.QUEUED
            if j.refused:
                verdicts[n] = Settled(Verdict.REJECTED, j.error)
                refused.append(j.error)
            else:
                why = "will be retried" if retried else "out of tries"
                verdicts[n] = Settled(Verdict.FAILED, why)
            requeued = requeued or retried
            closed += new_status is TaskStatus.FAILED
    if refused:
        repos.processing.jobs.add_event(
            job.id,
            None,
            f"{len(refused)} result{'s' if len(refused) > 1 else ''} from {worker} refused, "
            f"{'their tasks' if len(refused) > 1 else 'its task'} failed: {refused[0][:500]}",
        )
    # Why a task could not be settled is read now, inside the writing transaction.
    current = repos.processing.tasks.infos(claim.task_id for claim, _ in unsettled.values())
    for n, (claim, was_error) in unsettled.items():
        info = current.get(claim.task_id)
        if info is None:  # deleted with its job or image since it was read
            verdicts[n] = Settled(Verdict.REJECTED, _GONE)
        else:
            verdicts[n] = _why_not_open(info.status, was_error)
    finished = finish_if_done(repos, job.id, settled=closed) if closed else None
    return [verdicts[n] for n in range(len(judged))], finished is not None, requeued


def _why_not_open(status: TaskStatus, stale_lease: bool) -> Settled:
    if status is TaskStatus.SUCCEEDED:
        return Settled(Verdict.DUPLICATE, "this task already has a stored result")
    if status is TaskStatus.CANCELED:
        return Settled(Verdict.REJECTED, "the job was canceled; this task's result is not wanted")
    if status is TaskStatus.FAILED:
        return Settled(Verdict.REJECTED, "this task already failed for good")
    if stale_lease:
        why = "this lease has expired and the task went back to the queue"
        return Settled(Verdict.REJECTED, why)
    return Settled(Verdict.REJECTED, f"the task is {status.value}")
