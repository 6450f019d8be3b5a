"""What keeps the web app's sessions safe: cookies, CSRF tokens, headers, sign-in throttling."""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import Response

#: The session cookie: its value is the session's secret (stored only hashed).
SESSION_COOKIE = "trapline_session"
#: Before sign-in there is no session to bind a CSRF token to: a random cookie stands in.
ANONYMOUS_COOKIE = "trapline_csrf"
#: Form field and header a state-changing request carries its CSRF token in.
#: Proof that this browser has signed in to an account before: it is spared the sign-in
#: throttle's count per address (``SignInThrottle``). Tags of the last few accounts.
KNOWN_COOKIE = "trapline_known"
#: How many accounts' tags the cookie keeps, and how long it lasts.
KNOWN_ACCOUNTS = 5
KNOWN_LIFETIME = 365 * 24 * 3600
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


def _known_tag(secret_key: bytes, account: str) -> str:
    return hmac.new(secret_key, b"known:" + account.encode(), hashlib.sha256).hexdigest()[:32]


def is_known(secret_key: bytes, account: str, cookie: str | None) -> bool:
    """Whether the ``KNOWN_COOKIE`` value shows this browser signed in to ``account`` (its
    sign-in key: a new password makes the tag stale)."""
    tag = _known_tag(secret_key, account)
    tags = (cookie or "").split(".")[:KNOWN_ACCOUNTS]
    return any(hmac.compare_digest(tag, seen) for seen in tags)


def known_after_sign_in(secret_key: bytes, account: str, cookie: str | None) -> str:
    """The ``KNOWN_COOKIE`` value after ``account`` signed in: its tag first, then the others."""
    tag = _known_tag(secret_key, account)
    others = [seen for seen in (cookie or "").split(".") if seen and seen != tag]
    return ".".join([tag, *others][:KNOWN_ACCOUNTS])


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
    """Failed sign-ins slow down whoever makes them, never the account's owner elsewhere.

    Counted per (account, client): after ``free`` failures each further attempt of that pair
    waits twice as long as the one before (1 s, 2 s, 4 s, ... up to ``longest``), so guessing
    one password from one place is slow, while its owner signs in from any other client as
    usual. Counted per client as well, over every account, with ``client_free`` failures free:
    past them, that client waits the same way before any sign-in, on any account, so one
    address trying a password or two on each of thousands of accounts (spraying) is slowed
    as much as one guessing a single account. Only a browser that has signed in to the
    account before (``known``: it shows the ``KNOWN_COOKIE`` that sign-in gave it) is spared
    the client's count, so the people behind one address (a proxy nobody listed in
    ``TRAPLINE_TRUSTED_PROXIES``, an office's NAT) still sign in with their right password
    while one of them guesses or sprays. An account's counts go when it signs in from any
    client, and with its password (a reset changes the key the counts are kept under). At
    most ``max_keys`` counts are kept, the least recently failed forgotten first; a count
    idle for 4 ``longest`` is forgotten.

    Kept in the process: behind several replicas each counts its own, so a guesser meets
    the limits times the replicas, still far below what guessing needs.
    """

    def __init__(
        self,
        *,
        free: int = 5,
        client_free: int = 100,
        longest: float = 900.0,
        max_keys: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.free, self.client_free, self.longest = free, client_free, longest
        self.max_keys = max_keys
        self._clock = clock
        #: (account, client) or ("", client) -> (failures, time of the last one).
        self._counts: OrderedDict[tuple[str, str], tuple[int, float]] = OrderedDict()
        self._clients_of: dict[str, set[str]] = {}
        self._lock = threading.Lock()

    def retry_after(self, account: str, client: str, *, known: bool = False) -> int:
        """Seconds to wait before this client tries this account again (0: go ahead);
        ``known``: the browser has signed in to this account before."""
        now = self._clock()
        with self._lock:
            wait = self._wait((account, client), self.free, now)
            if not known:
                wait = max(wait, self._wait(("", client), self.client_free, now))
        return math.ceil(wait) if wait > 0 else 0

    def admit(self, account: str, client: str, *, known: bool = False) -> int:
        """Let this client try this account now, counting the try as failed before its
        password is checked, or say how many seconds it must wait first (and count nothing).
        Checked and counted at once: tries sent side by side meet the limit one by one, where
        checking first and counting after the password let each through that started before
        the first failure was counted. A try that succeeds is taken back (``succeeded``)."""
        now = self._clock()
        with self._lock:
            wait = self._wait((account, client), self.free, now)
            if not known:
                wait = max(wait, self._wait(("", client), self.client_free, now))
            if wait <= 0:
                self._count(account, client, now)
        return math.ceil(wait) if wait > 0 else 0

    def failed(self, account: str, client: str) -> None:
        """Count a failed attempt of this client on this account."""
        now = self._clock()
        with self._lock:
            self._count(account, client, now)

    def succeeded(self, account: str, client: str | None = None) -> None:
        """The account signed in (from ``client``, whose admitted try is taken back from its
        count over every account): forget its failures, from every client."""
        with self._lock:
            for known_client in self._clients_of.pop(account, set()):
                self._counts.pop((account, known_client), None)
            if client is not None and ("", client) in self._counts:
                count, last = self._counts[("", client)]
                if count > 1:
                    self._counts[("", client)] = (count - 1, last)
                else:
                    del self._counts[("", client)]

    def _count(self, account: str, client: str, now: float) -> None:
        for key in ((account, client), ("", client)):
            count, _ = self._counts.pop(key, (0, now))
            self._counts[key] = (count + 1, now)
        self._clients_of.setdefault(account, set()).add(client)
        while len(self._counts) > self.max_keys:
            self._forget(next(iter(self._counts)))

    def _wait(self, key: tuple[str, str], free: int, now: float) -> float:
        count, last = self._counts.get(key, (0, now))
        if count and now - last > 4 * self.longest:
            self._forget(key)
            return 0.0
        if count < free:
            return 0.0
        backoff = min(2.0 ** (count - free), self.longest)
        return max(0.0, last + backoff - now)

    def _forget(self, key: tuple[str, str]) -> None:
        self._counts.pop(key, None)
        account, client = key
        clients = self._clients_of.get(account)
        if account and clients is not None:
            clients.discard(client)
            if not clients:
                del self._clients_of[account]
