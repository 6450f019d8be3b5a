"""trapline's JetStream objects next to another application's on one NATS server: Antenna keeps
per-job work streams and a stream capturing every advisory (``$JS.EVENT.ADVISORY.>``), made
before trapline starts; both go on dispatching, and trapline still learns of messages at
their most deliveries."""

from __future__ import annotations

import asyncio
import json
import time

import nats
import nats.js.errors
from nats.js import api

from tests.support.nats import NatsServer
from tests.support.queue_bench import (
    Factory,
    channel,
    claim_until,
    complete,
    pull_and_die,
    wait_stuck,
)

ADVISORIES = "ADVISORIES"
FOREIGN_JOB = "job_42"
#: Seconds the neighbour works through its messages at most.
WAIT = 30.0


async def neighbour_moves_in(url: str, tasks: int) -> None:
    """What the other application sets up first: its advisory stream and a work stream."""
    client = await nats.connect(url)
    try:
        js = client.jetstream()
        await js.add_stream(name=ADVISORIES, subjects=["$JS.EVENT.ADVISORY.>"])
        await js.add_stream(name=FOREIGN_JOB, subjects=["job.42.tasks"], max_age=86400)
        await js.add_consumer(
            FOREIGN_JOB,
            api.ConsumerConfig(
                durable_name="job-42-consumer",
                ack_policy=api.AckPolicy.EXPLICIT,
                ack_wait=30,
                max_deliver=5,
                filter_subject="job.42.tasks",
            ),
        )
        for n in range(tasks):
            await js.publish("job.42.tasks", json.dumps({"id": str(n)}).encode())
    finally:
        await client.close()


async def neighbour_works(url: str, tasks: int) -> tuple[int, int]:
    """The other application works through its ``tasks`` messages (for at most ``WAIT``
    seconds); (messages done, advisories it kept)."""
    client = await nats.connect(url)
    try:
        js = client.jetstream()
        subscription = await js.pull_subscribe_bind("job-42-consumer", stream=FOREIGN_JOB)
        done = 0
        give_up = time.monotonic() + WAIT
        while done < tasks and time.monotonic() < give_up:
            try:
                messages = await subscription.fetch(tasks - done, timeout=1)
            except TimeoutError:  # none within the second (nats-py raises its own or asyncio's)
                continue
            for message in messages:
                await message.ack()
                done += 1
        kept = (await js.stream_info(ADVISORIES)).state.messages
        return done, kept
    finally:
        await client.close()


def test_trapline_and_a_neighbour_with_an_advisory_stream_both_dispatch(
    server: NatsServer, nats_bench: Factory
) -> None:
    asyncio.run(neighbour_moves_in(server.url, tasks=5))
    bench = nats_bench(server.url)
    job = bench.job(5)
    handed: list[int] = []
    while len(handed) < 5:
        leases = claim_until(bench, {job.id: 60}, 5)
        complete(bench, leases)
        handed += [lease.task_id for lease in leases]
    assert sorted(handed) == sorted(bench.tasks(job))
    done, kept = asyncio.run(neighbour_works(server.url, tasks=5))
    assert done == 5
    assert kept > 0  # its stream still captures advisories, trapline's among them


def test_with_the_neighbour_there_a_dead_claims_message_is_still_offered_again(
    server: NatsServer, nats_bench: Factory
) -> None:
    asyncio.run(neighbour_moves_in(server.url, tasks=0))
    bench = nats_bench(server.url, max_deliver=1, ack_wait=0.5)
    job = bench.job(1)
    assert bench.held(job) == bench.queued(job)
    assert asyncio.run(pull_and_die(server.url, channel(bench), job.id)) == 1
    assert wait_stuck(bench).stuck == 1
    (lease,) = claim_until(bench, {job.id: 60}, 1)
    assert lease.task_id in bench.tasks(job)


async def stream_names(url: str) -> set[str]:
    client = await nats.connect(url)
    try:
        return {info.config.name or "" for info in await client.jetstream().streams_info()}
    finally:
        await client.close()


async def leave_old_advisory_stream(url: str, stream: str) -> None:
    client = await nats.connect(url)
    try:
        await client.jetstream().add_stream(
            name=f"{stream}_EXHAUSTED",
            subjects=[f"$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.{stream}.*"],
        )
    finally:
        await client.close()


def test_the_advisory_stream_of_earlier_versions_is_removed(
    server: NatsServer, nats_bench: Factory
) -> None:
    bench = nats_bench(server.url)
    stream = channel(bench).stream.stream
    asyncio.run(leave_old_advisory_stream(server.url, stream))
    channel(bench).stream.forget_state()  # as after a reconnect
    job = bench.job(1)
    deadline = time.monotonic() + 10
    while f"{stream}_EXHAUSTED" in asyncio.run(stream_names(server.url)):
        assert time.monotonic() < deadline, "the old advisory stream is still there"
        bench.held(job)
    assert stream in asyncio.run(stream_names(server.url))
