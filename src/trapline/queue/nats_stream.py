"""The JetStream side of dispatch: one message per queued task, one pull consumer per job.

Layout (prefix ``trapline``):

- stream ``TRAPLINE_TASKS``, file storage, work-queue retention, subjects
  ``trapline.tasks.<job id>.<task id>`` holding at most one message each, so a task is offered
  at most once however often it is published;
- a durable pull consumer ``job-<id>`` per job filtering ``trapline.tasks.<id>.*``, which serves
  claims of one job and, visited job by job, claims across jobs.

No other stream: trapline shares a NATS server with other applications (Antenna keeps a stream
on ``$JS.EVENT.ADVISORY.>``, and JetStream refuses streams whose subjects overlap), so it learns
of messages at their most deliveries without capturing advisories in a stream of its own. A
message pulled for the last time that must come back is published afresh instead of handed
back (``settle``: its delivery count says so); one whose last pull was never settled (the claim
died) is announced by JetStream's max-deliveries advisory, which a plain subscription of each
process notes for the reconciler (``exhausted``, read by ``nats_repair.py``).

Every coroutine here runs on the NatsLink's loop; errors are translated by the link.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext, api

#: Header JetStream deduplicates publishes by.
MSG_ID = "Nats-Msg-Id"
#: Seconds JetStream remembers a message id. Republishing within it is free; after it, the
#: one-message-per-subject limit still keeps a task from being offered twice.
DUPLICATE_WINDOW = 30.0
#: Publishes awaited at once.
PUBLISH_WINDOW = 256
#: Seconds a single JetStream API request may take.
API_TIMEOUT = 5.0
#: Plain publishes sent before waiting for the server to take them in (``offer_new``).
OFFER_CHUNK = 4000
#: A task message's body, as ``read_offer`` reads it.
_OFFER = b'{"job": %d, "task": %d, "attempt": %d}'
#: Seconds a claim's pull waits for the server's answer: less than a claim's whole budget, so
#: messages already delivered are returned rather than abandoned with a canceled claim.
FETCH_WAIT = 0.75
#: JetStream API error codes: a stream that does not exist; a stream name already in use with
#: another configuration.
STREAM_NOT_FOUND = 10059
STREAM_NAME_IN_USE = 10058
#: Stream sequences of max-deliveries advisories kept for the reconciler, at most.
EXHAUSTED_KEPT = 10_000


@dataclass(frozen=True)
class Offer:
    """A delivered message: which try of which task it offers."""

    job_id: int
    task_id: int
    attempt: int


class ConsumerMissing(Exception):
    """A job's consumer that was known to exist is gone."""


def stream_missing(error: Exception) -> bool:
    """Whether a failure means the task stream is not there (deleted, or a wiped store)."""
    if isinstance(error, nats.js.errors.NotFoundError):
        return error.err_code == STREAM_NOT_FOUND
    return isinstance(error, nats.errors.NoRespondersError)


def read_offer(data: bytes) -> Offer | None:
    """The offer in a message body, or None for a body trapline did not write."""
    try:
        body = json.loads(data)
        offer = Offer(int(body["job"]), int(body["task"]), int(body["attempt"]))
    except (ValueError, KeyError, TypeError):
        return None
    return offer


class TaskStream:
    """Streams and consumers of one trapline installation, and what is done with them."""

    def __init__(self, prefix: str, *, replicas: int, max_deliver: int, ack_wait: float) -> None:
        self.prefix = prefix
        self.stream = f"{prefix.upper()}_TASKS"
        #: Where JetStream announces a message of the stream it will not deliver again.
        self.advisories = f"$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.{self.stream}.*"
        #: Stream sequences of such messages, noted from the advisories, for the reconciler.
        self.exhausted: deque[int] = deque(maxlen=EXHAUSTED_KEPT)
        self._watching: Client | None = None
        self.replicas = replicas
        self.max_deliver = max_deliver
        self.ack_wait = ack_wait
        self._ready = False
        #: Jobs whose consumer is known to exist.
        self._consumers: set[int] = set()

    def subject(self, job_id: int, task: int | str) -> str:
        """Subject of a task's message (``task="*"``: of all the job's tasks)."""
        return f"{self.prefix}.tasks.{job_id}.{task}"

    def forget_state(self) -> None:
        """Assume nothing exists on the server (after a reconnect: the store may be new)."""
        self._ready = False
        self._consumers.clear()

    # -- set-up --

    async def ensure(self, client: Client) -> None:
        """Create or update both streams and the reconciler's consumer."""
        if self._ready:
            return
        js = client.jetstream(timeout=API_TIMEOUT)
        await _put_stream(
            js,
            api.StreamConfig(
                name=self.stream,
                description="trapline: one message per queued task; the database decides",
                subjects=[f"{self.prefix}.tasks.>"],
                retention=api.RetentionPolicy.WORK_QUEUE,
                storage=api.StorageType.FILE,
                max_msgs_per_subject=1,
                duplicate_window=DUPLICATE_WINDOW,
                num_replicas=self.replicas,
            ),
        )
        # Earlier versions kept max-deliveries advisories in a stream of their own, which
        # overlaps any other application's advisory stream: it goes.
        with contextlib.suppress(nats.js.errors.NotFoundError):
            await js.delete_stream(f"{self.stream}_EXHAUSTED")
        await self._watch(client)
        self._ready = True

    async def _watch(self, client: Client) -> None:
        """Note max-deliveries advisories of the stream (once per connection; the client
        subscribes again by itself after a reconnect)."""
        if self._watching is client:
            return

        async def note(message: Msg) -> None:
            # (a body not of the form JetStream sends is ignored)
            with contextlib.suppress(ValueError, KeyError, TypeError):
                self.exhausted.append(int(json.loads(message.data)["stream_seq"]))

        await client.subscribe(self.advisories, cb=note)
        self._watching = client

    async def ensure_consumer(self, client: Client, job_id: int) -> None:
        """Create (or update) the job's consumer."""
        if job_id in self._consumers:
            return
        await self.ensure(client)
        await client.jetstream(timeout=API_TIMEOUT).add_consumer(
            self.stream,
            api.ConsumerConfig(
                durable_name=f"job-{job_id}",
                filter_subject=self.subject(job_id, "*"),
                deliver_policy=api.DeliverPolicy.ALL,
                ack_policy=api.AckPolicy.EXPLICIT,
                ack_wait=self.ack_wait,
                max_deliver=self.max_deliver,
                # Messages waiting out a retry's backoff count as pending: no cap.
                max_ack_pending=-1,
            ),
        )
        self._consumers.add(job_id)

    # -- dispatch --

    async def publish(
        self,
        client: Client,
        job_id: int,
        tasks: Sequence[tuple[int, int]],
        *,
        replacing: bool = False,
    ) -> int:
        """Offer each (task id, attempt); returns how many messages were stored anew.

        ``replacing``: these tries' messages were deleted or consumed, so their ids are known
        to be spent within the duplicate window; a message still held is replaced.
        """
        await self.ensure(client)
        js = client.jetstream(timeout=API_TIMEOUT)
        stored = 0
        for start in range(0, len(tasks), PUBLISH_WINDOW):
            chunk = tasks[start : start + PUBLISH_WINDOW]
            done = await asyncio.gather(
                *(self._publish(js, job_id, t, a, replacing) for t, a in chunk)
            )
            stored += sum(done)
        return stored

    async def offer_new(
        self, client: Client, job_id: int, tasks: Sequence[tuple[int, int]]
    ) -> None:
        """Offer first tries of new tasks quickly: plain publishes and one flush, no ack each.

        JetStream still stores them (and drops repeats by message id); whoever calls this
        checks the count afterwards (``held_count``) and goes through ``publish`` for a
        shortfall.
        """
        await self.ensure(client)
        js = client.jetstream(timeout=API_TIMEOUT)
        for start in range(0, len(tasks), OFFER_CHUNK):
            *plain, (last_task, last_attempt) = tasks[start : start + OFFER_CHUNK]
            for task_id, attempt in plain:
                await client.publish(
                    self.subject(job_id, task_id),
                    _OFFER % (job_id, task_id, attempt),
                    headers={MSG_ID: f"task-{task_id}-{attempt}"},
                )
            # The chunk's last message is acknowledged, and the stream takes in a connection's
            # messages in order: waiting for it keeps JetStream's ingest queue (which drops
            # plain publishes it has no room for) from overflowing.
            await js.publish(
                self.subject(job_id, last_task),
                _OFFER % (job_id, last_task, last_attempt),
                stream=self.stream,
                headers={MSG_ID: f"task-{last_task}-{last_attempt}"},
            )

    async def _publish(
        self, js: JetStreamContext, job_id: int, task_id: int, attempt: int, replacing: bool
    ) -> bool:
        subject = self.subject(job_id, task_id)
        body = json.dumps({"job": job_id, "task": task_id, "attempt": attempt}).encode()
        msg_id = f"task-{task_id}-{attempt}"
        if not replacing:
            ack = await js.publish(subject, body, stream=self.stream, headers={MSG_ID: msg_id})
            # A duplicate is normally this very try published a moment ago. Only attempt 0
            # can come round again (a retry of failed tasks restarts at 0) after its message
            # was consumed within the window; then this try must still be offered. (Right
            # after the retry, the consumed message may not be removed yet: the requeue hook
            # publishes those tries as ``replacing``.)
            if not ack.duplicate:
                return True
            if attempt > 0 or await self._holds(js, subject):
                return False
        again = f"{msg_id}-{time.time_ns()}"
        await js.publish(subject, body, stream=self.stream, headers={MSG_ID: again})
        return True

    async def _holds(self, js: JetStreamContext, subject: str) -> bool:
        try:
            await js.get_last_msg(self.stream, subject)
        except nats.js.errors.NotFoundError:
            return False
        return True

    def knows(self, job_id: int) -> bool:
        """Whether the job's consumer is known to exist."""
        return job_id in self._consumers

    async def fetch(self, client: Client, job_id: int, batch: int) -> list[Msg]:
        """Up to ``batch`` messages of the job available now (no waiting for more).

        Makes the job's consumer when it is not known to exist; raises ConsumerMissing when
        a known one has gone (another replica ended the job, or the server lost its store):
        whether to make it again is the database's to say.
        """
        await self.ensure_consumer(client, job_id)
        consumer = f"job-{job_id}"
        messages, missing = await pull_available(client, self.stream, consumer, batch, FETCH_WAIT)
        if missing:
            self.forget_state()
            raise ConsumerMissing(job_id)
        return messages

    async def settle(
        self, client: Client, ack: list[Msg], term: list[Msg], later: list[tuple[Msg, float]]
    ) -> None:
        """Acknowledge, terminate, or hand back for redelivery after a delay (seconds).

        A message handed back at its last delivery would never come again: its try is
        published afresh instead (the fresh message replaces it, one per subject).
        """
        for message in ack:
            await message.ack()
        for message in term:
            await message.term()
        js = client.jetstream(timeout=API_TIMEOUT)
        for message, delay in later:
            offer = read_offer(message.data or b"")
            if offer is None or message.metadata.num_delivered < self.max_deliver:
                await message.nak(delay=delay if delay > 0 else None)
                continue
            await message.term()
            await self._publish(js, offer.job_id, offer.task_id, offer.attempt, True)
        await client.flush(timeout=int(API_TIMEOUT))

    async def held_count(self, client: Client, job_id: int) -> int:
        """Messages of the job waiting or in flight, as the job's consumer counts them."""
        await self.ensure_consumer(client, job_id)
        info = await client.jetstream(timeout=API_TIMEOUT).consumer_info(
            self.stream, f"job-{job_id}"
        )
        return (info.num_pending or 0) + (info.num_ack_pending or 0)

    async def forget(self, client: Client, job_id: int) -> None:
        """Delete the job's consumer and every message of the job."""
        self._consumers.discard(job_id)
        js = client.jetstream(timeout=API_TIMEOUT)
        with contextlib.suppress(nats.js.errors.NotFoundError):
            await js.delete_consumer(self.stream, f"job-{job_id}")
        with contextlib.suppress(nats.js.errors.NotFoundError):
            await js.purge_stream(self.stream, subject=self.subject(job_id, "*"))


async def pull_available(
    client: Client, stream: str, consumer: str, batch: int, wait: float
) -> tuple[list[Msg], bool]:
    """Up to ``batch`` messages the consumer has available now, without waiting for more;
    returns (messages, whether the consumer is missing).

    One no-wait pull request (JetStream's ``CONSUMER.MSG.NEXT`` API) on a fresh inbox. nats-py's
    ``PullSubscription.fetch`` has no such mode: when nothing is available it waits its whole
    timeout for a message, so every idle claim would last that long (751 ms against 0.13 ms for
    this, decision 018), and with 64 messages available it took 1.8 ms of CPU against 0.56 ms,
    waiting per message. Here a callback gathers the answer and the pull waits for it once.
    """
    messages: list[Msg] = []
    missing = False
    answered = asyncio.Event()

    async def take(message: Msg) -> None:
        nonlocal missing
        status = message.headers.get("Status") if message.headers else None
        if status is None:
            messages.append(message)
            if len(messages) >= batch:
                answered.set()
            return
        # 503 no responders: the consumer does not exist; 404 no messages, 408 request
        # expired, 409 consumer changing: the answer is complete.
        missing = missing or status == "503"
        answered.set()

    subscription = await client.subscribe(client.new_inbox(), cb=take)
    try:
        await client.publish(
            f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{consumer}",
            json.dumps({"batch": batch, "no_wait": True}).encode(),
            reply=subscription.subject,
        )
        try:
            await asyncio.wait_for(answered.wait(), wait)
        except TimeoutError:
            if not messages:  # what was delivered to us is returned, never dropped
                raise nats.errors.TimeoutError from None
    finally:
        await subscription.unsubscribe()
    # Read after unsubscribing: a message taken while it was under way is included.
    return messages, missing


async def _put_stream(js: JetStreamContext, config: api.StreamConfig) -> None:
    """Create the stream, or bring an existing one to this configuration."""
    try:
        await js.add_stream(config)
    except nats.js.errors.BadRequestError as exc:
        if exc.err_code != STREAM_NAME_IN_USE:
            raise
        await js.update_stream(config)
