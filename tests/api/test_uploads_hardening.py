"""Uploads and files at rest under attack: decode memory, files left behind, blob answers,
file modes and oversized bodies (issue 16)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Account, upload
from trapline.api.app import create_app
from trapline.db.engine import Database
from trapline.imaging import limits as decode_limits
from trapline.imaging.limits import DecodeLimits
from trapline.imaging.synthetic import flat_png
from trapline.settings import Settings

MIB = 1024 * 1024


def blob_files(settings: Settings) -> list[str]:
    """Every file in the local blob store, as keys."""
    root = settings.data_dir / "blobs"
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


@pytest.fixture
def client_with(settings: Settings, app_db: Database) -> Iterator[Callable[..., TestClient]]:
    """``client_with(max_decode_bytes=...)``: another app on the same database and files."""
    clients: list[TestClient] = []

    def make(**changes: object) -> TestClient:
        test_client = TestClient(create_app(settings.model_copy(update=changes), db=app_db))
        clients.append(test_client.__enter__())
        return test_client

    yield make
    for test_client in clients:
        test_client.__exit__(None, None, None)


# Decoded memory


def test_small_pngs_of_huge_pixels_are_refused_unread(
    client: TestClient, settings: Settings, owner: Account, project_id: int
) -> None:
    # The example: ~1 MB files of 9,400 x 9,400 RGBA, 353 MB each once decoded.
    files = [(f"huge-{n}.png", flat_png(9400, 9400, (n, 90, 160, 255))) for n in range(4)]
    body = upload(client, owner, project_id, *files)
    assert body["status"] == 413
    assert body["code"] == "image_too_large"
    assert body["detail"].startswith('"huge-0.png" is too large to decode: its 9400 x 9400')
    assert "save it as a baseline JPEG" in body["detail"]
    assert blob_files(settings) == []


def test_a_large_thumbnail_made_on_demand_is_bounded_too(
    client: TestClient,
    client_with: Callable[..., TestClient],
    owner: Account,
    project_id: int,
) -> None:
    # 2,100 x 2,100 RGBA: 17 MiB decoded, under the default budget, over a 16 MiB one.
    data = flat_png(2100, 2100, (200, 10, 10, 255))
    image_id = upload(client, owner, project_id, ("red.png", data))["results"][0]["id"]
    small = client_with(max_decode_bytes=16 * MIB)
    url = f"/api/v2/images/{image_id}/thumbnail"
    # Made on upload: served without decoding.
    assert small.get(f"{url}?size=256", headers=owner.headers).status_code == 200
    refused = small.get(f"{url}?size=1024", headers=owner.headers)
    assert refused.status_code == 413
    assert refused.json()["detail"].startswith("The stored file is too large to decode")
    assert client.get(f"{url}?size=1024", headers=owner.headers).status_code == 200


def test_decodes_share_the_process_slots(
    client_with: Callable[..., TestClient],
    owner: Account,
    project_id: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    one_slot = client_with(max_concurrent_decodes=1)
    first = upload(one_slot, owner, project_id, ("a.png", flat_png(1200, 900, (1, 2, 3))))
    image_id = first["results"][0]["id"]
    thumbnail = f"/api/v2/images/{image_id}/thumbnail?size=1024"
    monkeypatch.setattr(decode_limits, "SLOT_WAIT_SECONDS", 0)  # give up at once, not in 2 min
    with DecodeLimits(concurrent=1).slot():  # every decode slot of a one-slot process taken
        busy = upload(one_slot, owner, project_id, ("b.png", flat_png(64, 64, (4, 5, 6))))
        assert busy["status"] == 503
        assert busy["code"] == "busy"
        waited = one_slot.get(thumbnail, headers=owner.headers)
        assert waited.status_code == 503
        assert waited.headers["retry-after"] == "5"
    assert (
        upload(one_slot, owner, project_id, ("b.png", flat_png(64, 64, (4, 5, 6))))["status"] == 201
    )
    assert one_slot.get(thumbnail, headers=owner.headers).status_code == 200
