"""How a page is served: who is signed in, CSRF checks, templates, and errors as pages.

A page is a route function in ``web/routes/`` that takes a ``Page`` (the signed-in person,
their CSRF token, the platform), calls the same services the API calls, and returns
``page.render("template.html", ...)``. Errors the services raise become HTML pages with the
status the API would answer (a foreign project's page is the same 404 as a missing one).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import Depends, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.responses import HTMLResponse, RedirectResponse, Response

from trapline.domain.core.records import User
from trapline.errors import InvalidInput, NotAuthenticated, PermissionDenied, TraplineError
from trapline.http.errors import describe_validation_errors, error_response
from trapline.http.state import platform_of
from trapline.platform import Platform
from trapline.services.core import accounts
from trapline.web import captions, security

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
#: How long a sign-in lasts.
SESSION_LIFETIME = timedelta(days=14)
#: Fields a submitted form may hold at most (the body's bytes are bounded by the route): the
#: 500 occurrences one bulk identification ticks, and the form's own few.
MAX_FORM_FIELDS = 520


@dataclass
class Web:
    """What the pages share: the templates and the sign-in throttle."""

    templates: Environment
    throttle: security.SignInThrottle = field(default_factory=security.SignInThrottle)
    #: Origins images may come from besides this one (an S3 endpoint).
    image_origins: str = ""

    @classmethod
    def create(cls, platform: Platform) -> Web:
        """The package's templates (``templates``), the image origins and the throttle."""
        origins = ""
        endpoint = platform.settings.storage.s3_endpoint_url
        if endpoint:
            parts = urlsplit(endpoint)
            origins = f"{parts.scheme}://{parts.netloc}"
        elif (platform.settings.storage.url or "").startswith("s3://"):
            origins = "https://*.amazonaws.com"
        # The platform's clock: tests move it instead of waiting out the sign-in waits.
        throttle = security.SignInThrottle(clock=platform.clock.monotonic)
        return cls(templates=templates(), throttle=throttle, image_origins=origins)


@cache
def templates() -> Environment:
    """The package's templates, escaping everything they print: one environment a process, so
    each template is compiled once however many apps the process makes (a test's, a fork's)."""
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = _when
    env.filters["captured"] = captions.captured
    env.filters["shared_minutes"] = captions.shared_minutes
    env.filters["number"] = lambda n: f"{n:,}" if isinstance(n, int) else n
    env.filters["percent"] = lambda x: f"{100 * x:.0f}%"
    return env


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "—"


def web_of(request: Request) -> Web:
    """The web app's shared state."""
    web: Web = request.app.state.web
    return web


class SignInRequired(Exception):
    """The page needs a signed-in person: answered with a redirect to the sign-in page."""


@dataclass
class Page:
    """One page request: who asks, their CSRF token, and the platform's parts."""

    request: Request
    platform: Platform
    web: Web
    user: User | None
    #: The session's secret (None when nobody is signed in).
    session: str | None
    csrf: str
    #: Set when the anonymous CSRF cookie must be (re)sent with the answer.
    new_anonymous: str | None = None
    #: The database as this request reads it: the services it calls share one read session
    #: until a write (ended when the page is answered, ``PageRoute``).
    reads: Any = field(init=False)

    def __post_init__(self) -> None:
        # One a request, an error page's included.
        reads = getattr(self.request.state, "page_reads", None)
        self.reads = reads or self.platform.db.for_request()
        self.request.state.page_reads = self.reads

    @property
    def me(self) -> User:
        """The signed-in person (pages that need one declare ``SignedIn``)."""
        if self.user is None:
            raise SignInRequired
        return self.user

    @property
    def db(self) -> Any:
        """The platform's database as this request reads it (handed to services, never
        queried here)."""
        return self.reads

    def render(self, template: str, *, status: int = 200, **context: Any) -> HTMLResponse:
        """The page's HTML with the headers every page carries."""
        html = self.web.templates.get_template(template).render(
            page=self, user=self.user, csrf=self.csrf, **context
        )
        response = HTMLResponse(html, status_code=status)
        self.finish(response)
        return response

    def redirect(self, url: str) -> RedirectResponse:
        """See-other to a path of this site (after a form succeeded)."""
        response = RedirectResponse(url, status_code=303)
        self.finish(response)
        return response

    def finish(self, response: Response) -> None:
        """Headers and the anonymous CSRF cookie, when one was made."""
        security.page_headers(response, self.web.image_origins)
        if self.new_anonymous:
            security.set_cookie(
                response,
                self.request,
                self.platform.settings.http.public_url,
                security.ANONYMOUS_COOKIE,
                self.new_anonymous,
            )

    async def form(self) -> FormData:
        """The submitted form, after its CSRF token was checked (PermissionDenied if not)."""
        form = await self.request.form(max_fields=MAX_FORM_FIELDS, max_files=0)
        submitted = form.get(security.CSRF_FIELD)
        self.check_csrf(submitted if isinstance(submitted, str) else None)
        return form

    def check_csrf(self, submitted: str | None) -> None:
        """PermissionDenied unless ``submitted`` is this visitor's CSRF token."""
        binding = self.session or self.request.cookies.get(security.ANONYMOUS_COOKIE)
        if not security.csrf_matches(self.platform.secret, binding, submitted):
            raise PermissionDenied(
                "the form's security token is missing or out of date; reload the page and try again"
            )

    def check_csrf_header(self) -> None:
        """The same check for a script's request, whose token is in a header."""
        self.check_csrf(self.request.headers.get(security.CSRF_HEADER))


async def _page(request: Request) -> Page:
    platform = platform_of(request)
    web = web_of(request)
    secret = request.cookies.get(security.SESSION_COOKIE)
    user = None
    if secret and len(secret) <= 128:
        try:
            user, _ = await run_in_threadpool(accounts.session_user, platform.db, secret)
        except NotAuthenticated:
            secret = None
    else:
        secret = None
    if secret is not None:
        return Page(
            request, platform, web, user, secret, security.csrf_token(platform.secret, secret)
        )
    anonymous = request.cookies.get(security.ANONYMOUS_COOKIE)
    fresh = None
    if not anonymous or len(anonymous) > 64:
        anonymous = fresh = security.new_anonymous_binding()
    csrf = security.csrf_token(platform.secret, anonymous)
    return Page(request, platform, web, None, None, csrf, fresh)


async def _signed_in(page: Annotated[Page, Depends(_page)]) -> Page:
    if page.user is None:
        raise SignInRequired
    return page


#: Any visitor (the sign-in page).
AnyPage = Annotated[Page, Depends(_page)]
#: A signed-in person: anyone else is sent to the sign-in page.
SignedIn = Annotated[Page, Depends(_signed_in)]
#: Where a paged list starts (``?offset=``).
Offset = Annotated[int, Query(ge=0, le=10**9)]


class PageRoute(APIRoute):
    """A route whose errors are pages: sign-in redirects, and the API's statuses as HTML."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except SignInRequired:
                return _to_sign_in(request)
            except RequestValidationError as exc:
                return await error_page(
                    request, InvalidInput(describe_validation_errors(exc.errors()))
                )
            except TraplineError as exc:
                return await error_page(request, exc)
            finally:
                reads = getattr(request.state, "page_reads", None)
                if reads is not None:
                    await run_in_threadpool(reads.close)

        return page_handler


def _to_sign_in(request: Request) -> Response:
    target = request.url.path
    if request.url.query:
        target += "?" + request.url.query
    response = RedirectResponse(f"/signin?next={quote(target, safe='')}", status_code=303)
    security.page_headers(response, "")
    return response


async def error_page(request: Request, exc: TraplineError) -> Response:
    """The page an error answers with: the same status and words as the API's answer."""
    if "application/json" in request.headers.get("accept", ""):
        # A page's script asked: it reads the API's JSON error.
        return error_response(exc.status_code, exc.detail, exc.code)
    if isinstance(exc, NotAuthenticated):
        return _to_sign_in(request)
    page = await _page(request)
    if exc.status_code >= 500:
        log.warning("page %s failed: %s", request.url.path, exc.detail)
    titles = {400: "Check your input", 403: "Not allowed", 404: "Not found", 409: "Conflict"}
    response = page.render(
        "error.html",
        status=exc.status_code,
        title=titles.get(exc.status_code, "Something went wrong"),
        detail=exc.detail,
    )
    if exc.status_code == 503:
        response.headers["Retry-After"] = "5"
    return response


def safe_next(target: str | None) -> str:
    """A path on this site to go to after signing in (never another site)."""
    if not target or not target.startswith("/") or "\\" in target:
        return "/"
    # Browsers drop tabs and newlines from addresses: "/\t/evil.example" would become
    # "//evil.example", another site.
    cleaned = "".join(c for c in target if c > " " and c != "\x7f")
    if cleaned != target or cleaned.startswith("//"):
        return "/"
    return target


async def _posted_form(page: Annotated[Page, Depends(_page)]) -> FormData:
    return await page.form()


#: The submitted form of a POST, read and CSRF-checked before the route (a plain ``def``,
#: run off the event loop) calls any service.
PostedForm = Annotated[FormData, Depends(_posted_form)]
