"""The developers' real camera-trap and moth-trap photos, pulled from nginx like a station's
folder of nights; skipped where ``../shared/data`` is not beside the checkout."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.support.source_servers import nginx_server
from trapline.db.engine import Database
from trapline.domain.core.paging import ImageOrder
from trapline.domain.core.records import ImageFilter
from trapline.domain.sources.sources import RunStatus
from trapline.platform import Platform
from trapline.services.core import users
from trapline.services.photos import projects
from trapline.services.sources import sources

ROOT = Path(__file__).resolve().parents[3]
CANDIDATES = [ROOT.parent / "shared" / "data", ROOT.parent.parent / "shared" / "data"]
SHARED = next((c for c in CANDIDATES if c.is_dir()), None)

pytestmark = [
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
    pytest.mark.skipif(SHARED is None, reason="../shared/data (the real photos) is not here"),
]


def test_real_photos_pulled_from_nginx_become_images(
    platform: Platform, app_db: Database, tmp_path: Path
) -> None:
    assert SHARED is not None
    photos = sorted(p for p in SHARED.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    assert photos, f"no photos under {SHARED}"
    root = tmp_path / "station"
    for n, photo in enumerate(photos):
        night = root / f"night-{n % 3}"
        night.mkdir(parents=True, exist_ok=True)
        shutil.copy(photo, night / photo.name)
    manager = users.create_user(app_db, None, "mia@example.org", "Mia", is_admin=False)
    project = projects.create_project(app_db, manager, "real", "")
    with nginx_server(root, tmp_path / "nginx") as port:
        source = sources.create_source(
            platform.db, platform.sources.rules, manager, project.id, name="station",
            kind="http_directory", url=f"http://127.0.0.1:{port}/json/", depth=1,
        )  # fmt: skip
        run = platform.sources.run_source(source.id)
    assert run is not None
    assert run.status is RunStatus.SUCCEEDED, run
    assert run.imported + run.duplicates == len(photos)
    with app_db.read() as repos:
        images, _ = repos.photos.images.page(
            project.id, ImageFilter(), order=ImageOrder.ID, limit=100, offset=0
        )
    by_name = {i.filename.split("/", 1)[1]: i for i in images}
    for photo in photos:
        image = by_name.get(photo.name)
        if image is None:
            continue  # the same bytes under another name: one image
        assert image.width > 0
        assert image.source == "pull"
    dated = [i for i in images if any(c.isdigit() for c in i.filename.split("/")[-1][:14])]
    assert any(i.captured_at is not None for i in dated)
