"""Signing in and out."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from trapline.errors import NotAuthenticated
from trapline.services.core import accounts
from trapline.web import security
from trapline.web.pages import SESSION_LIFETIME, AnyPage, safe_next
from trapline.web.routes import page_router

router = page_router()

Next = Annotated[str | None, Query(max_length=2000)]


@router.get("/signin")
def sign_in_form(page: AnyPage, next: Next = None) -> Response:
    """The sign-in form."""
    if page.user is not None:
        return page.redirect(safe_next(next))
    return page.render("signin.html", next=safe_next(next), email="", error=None)


@router.post("/signin")
async def sign_in(page: AnyPage) -> Response:
    """Check the email and password; open a session."""
    form = await page.form()
    email = str(form.get("email") or "").strip()[:254]
    password = str(form.get("password") or "")
    target = safe_next(str(form.get("next") or "/"))
    # The address that connected, or what a trusted proxy says it forwarded for (only those
    # in TRAPLINE_TRUSTED_PROXIES are believed).
    client = page.request.client.host if page.request.client else "unknown"
    account = await run_in_threadpool(accounts.sign_in_key, page.db, email)
    throttle = page.web.throttle
    # A browser that signed in to this account before is spared the address's count.
    seen = page.request.cookies.get(security.KNOWN_COOKIE)
    known = security.is_known(page.platform.secret, account, seen)
    wait = throttle.admit(account, client, known=known)  # counted as failed until it succeeds
    if wait:
        response = page.render(
            "signin.html",
            status=429,
            next=target,
            email=email,
            error=f"too many failed attempts from here; try again in {wait} seconds",
        )
        response.headers["Retry-After"] = str(wait)
        return response
    try:
        signed = await run_in_threadpool(
            accounts.sign_in,
            page.db,
            email,
            password,
            lifetime=SESSION_LIFETIME,
            user_agent=page.request.headers.get("user-agent", ""),
        )
    except NotAuthenticated as exc:
        return page.render("signin.html", status=400, next=target, email=email, error=exc.detail)
    throttle.succeeded(account, client)
    signed_in = page.redirect(target)
    security.set_cookie(
        signed_in,
        page.request,
        page.platform.settings.http.public_url,
        security.SESSION_COOKIE,
        signed.secret,
        max_age=int(SESSION_LIFETIME.total_seconds()),
    )
    security.set_cookie(
        signed_in,
        page.request,
        page.platform.settings.http.public_url,
        security.KNOWN_COOKIE,
        security.known_after_sign_in(page.platform.secret, account, seen),
        max_age=security.KNOWN_LIFETIME,
    )
    signed_in.delete_cookie(security.ANONYMOUS_COOKIE, path="/")
    return signed_in


@router.post("/signout")
async def sign_out(page: AnyPage) -> Response:
    """End this session."""
    await page.form()
    if page.session:
        await run_in_threadpool(accounts.sign_out, page.db, page.session)
    response = page.redirect("/signin")
    response.delete_cookie(security.SESSION_COOKIE, path="/")
    return response
