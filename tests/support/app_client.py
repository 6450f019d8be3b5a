"""A synchronous HTTP client for an ASGI app in this process: what Starlette's ``TestClient``
does, at a fraction of its cost per request.

``TestClient`` hands every request, and each ASGI message of it, across threads through
anyio's blocking portal: eight hand-overs and 3-5 ms a request, more than most routes take.
Here one event loop thread, started with the client, runs the app and a request crosses to it
once, through httpx's own ASGI transport. As with ``TestClient``: the lifespan runs while the
client is used as a context manager, the app's exceptions reach the test, redirects are
followed unless a call says otherwise, and the base URL is ``http://testserver``.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from types import TracebackType
from typing import Any

import httpx
from fastapi import FastAPI

#: Seconds the app's lifespan may take to start or to end.
LIFESPAN_TIMEOUT = 60.0


class _OnLoop(httpx.BaseTransport):
    """Sends each request through an ASGI transport on a loop thread of its own, which ends
    when the transport closes (or is collected, for a client never closed)."""

    def __init__(self, app: FastAPI, peer: tuple[str, int], raising: bool) -> None:
        self._asgi = httpx.ASGITransport(app=app, client=peer, raise_app_exceptions=raising)
        self.loop = asyncio.new_event_loop()
        thread = threading.Thread(target=self.loop.run_forever, name="app-client", daemon=True)
        thread.start()
        self._end = weakref.finalize(self, _end_loop, self.loop, thread)

    def run(self, work: Any, timeout: float | None = None) -> Any:
        """Run a coroutine on the loop; its answer or its exception."""
        return asyncio.run_coroutine_threadsafe(work, self.loop).result(timeout)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        copy = httpx.Request(
            request.method,
            request.url,
            headers=request.headers,
            content=request.read(),
            extensions=request.extensions,
        )
        status, headers, body = self.run(self._send(copy))
        return httpx.Response(status, headers=headers, content=body)

    async def _send(self, request: httpx.Request) -> tuple[int, httpx.Headers, bytes]:
        response = await self._asgi.handle_async_request(request)
        return response.status_code, response.headers, await response.aread()

    def close(self) -> None:
        self._end()


def _end_loop(loop: asyncio.AbstractEventLoop, thread: threading.Thread) -> None:
    loop.call_soon_threadsafe(loop.stop)
    thread.join(LIFESPAN_TIMEOUT)
    loop.close()


class AppClient(httpx.Client):
    """Calls ``app`` in this process. With ``raise_server_exceptions=False`` an exception of
    the app answers 500 instead; ``client`` is the address the app sees calls come from."""

    def __init__(
        self,
        app: FastAPI,
        *,
        raise_server_exceptions: bool = True,
        client: tuple[str, int] = ("testclient", 50000),
        **kwargs: Any,
    ) -> None:
        self.app = app
        self._on_loop = _OnLoop(app, client, raise_server_exceptions)
        self._stop: asyncio.Event | None = None
        self._lifespan: Any = None
        kwargs.setdefault("base_url", "http://testserver")
        kwargs.setdefault("follow_redirects", True)
        super().__init__(transport=self._on_loop, **kwargs)

    @property
    def transport(self) -> httpx.BaseTransport:
        """What carries this client's calls into the app: for another client to call it."""
        return self._on_loop

    def __enter__(self) -> AppClient:
        super().__enter__()
        loop = self._on_loop.loop
        started: asyncio.Future[None] = loop.create_future()
        self._lifespan = asyncio.run_coroutine_threadsafe(self._live(started), loop)
        self._on_loop.run(_wait(started), LIFESPAN_TIMEOUT)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None = None,
        value: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None:
        try:
            if self._lifespan is not None and self._stop is not None:
                self._on_loop.loop.call_soon_threadsafe(self._stop.set)
                self._lifespan.result(LIFESPAN_TIMEOUT)
        finally:
            super().__exit__(kind, value, traceback)

    async def _live(self, started: asyncio.Future[None]) -> None:
        """Run the lifespan: started, then ended once the client closes (in one task, as the
        lifespan's own task groups need)."""
        self._stop = asyncio.Event()
        try:
            async with self.app.router.lifespan_context(self.app):
                started.set_result(None)
                await self._stop.wait()
        except BaseException as exc:
            if not started.done():
                started.set_exception(exc)
                return
            raise


async def _wait(future: asyncio.Future[None]) -> None:
    await future
