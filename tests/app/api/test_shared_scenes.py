"""The shared scenes' own check (tests/support/shared_scenes.py): a test that only reads a
shared scene passes it, one that writes into it is failed naming the table it changed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.protocol_client import Protocol, api_get
from tests.support.scenes import new_deployment
from tests.support.shared_scenes import Shared, SharedScenes, shared_scenes


def _one_deployment(proto: Protocol) -> int:
    return new_deployment(proto, "Pond")


@pytest.fixture(scope="module")
def scenes(request: pytest.FixtureRequest) -> Iterator[SharedScenes[int]]:
    yield from shared_scenes(request, _one_deployment)


def test_reads_leave_the_scene_as_built(scenes: SharedScenes[int], backend: str) -> None:
    shared: Shared[int] = scenes.get(backend)
    proto = shared.proto
    assert api_get(proto, f"/deployments/{shared.scene}")["name"] == "Pond"
    shared.browser().page(f"/projects/{proto.project_id}")
    scenes.check_unchanged(backend)


def test_a_write_is_named(scenes: SharedScenes[int], backend: str) -> None:
    shared: Shared[int] = scenes.get(backend)
    proto = shared.proto
    renamed = proto.client.patch(
        f"/api/v2/deployments/{shared.scene}", json={"name": "Lake"}, headers=proto.headers
    )
    assert renamed.status_code == 200, renamed.text
    try:
        with pytest.raises(
            AssertionError, match=r"wrote into the shared scene \(tables deployments\)"
        ):
            scenes.check_unchanged(backend)
    finally:
        proto.client.patch(
            f"/api/v2/deployments/{shared.scene}", json={"name": "Pond"}, headers=proto.headers
        )
    scenes.check_unchanged(backend)
