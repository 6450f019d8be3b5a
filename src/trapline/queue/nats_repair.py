"""What the dispatch reconciler does on JetStream: list what the stream holds, read what it gave
up delivering, and list the jobs it keeps a consumer for.

Every coroutine here runs on the NatsLink's loop; errors are translated by the link.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Sequence

import nats.js.errors
from nats.aio.client import Client

from trapline.queue.channel import StuckMessage
from trapline.queue.nats_stream import API_TIMEOUT, TaskStream, read_offer


class StreamRepair:
    """Inspection and repair of a TaskStream, for the reconciler."""

    def __init__(self, tasks: TaskStream) -> None:
        self.tasks = tasks

    async def held_tasks(self, client: Client, job_id: int) -> set[int]:
        """Ids of the job's tasks that have a message in the stream."""
        await self.tasks.ensure(client)
        held: set[int] = set()
        offset = 0
        while True:
            request = {"subjects_filter": self.tasks.subject(job_id, "*"), "offset": offset}
            reply = await client.request(
                # nats-py's stream_info takes no offset: past 100,000 subjects (a job of
                # more tasks) the server answers in pages.
                f"$JS.API.STREAM.INFO.{self.tasks.stream}",
                json.dumps(request).encode(),
                timeout=API_TIMEOUT,
            )
            body = json.loads(reply.data)
            if "error" in body:
                nats.js.errors.APIError.from_error(body["error"])  # raises
            subjects = body.get("state", {}).get("subjects") or {}
            held.update(int(subject.rsplit(".", 1)[1]) for subject in subjects)
            offset += len(subjects)
            if not subjects or offset >= int(body.get("total", 0)):
                return held

    async def stuck(self, client: Client, limit: int) -> list[StuckMessage]:
        """Task messages JetStream gave up on, from the advisories noted since the last call
        (the stream's ``exhausted``); those of messages gone already are dropped."""
        await self.tasks.ensure(client)
        js = client.jetstream(timeout=API_TIMEOUT)
        found: list[StuckMessage] = []
        noted = self.tasks.exhausted
        while noted and len(found) < limit:
            sequence = noted.popleft()
            try:
                message = await js.get_msg(self.tasks.stream, seq=sequence)
            except nats.js.errors.NotFoundError:
                continue  # settled since, or replaced by a fresh message
            offer = read_offer(message.data or b"")
            if offer is not None:
                found.append(StuckMessage(sequence, offer.job_id, offer.task_id, offer.attempt))
        return found

    async def resolve(
        self, client: Client, stuck: Sequence[StuckMessage], republish: Sequence[StuckMessage]
    ) -> None:
        """Delete the stuck messages and publish the tries still wanted."""
        js = client.jetstream(timeout=API_TIMEOUT)
        for message in stuck:
            with contextlib.suppress(nats.js.errors.NotFoundError):  # replaced or purged
                await js.delete_msg(self.tasks.stream, message.sequence)
        by_job: dict[int, list[tuple[int, int]]] = {}
        for message in republish:
            by_job.setdefault(message.job_id, []).append((message.task_id, message.attempt))
        for job_id, tasks in by_job.items():
            await self.tasks.publish(client, job_id, tasks, replacing=True)
        await client.flush(timeout=int(API_TIMEOUT))

    async def consumer_jobs(self, client: Client) -> set[int]:
        """Jobs that have a consumer on the task stream."""
        await self.tasks.ensure(client)
        js = client.jetstream(timeout=API_TIMEOUT)
        jobs: set[int] = set()
        offset = 0
        while True:
            page = await js.consumers_info(self.tasks.stream, offset=offset)
            for info in page:
                name = info.name or ""
                if name.startswith("job-") and name[4:].isdigit():
                    jobs.add(int(name[4:]))
            offset += len(page)
            if not page:
                return jobs
