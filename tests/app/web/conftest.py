"""Fixtures of the web app's tests: people signed in through the sign-in form."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.support.accounts import Account
from tests.support.app_client import AppClient
from tests.support.web import CHEAP_HASH, PASSWORD, Browser, csrf_of
from trapline.app import create_app
from trapline.db.engine import Database
from trapline.platform import Platform


@pytest.fixture
def sign_in(platform: Platform, app_db: Database) -> Callable[[Account], Browser]:
    """``sign_in(account)``: a new client for the account, signed in through the form."""
    clients: list[AppClient] = []

    def make(account: Account) -> Browser:
        with app_db.write() as repos:
            repos.core.users.set_password_hash(account.id, CHEAP_HASH)
        client = AppClient(create_app(platform))
        client.__enter__()
        clients.append(client)
        token = csrf_of(client.get("/signin").text)
        answer = client.post(
            "/signin",
            data={"csrf": token, "email": account.email, "password": PASSWORD, "next": "/"},
            follow_redirects=False,
        )
        assert answer.status_code == 303, answer.text
        return Browser(client, account)

    yield make  # type: ignore[misc]
    for client in clients:
        client.__exit__(None, None, None)
