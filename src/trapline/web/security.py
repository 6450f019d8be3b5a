"""What keeps the web app's sessions safe: cookies, CSRF tokens, headers, sign-in throttling."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import deque

from starlette.requests import Request
from starlette.responses import Response

#: The session cookie: its value is the session's secret (stored only hashed).
SESSION_COOKIE = "trapline_session"
#: Before sign-in there is no session to bind a CSRF token to: a random cookie stands in.
ANONYMOUS_COOKIE = "trapline_csrf"
#: Form field and header a state-changing request carries its CSRF token in.
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"

#: No inline script or style, nothing from another origin but images (S3 presigned URLs).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob: {images}; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)


def csrf_token(secret_key: bytes, binding: str) -> str:
    """The CSRF token of a session (or of an anonymous visitor's random cookie)."""
    return hmac.new(secret_key, b"csrf:" + binding.encode(), hashlib.sha256).hexdigest()


def csrf_matches(secret_key: bytes, binding: str | None, submitted: str | None) -> bool:
    """Whether ``submitted`` is the token of ``binding``, compared in constant time."""
    if not binding or not submitted:
        return False
    return hmac.compare_digest(csrf_token(secret_key, binding), submitted)


def new_anonymous_binding() -> str:
    """A fresh random value for the anonymous CSRF cookie."""
    return secrets.token_urlsafe(24)


def is_https(request: Request, public_url: str | None) -> bool:
    """Whether the browser reached us over HTTPS (then cookies are ``Secure``)."""
    if public_url and public_url.startswith("https://"):
        return True
    return request.url.scheme == "https"


def set_cookie(
    response: Response, request: Request, public_url: str | None, name: str, value: str, **kw: int
) -> None:
    """A cookie only this origin's pages send, never readable by script."""
    response.set_cookie(
        name,
        value,
        httponly=True,
        samesite="lax",
        secure=is_https(request, public_url),
        path="/",
        **kw,  # type: ignore[arg-type]
    )


def page_headers(response: Response, image_origins: str) -> None:
    """The headers every page answers with."""
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY.format(
        images=image_origins
    ).replace("  ", " ")
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Cache-Control"] = "no-store"


class SignInThrottle:
    """At most ``attempts`` failed sign-ins per ``window`` seconds per email and per client.

    Kept in the process: behind several replicas each one counts its own, so the limit a
    guesser meets is the replicas times ``attempts``; still far below what guessing needs.
    """

    #: Keys remembered at most; beyond that the oldest are forgotten.
    MAX_KEYS = 100_000

    def __init__(self, attempts: int = 10, window: float = 300.0) -> None:
        self.attempts = attempts
        self.window = window
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, *keys: str) -> int:
        """Seconds to wait before another attempt for any of ``keys`` (0: go ahead)."""
        now = time.monotonic()
        wait = 0.0
        with self._lock:
            for key in keys:
                failures = self._failures.get(key)
                if failures is None:
                    continue
                while failures and failures[0] <= now - self.window:
                    failures.popleft()
                if len(failures) >= self.attempts:
                    wait = max(wait, failures[0] + self.window - now)
        return int(wait) + 1 if wait > 0 else 0

    def failed(self, *keys: str) -> None:
        """Count a failed attempt against each key."""
        now = time.monotonic()
        with self._lock:
            if len(self._failures) > self.MAX_KEYS:
                self._failures.clear()
            for key in keys:
                self._failures.setdefault(key, deque(maxlen=self.attempts)).append(now)

    def succeeded(self, *keys: str) -> None:
        """Forget the failures of a key that signed in."""
        with self._lock:
            for key in keys:
                self._failures.pop(key, None)
