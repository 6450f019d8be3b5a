"""Calls from the platform to push-mode processing services: ``/info``, ``/readyz``, ``/process``.

Services are called without credentials (they get signed image URLs, never the platform's
token), and only through the outbound guard (``trapline.outbound``): each call names whether
its service is *trusted* (an admin registered it), and an untrusted service is called only at
an address the policy allows, checked when the connection is made. Redirects are not followed:
a processing service has no reason to send one, and a 3xx is reported like any error status.

Failures become ``ServiceError``s that say what went wrong in words a project manager can act
on; ``transient`` ones (the service unreachable, or answering 5xx) are worth retrying. What a
service says in an error answer is never passed on (it may be anything the address serves):
errors name the status code and what to do, and the remote text goes to the debug log only.
"""

from __future__ import annotations

import json
import logging
import time
from functools import lru_cache
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from trapline.clock import Clock, SystemClock
from trapline.domain.core.retry import RetryPolicy
from trapline.errors import TraplineError
from trapline.outbound import OutboundBlocked, OutboundPolicy, refusal
from trapline.protocol.base import (
    MAX_REGISTRATION_BYTES,
    MAX_REGISTRATION_CONTAINERS,
    MAX_REGISTRATION_VALUES,
    MAX_RESULTS_BYTES,
    MAX_RESULTS_CONTAINERS,
    MAX_RESULTS_VALUES,
    json_containers,
    json_values,
)
from trapline.protocol.service import (
    PipelineRequest,
    ProcessingServiceInfoResponse,
    ProcessResponse,
)
from trapline.services.pipelines.process_answer import AnswerInvalid, ProcessAnswer, read_answer

log = logging.getLogger(__name__)

# Each call has a deadline for the whole call, not only for each read: a service that
# trickles its answer a byte at a time is cut off when the deadline passes.
#: Seconds a whole ``/info`` call may take (the answer carries whole category maps).
INFO_TIMEOUT = 15.0
#: Seconds a whole ``/readyz`` call may take.
READY_TIMEOUT = 5.0
#: Seconds to wait for a connection to a service.
CONNECT_TIMEOUT = 5.0
#: Largest ``/info`` answer read, in bytes: what a pull-mode service may register.
MAX_INFO_BYTES = MAX_REGISTRATION_BYTES
#: Largest ``/process`` answer read, in bytes: what a worker may post as results.
MAX_PROCESS_BYTES = MAX_RESULTS_BYTES
#: Most JSON objects and arrays, and most JSON values, an answer of each size may hold: parsed,
#: they cost far more memory than their bytes, so they are counted before parsing
#: (``protocol.json_containers``, ``protocol.json_values``).
_BUDGETS = {
    MAX_INFO_BYTES: (MAX_REGISTRATION_CONTAINERS, MAX_REGISTRATION_VALUES),
    MAX_PROCESS_BYTES: (MAX_RESULTS_CONTAINERS, MAX_RESULTS_VALUES),
}
#: How ``/process`` calls are retried when the service is unreachable or answers 5xx.
PROCESS_RETRY = RetryPolicy(max_attempts=3, base_delay=1.0, max_delay=10.0)

Answer = TypeVar("Answer", bound=BaseModel)
_NOT_JSON: dict[str, Any] = {"type": "json_invalid", "loc": (), "msg": ""}


class ServiceError(TraplineError):
    """A processing service could not be used; answered as 502 by the API."""

    status_code = 502
    code = "service_error"

    def __init__(self, detail: str, *, transient: bool, code: str | None = None) -> None:
        super().__init__(detail, code=code)
        #: Whether trying again soon may work (unreachable, timed out or a 5xx answer).
        self.transient = transient


def endpoint(base_url: str, path: str) -> str:
    """``path`` of the service at ``base_url`` (which may or may not end with a slash)."""
    return f"{base_url.rstrip('/')}/{path.lstrip('/')}"


class ServiceClient:
    """Pooled HTTP clients for every processing service, behind the outbound guard; thread-safe.

    Trusted and untrusted services get separate connection pools, so a connection opened for
    a service an admin registered never carries a call for another one.
    """

    def __init__(
        self,
        *,
        process_timeout: float,
        policy: OutboundPolicy,
        info_timeout: float = INFO_TIMEOUT,
        clock: Clock | None = None,
    ) -> None:
        self.process_timeout = process_timeout
        #: What the pauses between tries of a call wait on.
        self.clock = clock or SystemClock()
        #: Seconds a whole ``/info`` call may take.
        self.info_timeout = info_timeout
        self.policy = policy
        self._http = {
            trusted: policy.http_client(
                trusted=trusted,
                timeout=httpx.Timeout(process_timeout, connect=CONNECT_TIMEOUT),
                follow_redirects=False,
            )
            for trusted in (False, True)
        }

    def close(self) -> None:
        """Close the pooled connections."""
        for http in self._http.values():
            http.close()

    def check(self, base_url: str, *, trusted: bool) -> None:
        """Refuse a service the outbound policy will not let the platform call, before any call.

        Raises:
            OutboundBlocked: the URL's address (or one its name resolves to) is not allowed.
            ServiceError: the URL's host name does not resolve.
        """
        try:
            self.policy.check_url(base_url, trusted=trusted)
        except OSError as exc:
            if not trusted:  # the same words as for a name that resolves to a private address
                raise OutboundBlocked(refusal(httpx.URL(base_url).host)) from exc
            raise ServiceError(
                f"could not reach {base_url}: its host name does not resolve ({exc})",
                transient=True,
                code="service_unreachable",
            ) from exc

    def info(self, base_url: str, *, trusted: bool) -> ProcessingServiceInfoResponse:
        """The service's description and pipelines (``GET /info``).

        Raises:
            ServiceError: unreachable, not allowed, an error status, or no description.
        """
        return self._call(
            "GET",
            base_url,
            "info",
            ProcessingServiceInfoResponse,
            self.info_timeout,
            MAX_INFO_BYTES,
            trusted=trusted,
        )

    def readiness_error(self, base_url: str, *, trusted: bool) -> str | None:
        """Why the service is not ready (``GET /readyz``), or None when it is."""
        url = endpoint(base_url, "readyz")
        try:  # the status is the answer: the body is not read
            with self._http[trusted].stream("GET", url, timeout=READY_TIMEOUT) as answer:
                pass
        except OutboundBlocked as exc:
            return exc.detail
        except httpx.HTTPError as exc:
            return _unreachable(url, exc)
        if answer.is_success:
            return None
        return _error_status(url, answer)

    def process(
        self,
        base_url: str,
        request: PipelineRequest,
        retry: RetryPolicy = PROCESS_RETRY,
        *,
        trusted: bool,
    ) -> ProcessAnswer:
        """Run a pipeline over images (``POST /process``), retrying transient failures; the
        answer is checked part by part and kept as its bytes (``process_answer``).

        Raises:
            ServiceError: when every try failed, or at once for a 4xx or an invalid answer.
        """
        attempt = 1
        while True:
            try:
                url, content = self._fetch(
                    "POST",
                    endpoint(base_url, "process"),
                    self.process_timeout,
                    MAX_PROCESS_BYTES,
                    request,
                    trusted=trusted,
                )
                break
            except ServiceError as exc:
                if not exc.transient or attempt >= retry.max_attempts:
                    raise
                pause = retry.delay(attempt).total_seconds()
                log.warning("%s; try %d again in %.1fs", exc.detail, attempt + 1, pause)
                self.clock.wait(pause)
                attempt += 1
        try:
            return read_answer(content)
        except AnswerInvalid as exc:
            if exc.limit is not None:
                why = f"{url} answered a part too large to read: {exc.limit}"
            else:
                problem = _problem(exc.error or _NOT_JSON, ProcessResponse)
                why = f"{url} did not answer as a processing service does: {problem}"
            raise ServiceError(why, transient=False, code="bad_service_answer") from None

    def _call(
        self,
        method: str,
        base_url: str,
        path: str,
        model: type[Answer],
        timeout: float,
        max_bytes: int,
        body: BaseModel | None = None,
        *,
        trusted: bool,
    ) -> Answer:
        url, content = self._fetch(
            method, endpoint(base_url, path), timeout, max_bytes, body, trusted=trusted
        )
        try:
            return model.model_validate_json(content)
        except ValidationError as exc:
            raise ServiceError(
                f"{url} did not answer as a processing service does: {_first_problem(exc, model)}",
                transient=False,
                code="bad_service_answer",
            ) from exc

    def _fetch(
        self,
        method: str,
        url: str,
        timeout: float,
        max_bytes: int,
        body: BaseModel | None = None,
        *,
        trusted: bool,
    ) -> tuple[str, bytearray]:
        """A successful answer's body, within its byte cap and its budget of JSON values."""
        deadline = time.monotonic() + timeout  # for the whole call, not each read
        try:
            with self._http[trusted].stream(
                method,
                url,
                json=body.model_dump(mode="json") if body is not None else None,
                timeout=httpx.Timeout(timeout, connect=CONNECT_TIMEOUT),
            ) as answer:
                content = _read_limited(answer, url, max_bytes, deadline, timeout)
        except OutboundBlocked as exc:  # allowed when registered; its name resolves elsewhere now
            raise ServiceError(exc.detail, transient=False, code=exc.code) from exc
        except httpx.TimeoutException as exc:
            raise _timed_out(url, timeout, type(exc).__name__, exc) from exc
        except httpx.HTTPError as exc:
            raise ServiceError(
                _unreachable(url, exc), transient=True, code="service_unreachable"
            ) from exc
        if not answer.is_success:
            _log_answer(url, answer.status_code, content)
            raise ServiceError(
                _error_status(url, answer),
                transient=answer.status_code >= 500,
                code="service_failed",
            )
        containers, values = _BUDGETS.get(max_bytes, (MAX_RESULTS_CONTAINERS, MAX_RESULTS_VALUES))
        if json_containers(content) > containers:
            raise ServiceError(
                f"{url} answered more than {containers} JSON objects and arrays",
                transient=False,
                code="bad_service_answer",
            )
        if json_values(content) > values:
            raise ServiceError(
                f"{url} answered more than {values} JSON values; ask it for fewer images per call",
                transient=False,
                code="bad_service_answer",
            )
        return url, content


def _timed_out(url: str, timeout: float, why: str, exc: Exception | None = None) -> ServiceError:
    return ServiceError(
        f"{url} did not answer within {timeout:.0f}s ({why})",
        # A slow service stays slow: only a call that timed out before the answer is retried.
        transient=exc is not None and not isinstance(exc, httpx.ReadTimeout),
        code="service_timeout",
    )


def _read_limited(
    answer: httpx.Response, url: str, max_bytes: int, deadline: float, timeout: float
) -> bytearray:
    """The answer's body, refused past ``max_bytes`` (by its declared length, or as it arrives)
    or once ``deadline`` (``time.monotonic()``) passes, however steadily bytes arrive."""
    declared = answer.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise _too_large(url, max_bytes)
    timeouts = answer.request.extensions.get("timeout")
    # Filled in place when its length is declared: a buffer grown chunk by chunk is copied as
    # it grows, which for an answer at its cap costs its size again for a moment.
    expected = int(declared) if declared.isdigit() else 0
    body, filled = bytearray(expected), 0
    for chunk in answer.iter_bytes():  # decoded: the cap holds for compressed answers too
        if filled + len(chunk) <= expected:
            body[filled : filled + len(chunk)] = chunk
        else:
            body[filled:] = chunk
        filled += len(chunk)
        if filled > max_bytes:
            raise _too_large(url, max_bytes)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise _timed_out(url, timeout, "it was still sending its answer")
        if isinstance(timeouts, dict):
            # The transport reads the next read's timeout from here: none outlasts the deadline.
            timeouts["read"] = min(timeouts.get("read") or remaining, remaining)
    if filled < len(body):  # shorter than declared (a compressed answer is longer)
        del body[filled:]
    return body  # not copied: an answer at its cap is held once


def _too_large(url: str, max_bytes: int) -> ServiceError:
    return ServiceError(
        f"{url} answered more than {max_bytes} bytes, more than a processing service needs",
        transient=False,
        code="bad_service_answer",
    )


def _unreachable(url: str, exc: httpx.HTTPError) -> str:
    if isinstance(exc, httpx.ProtocolError | httpx.DecodingError):
        # Their messages quote what the service sent (a status line, a header).
        return f"could not reach {url}: its answer is not valid HTTP ({type(exc).__name__})"
    reason = str(exc) or type(exc).__name__
    return f"could not reach {url}: {reason}"


def _error_status(url: str, answer: httpx.Response) -> str:
    """What an error status means, without a word of what the service said with it."""
    status = answer.status_code
    if answer.is_redirect:
        what = "a redirect, which trapline does not follow: register the URL it points to"
    elif status >= 500:
        what = "the service failed; its own logs say why"
    else:
        what = "the service refused the call; check that the URL is the service's base URL"
    return f"{url} answered HTTP {status} ({what})"


def _log_answer(url: str, status: int, content: bytes | bytearray) -> None:
    """The ``detail`` a service gave with an error, for the debug log only."""
    if not log.isEnabledFor(logging.DEBUG):
        return
    try:
        detail: Any = json.loads(content).get("detail")
    except (ValueError, AttributeError):
        detail = content[:200]
    log.debug("%s answered HTTP %s: %r", url, status, detail)


def _first_problem(exc: ValidationError, model: type[BaseModel]) -> str:
    """Where the answer broke the contract, in the contract's own words.

    Only field names of the model's schema and list positions are shown: a key the service
    made up (a category name, an unknown field) is not repeated, nor a message quoting a value.
    """
    return _problem(exc.errors()[0], model)


def _problem(first: ErrorDetails | dict[str, Any], model: type[BaseModel]) -> str:
    """One problem of an answer (see ``_first_problem``)."""
    if first["type"] == "json_invalid":
        return "the answer is not JSON"
    known = _field_names(model)
    parts = [str(p) if isinstance(p, int) or p in known else "…" for p in first["loc"]]
    message = first["msg"]
    given = first.get("input")
    if isinstance(given, str) and given and given in message:
        message = f"an invalid value ({first['type']})"
    return f"{'.'.join(parts) or 'the answer'}: {message}"


@lru_cache
def _field_names(model: type[BaseModel]) -> frozenset[str]:
    names: set[str] = set()

    def walk(schema: object) -> None:
        if isinstance(schema, dict):
            properties = schema.get("properties")
            if isinstance(properties, dict):
                names.update(properties)
            for value in schema.values():
                walk(value)
        elif isinstance(schema, list):
            for value in schema:
                walk(value)

    walk(model.model_json_schema())
    return frozenset(names)
