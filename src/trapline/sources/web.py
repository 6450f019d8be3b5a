"""HTTP for the gateways that speak it, through the outbound guard.

Every connection goes through ``OutboundPolicy.http_client`` (each address checked, the
connection pinned to it). Redirects are followed here, one hop at a time, so that each target
is checked like the first request, a redirect never changes the scheme, and credentials are
sent only to the origin they were given for.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import httpx

from trapline.outbound import OutboundBlocked, OutboundPolicy
from trapline.sources.base import SourceError

#: Redirects followed for one request.
MAX_REDIRECTS = 5


class WebClient:
    """An HTTP client for one source: guarded, with timeouts, redirects checked hop by hop."""

    def __init__(
        self, policy: OutboundPolicy, *, timeout: float, headers: Mapping[str, str] | None = None
    ) -> None:
        self._headers = dict(headers or {})
        self._http = policy.http_client(
            timeout=httpx.Timeout(timeout),
            follow_redirects=False,
            headers={"User-Agent": "trapline"},
        )

    def close(self) -> None:
        self._http.close()

    @contextmanager
    def stream(
        self, method: str, url: str, *, headers: Mapping[str, str] | None = None
    ) -> Iterator[httpx.Response]:
        """A response with status 2xx, its body not read yet; SourceError otherwise."""
        origin = httpx.URL(url)
        current = origin
        hops, again = 0, True
        while hops <= MAX_REDIRECTS:
            sent = dict(headers or {})
            if _same_origin(current, origin):
                sent.update(self._headers)  # credentials go to their own origin only
            answered = False
            try:
                with self._http.stream(method, current, headers=sent) as answer:
                    answered = True
                    if answer.is_redirect:
                        current, hops = _next_hop(current, answer), hops + 1
                        continue
                    if answer.status_code >= 400:
                        raise _status_error(url, answer.status_code)
                    yield answer
                    return
            except OutboundBlocked as exc:
                raise SourceError(exc.detail, transient=False) from None
            except httpx.TimeoutException:
                raise SourceError(f"{_shown(url)}: the server did not answer in time") from None
            except (httpx.ReadError, httpx.RemoteProtocolError) as exc:
                # Closed before it answered: most often a kept-alive connection the server had
                # just let go (a busy one lets them go soon). Asked once more, on a new one.
                if answered or not again:
                    raise SourceError(f"{_shown(url)}: {_transport_problem(exc)}") from None
                again = False
            except httpx.HTTPError as exc:
                raise SourceError(f"{_shown(url)}: {_transport_problem(exc)}") from None
        raise SourceError(f"{_shown(url)}: more than {MAX_REDIRECTS} redirects", transient=False)

    def read(
        self, url: str, *, max_bytes: int, headers: Mapping[str, str] | None = None
    ) -> tuple[bytes, str]:
        """The body (at most ``max_bytes``) and content type of a GET."""
        with self.stream("GET", url, headers=headers) as answer:
            body = bytearray()
            for chunk in self.chunks(answer, url, max_bytes=max_bytes):
                body += chunk
            return bytes(body), answer.headers.get("content-type", "")

    def chunks(self, answer: httpx.Response, url: str, *, max_bytes: int) -> Iterator[bytes]:
        """The body of ``answer`` (from ``stream``) as it arrives, for a reader that parses it
        as it goes; SourceError once it passes ``max_bytes``."""
        received = 0
        try:
            for chunk in answer.iter_bytes():
                received += len(chunk)
                if received > max_bytes:
                    raise SourceError(
                        f"{_shown(url)}: the answer is larger than {max_bytes} bytes",
                        transient=False,
                    )
                yield chunk
        except httpx.HTTPError as exc:
            raise SourceError(f"{_shown(url)}: {_transport_problem(exc)}") from None


def _same_origin(a: httpx.URL, b: httpx.URL) -> bool:
    return (a.scheme, a.host, a.port) == (b.scheme, b.host, b.port)


def _next_hop(current: httpx.URL, answer: httpx.Response) -> httpx.URL:
    location = answer.headers.get("location")
    if not location:
        raise SourceError(f"{_shown(str(current))}: a redirect without a target", transient=False)
    try:
        target = current.join(location)
    except httpx.InvalidURL:
        raise SourceError(
            f"{_shown(str(current))}: a redirect to a malformed URL", transient=False
        ) from None
    if target.scheme != current.scheme:
        raise SourceError(
            f"{_shown(str(current))} redirects to a {target.scheme} URL; a source's redirects "
            "must keep its scheme",
            transient=False,
        )
    return target


def _status_error(url: str, status: int) -> SourceError:
    if status in (401, 403):
        return SourceError(
            f"{_shown(url)} answered {status}: check the source's credentials", transient=False
        )
    if status == 404:
        return SourceError(f"{_shown(url)} answered 404 (not found)")
    return SourceError(f"{_shown(url)} answered {status}")


def _transport_problem(exc: httpx.HTTPError) -> str:
    if isinstance(exc, httpx.ConnectError):
        return "could not connect to the server"
    if isinstance(exc, httpx.RemoteProtocolError):
        return "the connection broke off before the answer was complete"
    return f"the request failed ({type(exc).__name__})"


def _shown(url: str) -> str:
    """A URL as errors show it: without its query, which may carry a signature."""
    return str(url).split("?", 1)[0]
