"""Forwarded headers on the real server (``Server.for_app`` on loopback, in a thread): believed
from the trusted proxies only, so the sign-in limits tell browsers behind the proxy apart, and
a warning in the log when an address not trusted sends them.

The tests' requests come from 127.0.0.1 carrying ``X-Forwarded-For``, as a reverse proxy's do.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from ipaddress import IPv4Network, IPv6Network, ip_network

import httpx
import pytest

from tests.support.accounts import Account
from tests.support.web import CHEAP_HASH, PASSWORD, csrf_of
from trapline.app import create_app
from trapline.clock import FakeClock
from trapline.db.engine import Database
from trapline.http.server import Server
from trapline.platform import Platform

LOGGER = "trapline.http.forwarded"


@contextmanager
def serving(platform: Platform, trusted: Sequence[IPv4Network | IPv6Network]) -> Iterator[str]:
    """The server ``trapline serve`` runs, on a free loopback port; its base URL."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    server = Server.for_app(create_app(platform), platform.settings.http, trusted_proxies=trusted)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join()
        listener.close()


def sign_in(url: str, forwarded_for: str | None, email: str, password: str) -> int:
    """One sign-in through the proxy for the browser at ``forwarded_for``; the status."""
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    with httpx.Client(base_url=url, headers=headers, timeout=30) as browser:
        token = csrf_of(browser.get("/signin").text)
        answer = browser.post("/signin", data={"csrf": token, "email": email, "password": password})
        return answer.status_code


@pytest.fixture
def cheap_owner(owner: Account, app_db: Database, fake_clock: FakeClock) -> Account:
    """The owner, with a password quick to check; the sign-in waits go by the fake clock
    (which stands still), so a slow machine does not let them run out."""
    with app_db.write() as repos:
        repos.core.users.set_password_hash(owner.id, CHEAP_HASH)
    return owner


def test_behind_a_trusted_proxy_the_guesser_and_the_owner_are_told_apart(
    platform: Platform, cheap_owner: Account, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger=LOGGER)
    with serving(platform, [ip_network("127.0.0.1/32")]) as url:
        guesses = [sign_in(url, "203.0.113.7", cheap_owner.email, f"guess {n}!!") for n in range(6)]
        assert guesses == [400] * 5 + [429]
        assert sign_in(url, "203.0.113.7", cheap_owner.email, PASSWORD) == 429
        # The owner's browser, behind the same proxy, is another client.
        assert sign_in(url, "198.51.100.2", cheap_owner.email, PASSWORD) == 303
    assert not [r for r in caplog.records if r.name == LOGGER]


def test_forwarded_headers_from_an_address_not_trusted_are_ignored_and_said_so(
    platform: Platform, cheap_owner: Account, caplog: pytest.LogCaptureFixture
) -> None:
    """A proxy nobody listed: every browser behind it is the proxy to the sign-in limits,
    and the log says which address sent the header and what to set, once."""
    caplog.set_level(logging.WARNING, logger=LOGGER)
    with serving(platform, []) as url:
        assert sign_in(url, None, cheap_owner.email, "no header, no warning") == 400
        assert not [r for r in caplog.records if r.name == LOGGER]
        for n in range(5):
            sign_in(url, "203.0.113.7", cheap_owner.email, f"guess {n}!!")
        # The owner's browser has the proxy's address too: it waits with the guesser.
        assert sign_in(url, "198.51.100.2", cheap_owner.email, PASSWORD) == 429
    warnings = [r.getMessage() for r in caplog.records if r.name == LOGGER]
    assert len(warnings) == 1, warnings  # once per address, not once per request
    assert "from 127.0.0.1 carries X-Forwarded-For" in warnings[0]
    assert "TRAPLINE_TRUSTED_PROXIES" in warnings[0]
