"""One NATS connection per server process, on an event-loop thread of its own.

trapline's services are synchronous and run on a thread pool, nats-py is asyncio. Each call is
a coroutine submitted to this thread's loop and waited for with a deadline, so a slow or
unreachable NATS costs a caller at most that deadline, never blocks the server's own event
loop, and surfaces as ``Unavailable`` (503 with Retry-After): nats-py's errors stop here.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import nats
import nats.errors
from nats.aio.client import Client

from trapline.errors import TraplineError, Unavailable

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Seconds one attempt to open a TCP connection to a NATS server may take, and seconds all
#: attempts of one connect may take (nats-py tries each server a few times).
CONNECT_TIMEOUT = 1.0
CONNECT_BUDGET = 1.5
#: Attempts nats-py makes to get a lost connection back before giving up (it is then opened
#: afresh by the next call), and the pause between them.
RECONNECT_ATTEMPTS = 60
RECONNECT_WAIT = 0.5
#: After a failed connect, calls fail at once for this long instead of trying again each.
RETRY_PAUSE = 1.0
#: Extra seconds the calling thread waits beyond a call's deadline for its answer.
GRACE = 0.25


def _new_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop's loop where it is installed (with uvicorn, on Linux and macOS): asyncio's own
    spent about a third of this thread's time in its Python scheduling and selector code."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


class NatsLink:
    """A lazily opened, self-healing NATS connection driven from synchronous code."""

    def __init__(
        self, servers: list[str], *, name: str, on_connect: Callable[[], None] | None = None
    ) -> None:
        self.servers = servers
        self.name = name
        #: Called on the loop thread after every (re)connection: the server may have lost
        #: its state (a wiped store), so what the caller knows about it is stale.
        self.on_connect = on_connect or (lambda: None)
        self._loop = _new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="nats", daemon=True)
        self._thread.start()
        self._client: Client | None = None
        self._connecting: asyncio.Task[Client] | None = None
        self._failed_at = float("-inf")
        self._closed = False

    @property
    def where(self) -> str:
        """The servers, for messages (without credentials)."""
        return ", ".join(s.rsplit("@", 1)[-1] for s in self.servers)

    def run(self, work: Callable[[Client], Awaitable[T]], *, timeout: float) -> T:
        """Run ``work`` with the connection on the loop thread; Unavailable past ``timeout``."""
        return self.start(work, timeout=timeout)()

    def start(self, work: Callable[[Client], Awaitable[T]], *, timeout: float) -> Callable[[], T]:
        """Start ``work`` on the loop thread; returns the call that waits for its answer
        (Unavailable past ``timeout`` from now), so the caller can do other work meanwhile."""
        if self._closed:
            raise Unavailable("the task queue is shut down", code="queue_unavailable")
        future = asyncio.run_coroutine_threadsafe(self._run(work, timeout), self._loop)
        deadline = time.monotonic() + timeout + GRACE

        def answer() -> T:
            try:
                return future.result(max(deadline - time.monotonic(), 0))
            except concurrent.futures.TimeoutError:
                future.cancel()
                raise self._unavailable(TimeoutError(f"no answer within {timeout:g}s")) from None

        return answer

    def send(
        self, work: Callable[[Client], Awaitable[object]], *, timeout: float, what: str
    ) -> None:
        """Start ``work`` on the loop thread without waiting for it; a failure is logged,
        naming ``what`` it was doing."""
        if self._closed:
            log.warning("not %s: the task queue is shut down", what)
            return
        future = asyncio.run_coroutine_threadsafe(self._run(work, timeout), self._loop)

        def report(done: concurrent.futures.Future[object]) -> None:
            if not done.cancelled() and done.exception() is not None:
                error = done.exception()
                detail = error.detail if isinstance(error, TraplineError) else error
                log.warning("%s failed: %s", what, detail)

        future.add_done_callback(report)

    def close(self) -> None:
        """Close the connection and stop the loop thread."""
        if self._closed:
            return
        self._closed = True
        try:
            asyncio.run_coroutine_threadsafe(self._shut(), self._loop).result(3.0)
        except Exception as exc:  # closing must not fail a shutdown
            log.warning("closing the NATS connection failed: %s", exc)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=3.0)
        if not self._thread.is_alive():
            self._loop.close()

    async def _run(self, work: Callable[[Client], Awaitable[T]], timeout: float) -> T:
        deadline = self._loop.time() + timeout
        try:
            client = await self._connected(deadline)
            return await asyncio.wait_for(work(client), max(deadline - self._loop.time(), 0.01))
        except TraplineError:
            raise
        except (nats.errors.Error, TimeoutError, OSError) as exc:
            raise self._unavailable(exc) from exc

    async def _connected(self, deadline: float) -> Client:
        client = self._client
        if client is not None and client.is_connected:
            return client
        if client is not None and not client.is_closed:
            raise self._unavailable("the connection was lost; reconnecting")
        if self._connecting is None:
            if self._loop.time() - self._failed_at < RETRY_PAUSE:
                raise self._unavailable("the last attempt to connect failed")
            self._connecting = self._loop.create_task(self._connect())
            self._connecting.add_done_callback(_observe)
        # The attempt goes on in the background when this caller's time runs out.
        task = self._connecting
        done, _ = await asyncio.wait({task}, timeout=max(deadline - self._loop.time(), 0))
        if not done:
            raise self._unavailable("connecting takes too long")
        error = task.exception()
        if error is not None:
            raise self._unavailable(error)
        return task.result()

    async def _connect(self) -> Client:
        try:
            connecting = nats.connect(
                self.servers,
                name=self.name,
                connect_timeout=CONNECT_TIMEOUT,  # seconds; nats-py takes a float
                reconnect_time_wait=RECONNECT_WAIT,
                max_reconnect_attempts=RECONNECT_ATTEMPTS,
                error_cb=self._on_error,
                disconnected_cb=self._on_disconnected,
                reconnected_cb=self._on_reconnected,
                closed_cb=self._on_closed,
            )
            client = await asyncio.wait_for(connecting, CONNECT_BUDGET)
        except BaseException:
            self._failed_at = self._loop.time()
            raise
        finally:
            self._connecting = None
        log.info("connected to NATS at %s", self.where)
        self._client = client
        self.on_connect()
        return client

    async def _shut(self) -> None:
        if self._connecting is not None:
            self._connecting.cancel()
        try:
            if self._client is not None and not self._client.is_closed:
                await asyncio.wait_for(self._client.close(), 2.0)
        finally:
            # Whatever nats-py still runs (readers, pingers, a reconnect loop) ends with the
            # loop, not later against a closed one.
            current = asyncio.current_task()
            left = [t for t in asyncio.all_tasks() if t is not current]
            for task in left:
                task.cancel()
            await asyncio.gather(*left, return_exceptions=True)

    async def _on_error(self, error: Exception) -> None:
        log.debug("NATS: %s: %s", type(error).__name__, error)

    async def _on_disconnected(self) -> None:
        if not self._closed:
            log.warning("lost the connection to NATS at %s; reconnecting", self.where)

    async def _on_reconnected(self) -> None:
        log.info("reconnected to NATS at %s", self.where)
        self.on_connect()

    async def _on_closed(self) -> None:
        if not self._closed:
            log.warning("gave up reconnecting to NATS at %s; the next call tries anew", self.where)

    def _unavailable(self, reason: object) -> Unavailable:
        if isinstance(reason, Exception):
            log.warning("task queue unavailable (NATS at %s): %r", self.where, reason)
        else:  # a known state, logged when it began: one line per call would flood the log
            log.debug("task queue unavailable (NATS at %s): %s", self.where, reason)
        return Unavailable(
            "the task queue (NATS JetStream) cannot be reached right now; retry in a moment",
            code="queue_unavailable",
        )


def _observe(task: asyncio.Task[Client]) -> None:
    # A connect attempt every caller stopped waiting for still has its outcome looked at.
    if not task.cancelled():
        task.exception()
