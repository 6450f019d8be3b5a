"""Fixtures of the web app's tests: people signed in through the sign-in form."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.support.accounts import Account
from tests.support.app_client import AppClient
from tests.support.web import CHEAP_HASH, Browser, signed_in
from trapline.db.engine import Database
from trapline.platform import Platform


@pytest.fixture
def sign_in(platform: Platform, app_db: Database) -> Callable[[Account], Browser]:
    """``sign_in(account)``: a new client for the account, signed in through the form."""
    clients: list[AppClient] = []

    def make(account: Account) -> Browser:
        with app_db.write() as repos:
            repos.core.users.set_password_hash(account.id, CHEAP_HASH)
        browser = signed_in(platform, account)
        clients.append(browser.client)
        return browser

    yield make  # type: ignore[misc]
    for client in clients:
        client.__exit__(None, None, None)
