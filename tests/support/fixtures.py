"""Fixtures shared across test folders, registered for the whole suite by the root conftest
(``pytest_plugins``): a test names them as arguments and imports nothing."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.support.accounts import Account, upload
from tests.support.app_client import AppClient
from tests.support.callbacks import Pipeline, create_analysis
from tests.support.databases import BACKENDS, require_postgres
from tests.support.protocol import pipeline_config
from tests.support.protocol_client import Protocol
from tests.support.shared_scenes import Shared, SharedScenes


@pytest.fixture
def proto(
    client: AppClient, owner: Account, project_id: int, jpeg: Callable[..., bytes]
) -> Protocol:
    """The owner's project, nothing registered or uploaded yet."""
    return Protocol(client, owner, project_id, jpeg)


@pytest.fixture
def registered(proto: Protocol) -> Protocol:
    """The owner's project with the test pipeline registered."""
    response = proto.register(pipeline_config())
    assert response.status_code == 201, response.text
    return proto


@pytest.fixture
def pipeline(client: AppClient) -> Pipeline:
    """An external pipeline calling the callback API with the global secret
    (``tests.support.callbacks.SECRET``, which the server must hold)."""
    return Pipeline(client)


@pytest.fixture
def image_id(client: AppClient, owner: Account, project_id: int, jpeg: Callable[..., bytes]) -> int:
    """One 320 x 240 image in the owner's project."""
    answer = upload(client, owner, project_id, ("a.jpg", jpeg(1)))
    assert answer["status"] == 201, answer
    return int(answer["results"][0]["id"])


@pytest.fixture
def analysis(client: AppClient, owner: Account, image_id: int) -> int:
    """A callback analysis of ``image_id`` (queued, no results yet)."""
    created = create_analysis(client, owner, image_id)
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """A database backend, for tests that make their own platform on it."""
    if request.param == "postgres":
        require_postgres()
    return str(request.param)


@pytest.fixture
def shared(scenes: SharedScenes[Any], backend: str) -> Iterator[Shared[Any]]:
    """The module's scene on the test's database, built once for every test that only reads
    it (its module defines ``scenes``); fails a test that wrote into it."""
    found = scenes.get(backend)
    yield found
    scenes.check_unchanged(backend)
