"""Fixtures of the export tests: a project whose results are known box by box, made through
the worker protocol as a real worker makes them (``tests.support.exports``), on the shared
``proto`` fixture."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.support.accounts import Account
from tests.support.app_client import AppClient
from tests.support.exports import API, Seeded, seed_project
from tests.support.protocol_client import Protocol


@pytest.fixture
def seeded(proto: Protocol) -> Seeded:
    return seed_project(proto)


@pytest.fixture
def make_seeded(client: AppClient, jpeg: Callable[..., bytes]) -> Callable[[Account], Seeded]:
    """A seeded project of another owner."""

    def make(account: Account) -> Seeded:
        made = client.post(f"{API}/projects/", json={"name": "Other"}, headers=account.headers)
        assert made.status_code == 201, made.text
        return seed_project(Protocol(client, account, made.json()["id"], jpeg))

    return make
