"""JetStreamTaskQueue: NATS JetStream carries dispatch, the database stays the record of truth.

A queued task has one message in the stream (``trapline.tasks.<job>.<task>``) carrying its
task id and attempt; ``Nats-Msg-Id`` is ``task-<id>-<attempt>``. A claim pulls messages from
the job's consumer and offers them to the database, which leases those still queued at that
attempt; only after that commit are the messages acknowledged (leased), handed back with a
delay (a retry still in its backoff) or terminated (stale). A lease then lives in the database
alone: extension, results, expiry and dead-lettering need no message, so any replica settles
any task. When a task goes back to the queue it gets a new message for its new attempt. The dispatch
reconciler (``queue/reconciler.py``), one of the queue's ``background_duties``, repairs what
JetStream loses. An idle claim (nothing queued) is answered from JetStream alone.
See docs/decisions/006-jetstream-dispatch.md and 018-when-jetstream.md; the message life
cycle is drawn in docs/jobs.md.
"""

from __future__ import annotations

import logging
import os
import re
import socket
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from typing import Any, Concatenate, ParamSpec, TypeVar
from urllib.parse import parse_qs, urlsplit

from nats.aio.client import Client
from nats.aio.msg import Msg

from trapline.clock import Clock
from trapline.db.engine import Database
from trapline.db.repositories.processing.dispatch import TaskState
from trapline.domain.core.duties import Duty, Stop
from trapline.domain.processing.jobs import JobStatus, Lease
from trapline.errors import InvalidInput, TraplineError, Unavailable
from trapline.queue.base import NewTasks, TaskQueue, lease_expiry
from trapline.queue.channel import StuckMessage
from trapline.queue.nats_link import NatsLink
from trapline.queue.nats_repair import StreamRepair
from trapline.queue.nats_stream import ConsumerMissing, TaskStream, read_offer, stream_missing
from trapline.queue.reconciler import reconcile_dispatch
from trapline.settings import QueueSettings

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")

#: Names of the streams and subjects unless the URL says ``?prefix=…``.
DEFAULT_PREFIX = "trapline"
#: Deliveries of one message before JetStream gives up on it (the reconciler then asks the
#: database). Tries of a task are counted by the database, each try being its own message.
MAX_DELIVER = 20
#: Seconds a pulled message stays invisible before JetStream offers it again (the consumers'
#: ack wait). A claim holds its messages only until its database commit, so this bounds the
#: delay of tasks whose claim died or whose pull was lost with a dropped connection. It is
#: not the lease: leases live in the database.
ACK_WAIT = 30.0
#: Seconds a claim may wait for NATS, so that an unreachable NATS answers 503 within 2 s.
CLAIM_TIMEOUT = 1.0
#: Pulls per job and claim: stale messages are dropped and the batch filled up again.
CLAIM_ROUNDS = 3
#: Seconds before messages pulled by a claim whose database write failed come back.
RETRY_DELAY = 1.0
#: Seconds publishing one page of tasks may take, and tasks per page.
PUBLISH_TIMEOUT = 10.0
PUBLISH_PAGE = 10_000
#: Chunks of new tasks being published while the next is inserted, at most.
OFFERS_IN_FLIGHT = 2
#: Seconds hooks called after a database commit may spend on NATS; past it the reconciler
#: repairs what they could not do.
HOOK_TIMEOUT = 2.0
#: Tasks put back in the queue this recently are published by ``notify_queued``/``reap`` (the
#: hooks run right after the commit that requeued them).
REQUEUE_WINDOW = timedelta(seconds=5)
#: Most tasks one such call publishes; the reconciler catches up on the rest.
REQUEUE_LIMIT = 5000
#: Seconds a reconciler call may take.
REPAIR_TIMEOUT = 30.0

_PREFIX = re.compile(r"[a-z][a-z0-9_-]{0,31}")


class JetStreamTaskQueue(TaskQueue):
    """Dispatch through JetStream pull consumers, one per job; leases in the database."""

    def __init__(
        self,
        db: Database,
        servers: list[str],
        *,
        prefix: str = DEFAULT_PREFIX,
        replicas: int = 1,
        max_deliver: int = MAX_DELIVER,
        ack_wait: float = ACK_WAIT,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(db, clock)
        self.stream = TaskStream(
            prefix, replicas=replicas, max_deliver=max_deliver, ack_wait=ack_wait
        )
        self.repair = StreamRepair(self.stream)
        self.link = NatsLink(
            servers,
            name=f"trapline {socket.gethostname()}:{os.getpid()}",
            on_connect=self.stream.forget_state,
        )

    @classmethod
    def from_url(cls, url: str, db: Database, clock: Clock | None = None) -> JetStreamTaskQueue:
        """The queue ``nats://host:4222[,host2:4222][?prefix=trapline&replicas=3]`` names."""
        parts = urlsplit(url)
        hosts = [h for h in parts.netloc.split(",") if h]
        if parts.scheme != "nats" or not hosts or parts.path not in ("", "/"):
            raise InvalidInput(f"not a NATS URL: {url!r}; use nats://host:4222")
        options = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        unknown = sorted(set(options) - {"prefix", "replicas"})
        if unknown:
            raise InvalidInput(f"unknown NATS URL option {unknown[0]!r}; known: prefix, replicas")
        prefix = options.get("prefix", DEFAULT_PREFIX)
        if not _PREFIX.fullmatch(prefix):
            raise InvalidInput(
                f"prefix must be 1-32 lowercase letters, digits, '_' or '-' (got {prefix!r})"
            )
        replicas = options.get("replicas", "1")
        if not replicas.isdigit() or not 1 <= int(replicas) <= 5:
            raise InvalidInput(f"replicas must be an integer from 1 to 5 (got {replicas!r})")
        servers = [f"nats://{host}" for host in hosts]
        return cls(db, servers, prefix=prefix, replicas=int(replicas), clock=clock)

    def background_duties(self, settings: QueueSettings) -> list[Duty]:
        """The dispatch reconciler, every ``TRAPLINE_NATS_RECONCILE_INTERVAL`` seconds."""
        return [Duty("dispatch-reconciler", settings.nats_reconcile_interval, self._reconcile)]

    def close(self) -> None:
        """Close the NATS connection."""
        self.link.close()

    def _reconcile(self, stop: Stop) -> None:
        done = reconcile_dispatch(self.db, self, now=self.clock.now(), stop=stop)
        if done.stuck or done.republished:
            log.info(
                "dispatch reconciler: %d stuck messages resolved, %d tasks republished",
                done.stuck,
                done.republished,
            )

    # -- hooks --

    def _claim(
        self, job_id: int, limit: int, holder: str, lease_seconds: int, lease_id: str
    ) -> list[Lease]:
        # A consumer is made only for a job the database says is dispatching: a claim that
        # races the job's end (on this replica or another) must not bring it back.
        if not self.stream.knows(job_id) and not self._dispatching(job_id):
            return []
        leases: list[Lease] = []
        for _ in range(CLAIM_ROUNDS):
            wanted = limit - len(leases)
            messages = self._fetch(job_id, wanted)
            if messages is None:
                break
            leases += self._lease(job_id, messages, holder, lease_seconds, lease_id)
            if len(messages) < wanted or len(leases) >= limit:
                break
        return sorted(leases, key=lambda lease: lease.task_id)

    @contextmanager
    def _delivering(self, job_id: int) -> Iterator[NewTasks]:
        # Each chunk of new tasks is published while the next is inserted, before the commit:
        # should the transaction fail, the messages offer tasks that do not exist and are
        # terminated as stale when pulled. They are plain publishes (acknowledging each would
        # take ~10 s per 100,000); ``_enqueued`` checks the stream took them all. Raises when
        # NATS is away: the job is not opened, and job recovery starts it again.
        sending: list[Callable[[], object]] = []

        def offer(task_ids: list[int]) -> None:
            while len(sending) >= OFFERS_IN_FLIGHT:
                sending.pop(0)()
            if task_ids:
                tries = [(task_id, 0) for task_id in task_ids]
                sending.append(self._start(PUBLISH_TIMEOUT, self.stream.offer_new, job_id, tries))

        yield offer
        for sent in sending:
            sent()

    def _enqueued(self, job_id: int, queued: int) -> None:
        # If the stream holds fewer than the database has queued (a repeated enqueue found its
        # tasks made already; a plain publish was dropped), every queued try goes again
        # through the acknowledged path, which skips those it holds.
        if queued and self._call(PUBLISH_TIMEOUT, self.stream.held_count, job_id) < queued:
            log.warning("job %s: the stream misses some queued tasks; publishing again", job_id)
            self._each_queued_page(job_id, self.stream.publish)

    def _each_queued_page(self, job_id: int, publish: Any) -> int:
        after = done = 0
        sending: Callable[[], object] | None = None
        while True:
            with self.db.read() as repos:
                page = repos.processing.dispatch.queued(job_id, after=after, limit=PUBLISH_PAGE)
            if sending is not None:
                sending()  # the page before, published on the NATS thread while this was read
            if not page:
                return done
            sending = self._start(PUBLISH_TIMEOUT, publish, job_id, page)
            after, done = page[-1][0], done + len(page)

    def _published(self, job_id: int) -> None:
        try:
            with self.db.read() as repos:
                tasks = repos.processing.dispatch.requeued_since(
                    job_id, self.clock.now() - REQUEUE_WINDOW, limit=REQUEUE_LIMIT
                )
            # A retry of failed tasks starts them again at attempt 0, a try whose message was
            # consumed: maybe so lately that its id still counts as a duplicate and JetStream
            # has yet to remove it on the acknowledgement. Those go out afresh.
            retried = [t for t in tasks if t[1] == 0]
            again = [t for t in tasks if t[1] > 0]
            sending = [
                self._start(HOOK_TIMEOUT, self.stream.publish, job_id, batch, replacing=spent)
                for batch, spent in ((retried, True), (again, False))
                if batch
            ]
            for sent in sending:
                sent()
        except TraplineError as exc:  # the database change stands; the reconciler republishes
            log.warning("requeued tasks of job %s not published yet: %s", job_id, exc.detail)

    def _forget_job(self, job_id: int) -> None:
        try:
            self._call(HOOK_TIMEOUT, self.stream.forget, job_id)
        except TraplineError as exc:  # the reconciler removes it later
            log.warning("could not clean up NATS for job %s: %s", job_id, exc.detail)

    # -- the dispatch channel, for the reconciler --

    def held_count(self, job_id: int) -> int:
        """How many task messages of the job the job's consumer counts."""
        return self._call(REPAIR_TIMEOUT, self.stream.held_count, job_id)

    def held_tasks(self, job_id: int) -> set[int]:
        """Ids of the job's tasks that have a message in the stream."""
        return self._call(REPAIR_TIMEOUT, self.repair.held_tasks, job_id)

    def publish(self, job_id: int, tasks: Sequence[tuple[int, int]]) -> int:
        """Offer these (task id, attempt) of the job; returns how many messages are new."""
        return self._call(REPAIR_TIMEOUT, self.stream.publish, job_id, list(tasks))

    def stuck(self, limit: int) -> list[StuckMessage]:
        """Messages JetStream stopped delivering, waiting for ``resolve``."""
        return self._call(REPAIR_TIMEOUT, self.repair.stuck, limit)

    def resolve(self, stuck: Sequence[StuckMessage], republish: Sequence[StuckMessage]) -> None:
        """Delete the stuck messages; offer the tries in ``republish`` afresh."""
        self._call(REPAIR_TIMEOUT, self.repair.resolve, stuck, republish)

    def channel_jobs(self) -> set[int]:
        """Jobs with a consumer on the task stream."""
        return self._call(REPAIR_TIMEOUT, self.repair.consumer_jobs)

    # -- internals --

    def _lease(
        self, job_id: int, messages: list[Msg], holder: str, lease_seconds: int, lease_id: str
    ) -> list[Lease]:
        """Offer pulled messages to the database; settle each message after its commit."""
        if not messages:
            return []
        offers: dict[int, int] = {}
        pulled: dict[int, Msg] = {}
        junk: list[Msg] = []
        for message in messages:
            offer = read_offer(message.data)
            if offer is None or offer.job_id != job_id or offer.task_id in offers:
                junk.append(message)
                continue
            offers[offer.task_id] = offer.attempt
            pulled[offer.task_id] = message
        now = self.clock.now()
        expires = lease_expiry(now, lease_seconds)
        try:
            with self.db.statement() as repos:
                leased = repos.processing.dispatch.lease(
                    job_id, offers=offers, holder=holder, lease_id=lease_id, expires=expires,
                    now=now,
                )  # fmt: skip
        except BaseException:
            self._settle(later=[(m, RETRY_DELAY) for m in messages])
            raise
        ack = [pulled.pop(lease.task_id) for lease in leased]
        # The leases are committed (the lease is a statement of its own): from here on they
        # are handed out whatever happens, or they would sit with nobody until they expire.
        later: list[tuple[Msg, float]] = []
        states: dict[int, TaskState] = {}
        if pulled:
            try:
                with self.db.read() as repos:
                    states = repos.processing.dispatch.states(pulled)
            except Exception as exc:
                log.warning("messages of job %s not judged, back in a moment: %s", job_id, exc)
                later, pulled = [(m, RETRY_DELAY) for m in pulled.values()], {}
        for task_id, state in states.items():
            if state.wants(job_id, offers[task_id]):
                # Still this try, waiting out a retry's backoff: come back when it is over.
                later.append((pulled.pop(task_id), (state.available_at - now).total_seconds()))
        self._settle(ack=ack, term=junk + list(pulled.values()), later=later)
        return leased

    def _fetch(self, job_id: int, wanted: int) -> list[Msg] | None:
        """Messages pulled for a claim; None when the job's consumer is gone with the job."""
        for _ in range(2):
            try:
                return self._call(CLAIM_TIMEOUT, self.stream.fetch, job_id, wanted)
            except ConsumerMissing:
                # Another replica ended the job, or NATS lost its store: then the next pull
                # makes the consumer again, and the reconciler publishes the tasks again.
                if not self._dispatching(job_id):
                    return None
        raise Unavailable("the job's NATS consumer vanished twice in a row; retry in a moment")

    def _dispatching(self, job_id: int) -> bool:
        with self.db.read() as repos:
            job = repos.processing.jobs.get(job_id)
        return job is not None and job.status in (JobStatus.QUEUED, JobStatus.RUNNING)

    def _settle(
        self,
        *,
        ack: list[Msg] | None = None,
        term: list[Msg] | None = None,
        later: list[tuple[Msg, float]] | None = None,
    ) -> None:
        # The claim does not wait for NATS to take these in: the leases are committed, and a
        # message left unsettled (NATS away, the process gone) comes back after the ack wait
        # to be found stale, or still queued, by whoever pulls it.
        count = len(ack or []) + len(term or []) + len(later or [])
        self.link.send(
            lambda client: self.stream.settle(client, ack or [], term or [], later or []),
            timeout=CLAIM_TIMEOUT,
            what=f"settling {count} NATS messages",
        )

    def _call(
        self,
        timeout: float,
        operation: Callable[Concatenate[Client, P], Awaitable[T]],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """Run a TaskStream operation on the link; once more if the stream has vanished."""
        return self._start(timeout, operation, *args, **kwargs)()

    def _start(
        self,
        timeout: float,
        operation: Callable[Concatenate[Client, P], Awaitable[T]],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> Callable[[], T]:
        """Start what ``_call`` does; returns the call that waits for its answer."""

        async def work(client: Client) -> T:
            try:
                return await operation(client, *args, **kwargs)
            except Exception as exc:
                if not stream_missing(exc):
                    raise
                log.warning("the NATS task stream is missing; creating it again")
                self.stream.forget_state()
                return await operation(client, *args, **kwargs)

        return self.link.start(work, timeout=timeout)
