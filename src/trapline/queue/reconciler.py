"""The dispatch reconciler: brings a queue's own dispatch channel (JetStream) back in line with
the database, which decides every task. The JetStream queue runs it as a background duty.

JetStream may lose messages it acknowledged (it fsyncs lazily; a store can be wiped), stops
delivering a message after its most deliveries, and keeps consumers of jobs whose clean-up
failed while it was away. Each run, bounded in work:

1. messages JetStream gave up on: the database says whether that try is still wanted (the
   task is queued at that attempt: it is offered afresh) or not (the message is dropped);
   tries and dead-lettering stay the database's, counted per lease;
2. tasks the database says are queued but the stream no longer holds are published again
   (idempotent: one message per task subject, deduplicated by ``task-<id>-<attempt>``);
3. consumers and messages of jobs that ended are removed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from trapline.db.engine import Database
from trapline.db.types import utcnow
from trapline.domain.core.duties import NEVER, Stop
from trapline.queue.channel import DispatchChannel

log = logging.getLogger(__name__)

#: Most messages one run republishes, stuck messages it resolves and jobs it cleans up.
RUN_LIMIT = 1000
#: Most jobs one run compares.
JOB_LIMIT = 10_000
#: Queued tasks read from the database at a time.
PAGE = 5000
#: Jobs that ended this recently are cleaned up again (a publish may have raced their end).
ENDED_WINDOW = timedelta(minutes=15)


@dataclass(frozen=True)
class Reconciled:
    """What one run repaired."""

    stuck: int = 0
    republished: int = 0
    cleaned: int = 0


def reconcile_dispatch(
    db: Database,
    channel: DispatchChannel,
    *,
    limit: int = RUN_LIMIT,
    now: datetime | None = None,
    stop: Stop = NEVER,
) -> Reconciled:
    """One bounded run of the three repairs (``now``: the queue's clock; the system's when
    not given), each begun only while ``stop`` is not set."""
    stuck = 0 if stop.is_set() else _resolve_stuck(db, channel, limit)
    republished = 0 if stop.is_set() else _republish_missing(db, channel, limit, stop)
    cleaned = 0 if stop.is_set() else _clean_up_ended(db, channel, limit, now or utcnow())
    return Reconciled(stuck=stuck, republished=republished, cleaned=cleaned)


def _resolve_stuck(db: Database, channel: DispatchChannel, limit: int) -> int:
    stuck = channel.stuck(limit)
    if not stuck:
        return 0
    with db.read() as repos:
        states = repos.processing.dispatch.states(message.task_id for message in stuck)
    wanted = []
    for message in stuck:
        state = states.get(message.task_id)
        if state and state.wants(message.job_id, message.attempt):
            wanted.append(message)
    channel.resolve(stuck, wanted)
    log.info(
        "reconciler: %d task messages reached their most deliveries; %d offered afresh",
        len(stuck),
        len(wanted),
    )
    return len(stuck)


def _republish_missing(db: Database, channel: DispatchChannel, limit: int, stop: Stop) -> int:
    with db.read() as repos:
        jobs = repos.processing.dispatch.dispatching_jobs(limit=JOB_LIMIT)
    budget = limit
    for job_id in jobs:
        if budget <= 0 or stop.is_set():
            break
        # The cheap counts first: only a job whose stream holds fewer messages than it has
        # queued tasks is compared task by task. The stream is counted first: a task queued
        # when the database counts was held then, while counted the other way round the
        # tasks workers claimed and finished in between would look missing, and a busy job
        # would be compared in full (tens of thousands of rows and subjects) on every run.
        in_stream = channel.held_count(job_id)
        with db.read() as repos:
            queued = repos.processing.dispatch.queued_count(job_id)
        if queued == 0 or queued <= in_stream:
            continue
        held = channel.held_tasks(job_id)
        missing: list[tuple[int, int]] = []
        after = 0
        while len(missing) < budget:
            with db.read() as repos:
                page = repos.processing.dispatch.queued(job_id, after=after, limit=PAGE)
            if not page:
                break
            missing += [(task_id, attempt) for task_id, attempt in page if task_id not in held]
            after = page[-1][0]
        missing = missing[:budget]
        if missing:
            channel.publish(job_id, missing)
            budget -= len(missing)
            log.warning(
                "reconciler: job %s had %d queued tasks missing from the stream; republished",
                job_id,
                len(missing),
            )
    return limit - budget


def _clean_up_ended(db: Database, channel: DispatchChannel, limit: int, now: datetime) -> int:
    consumers = channel.channel_jobs()
    with db.read() as repos:
        ended = set(repos.processing.dispatch.not_dispatching(consumers))
        ended |= set(repos.processing.dispatch.ended_since(now - ENDED_WINDOW, limit=limit))
    for job_id in sorted(ended)[:limit]:
        channel.finished(job_id)
    return min(len(ended), limit)
