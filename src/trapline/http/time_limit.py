"""The time a request's queries may take (``db.time_limit``), set around every HTTP request."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from trapline.db.time_limit import request_time_limit


class RequestTimeLimit:
    """Runs each HTTP request under the statement time limit of requests (``seconds``; 0: none).

    The limit is a context variable: the threads a request's sync routes run in copy it, and
    background duties, started outside any request, run without it.
    """

    def __init__(self, app: ASGIApp, seconds: float) -> None:
        self.app, self.seconds = app, seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.seconds:
            await self.app(scope, receive, send)
            return
        with request_time_limit(self.seconds):
            await self.app(scope, receive, send)
