"""Tokens and workers' job access are remembered a few seconds per server process.

Two apps on one database stand for two replicas: a change made through one applies there at
once, and on the other within ``access_cache_seconds``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.support.accounts import Account, upload
from tests.support.app_client import AppClient
from tests.support.protocol import pipeline_config, registration, wait_for_status
from trapline.app import create_app
from trapline.clock import FakeClock
from trapline.db.engine import Database
from trapline.platform import Platform
from trapline.settings import Settings

API = "/api/v2"
#: Seconds access is remembered (the replicas go by a fake clock: the window lasts until the
#: test moves it, however slow the machine).
TTL = 2.5


@pytest.fixture
def replicas(
    settings: Settings, app_db: Database, fake_clock: FakeClock
) -> Iterator[tuple[AppClient, AppClient]]:
    remembering = settings.updated(access_cache_seconds=TTL)
    # Each replica is a process of its own: its own connections, its own memory.
    first_platform = Platform.from_settings(remembering, db=app_db, clock=fake_clock)
    second_platform = Platform.from_settings(remembering, clock=fake_clock)
    try:
        with (
            AppClient(create_app(first_platform)) as first,
            AppClient(create_app(second_platform)) as second,
        ):
            yield first, second
    finally:
        first_platform.close()
        second_platform.close()


def _spare_token(client: AppClient, account: Account) -> tuple[int, Account]:
    made = client.post(f"{API}/tokens/", json={"name": "spare"}, headers=account.headers)
    assert made.status_code == 201, made.text
    return made.json()["id"], Account(account.id, account.email, made.json()["token"])


def _me(client: AppClient, account: Account) -> int:
    return client.get(f"{API}/users/me", headers=account.headers).status_code


def test_revoked_token_stops_at_once_here_and_within_the_ttl_elsewhere(
    replicas: tuple[AppClient, AppClient], owner: Account, fake_clock: FakeClock
) -> None:
    here, elsewhere = replicas
    token_id, spare = _spare_token(here, owner)
    assert _me(here, spare) == 200
    assert _me(elsewhere, spare) == 200  # now remembered by both
    revoked = here.delete(f"{API}/tokens/{token_id}", headers=owner.headers)
    assert revoked.status_code == 204
    assert _me(here, spare) == 401
    assert _me(elsewhere, spare) == 200  # the documented window
    fake_clock.advance(TTL - 0.1)
    assert _me(elsewhere, spare) == 200  # to its end
    fake_clock.advance(0.2)
    assert _me(elsewhere, spare) == 401


def test_nothing_is_remembered_with_a_ttl_of_zero(
    settings: Settings, app_db: Database, client: AppClient, owner: Account
) -> None:
    forgetful = settings.updated(access_cache_seconds=0)
    platform = Platform.from_settings(forgetful, db=app_db)
    try:
        with AppClient(create_app(platform)) as elsewhere:
            token_id, spare = _spare_token(client, owner)
            assert _me(elsewhere, spare) == 200
            deleted = client.delete(f"{API}/tokens/{token_id}", headers=owner.headers)
            assert deleted.status_code == 204
            assert _me(elsewhere, spare) == 401
    finally:
        platform.close()


def test_a_removed_member_stops_claiming_at_once_here_and_within_the_ttl_elsewhere(
    replicas: tuple[AppClient, AppClient],
    owner: Account,
    make_account: Callable[..., Account],
    jpeg: Callable[..., bytes],
    fake_clock: FakeClock,
) -> None:
    here, elsewhere = replicas
    project = here.post(f"{API}/projects/", json={"name": "memo"}, headers=owner.headers)
    project_id = project.json()["id"]
    worker = make_account("walter")
    added = here.post(
        f"{API}/projects/{project_id}/members/",
        json={"email": worker.email, "role": "member"},
        headers=owner.headers,
    )
    assert added.status_code == 201, added.text
    files = [(f"img-{n}.jpg", jpeg(n, width=64, height=48)) for n in range(6)]
    assert upload(here, owner, project_id, *files)["status"] == 201
    registered = here.post(
        f"{API}/projects/{project_id}/pipelines/",
        json=registration(pipeline_config("memo")),
        headers=owner.headers,
    )
    assert registered.status_code == 201, registered.text
    made = here.post(
        f"{API}/jobs/", json={"project_id": project_id, "pipeline": "memo"}, headers=owner.headers
    )
    job_id = made.json()["id"]
    wait_for_status(here.get, job_id, {"running"}, owner.headers)

    def claim(client: AppClient) -> int:
        answer = client.post(
            f"{API}/jobs/{job_id}/tasks/", json={"batch_size": 1}, headers=worker.headers
        )
        return answer.status_code

    assert claim(here) == 200
    assert claim(elsewhere) == 200
    removed = here.delete(f"{API}/projects/{project_id}/members/{worker.id}", headers=owner.headers)
    assert removed.status_code == 204
    assert claim(here) == 404
    assert claim(elsewhere) == 200  # remembered there for the window
    fake_clock.advance(TTL + 0.1)
    assert claim(elsewhere) == 404
