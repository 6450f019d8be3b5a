"""The decode limits are built once, on the platform, and every decoder goes by them: the
API's and the web app's uploads and thumbnails, pull-source runs (issue 51 item 10)."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from dataclasses import replace

import pytest

from tests.support.accounts import Account, upload
from tests.support.app_client import AppClient
from tests.support.web import Browser
from trapline.db.engine import Database
from trapline.imaging.limits import DecodeLimits
from trapline.imaging.synthetic import flat_png
from trapline.platform import Platform
from trapline.services.photos import images
from trapline.services.photos.images import IncomingFile
from trapline.settings import Settings

MIB = 1024 * 1024
#: Tighter than the settings say (128 MiB): only the platform's own limits refuse ``BIG``.
STRICT = DecodeLimits(max_bytes=16 * MIB)
#: 2,100 x 2,100 RGBA: 17 MiB decoded, under the settings' budget, over ``STRICT``'s.
BIG = flat_png(2100, 2100, (200, 10, 10, 255))


@pytest.fixture
def platform(platform: Platform) -> Platform:
    """The test's platform with decode limits other than its settings give."""
    assert platform.settings.http.max_decode_bytes > STRICT.max_bytes
    return replace(platform, decode=STRICT)


def stored_unchecked(platform: Platform, app_db: Database, owner: Account, project: int) -> int:
    """``BIG`` stored under the default limits, as an import would: an image to thumbnail."""
    with app_db.read() as repos:
        user = repos.core.users.get(owner.id)
    assert user is not None
    done = images.upload_images(
        app_db,
        platform.store,
        user,
        project,
        [IncomingFile("big.png", io.BytesIO(BIG))],
        deployment_id=None,
        max_file_bytes=100 * MIB,
        limits=DecodeLimits(),
    )
    assert done[0].image is not None
    return done[0].image.id


def test_api_uploads_and_thumbnails_decode_within_the_platforms_limits(
    client: AppClient, platform: Platform, app_db: Database, owner: Account, project_id: int
) -> None:
    body = upload(client, owner, project_id, ("big.png", BIG))
    assert body["status"] == 413, body
    assert body["code"] == "image_too_large"
    image = stored_unchecked(platform, app_db, owner, project_id)
    refused = client.get(f"/api/v2/images/{image}/thumbnail?size=1024", headers=owner.headers)
    assert refused.status_code == 413
    assert refused.json()["detail"].startswith("The stored file is too large to decode")


def test_web_uploads_and_thumbnails_decode_within_the_platforms_limits(
    sign_in: Callable[[Account], Browser],
    platform: Platform,
    app_db: Database,
    owner: Account,
    project_id: int,
) -> None:
    browser = sign_in(owner)
    answer = browser.client.post(
        f"/projects/{project_id}/upload",
        files=[("files", ("big.png", io.BytesIO(BIG), "image/png"))],
        headers={"x-csrf-token": browser.csrf()},
    )
    assert answer.status_code == 413, answer.text
    assert "big.png&#34; is too large to decode" in answer.text
    image = stored_unchecked(platform, app_db, owner, project_id)
    refused = browser.client.get(f"/images/{image}/thumb?size=1024", follow_redirects=False)
    assert refused.status_code == 413, refused.text


@pytest.fixture
def built(settings: Settings, app_db: Database) -> Iterator[Platform]:
    """A platform as ``from_settings`` builds it."""
    platform = Platform.from_settings(settings, db=app_db)
    yield platform
    platform.close()


def test_pull_sources_decode_within_the_platforms_limits(built: Platform) -> None:
    assert built.decode == DecodeLimits(
        built.settings.http.max_decode_bytes, built.settings.http.max_concurrent_decodes
    )
    assert built.sources.limits.decode is built.decode
