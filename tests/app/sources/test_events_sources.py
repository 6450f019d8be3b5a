"""Photos a pull source brings into a deployment fall into events as they arrive."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.photos import photo
from trapline.db.engine import Database
from trapline.domain.core.event_rules import ProjectKind
from trapline.platform import Platform
from trapline.services.core import users
from trapline.services.photos import deployments, projects
from trapline.services.sources import sources


@pytest.mark.parametrize("site", ["local"], indirect=True)
def test_pulled_photos_fall_into_events(site: Any, platform: Platform, app_db: Database) -> None:
    manager = users.create_user(app_db, None, "mia@example.org", "Mia", is_admin=False)
    project = projects.create_project(
        app_db, manager, "Garden camera", "", kind=ProjectKind.CAMERA_TRAP
    ).id
    trap = deployments.create_deployment(app_db, manager, project, name="Trap").id
    # A camera trap groups by sequence. Times from the file names: two photos 30 s apart, a
    # third an hour later.
    site.put("20240621220000.jpg", photo(1))
    site.put("20240621220030.jpg", photo(2))
    site.put("20240621230000.jpg", photo(3))
    made = sources.create_source(
        platform.db,
        platform.sources.rules,
        manager,
        project,
        name="trap 1",
        kind=site.kind,
        url=site.url,
        endpoint_url=None,
        deployment_id=trap,
        pipeline=None,
        credentials=None,
        depth=1,
    )
    run = platform.sources.run_source(made.id)
    assert run is not None
    assert run.imported == 3, run
    with app_db.read() as repos:
        total, found = repos.ecology.events.page(trap, limit=10, offset=0)
    assert total == 2
    assert [e.image_count for e in found] == [2, 1]
