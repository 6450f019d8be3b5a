"""What a run takes, over every kind of source: the same tests against each real server.

Runs here go through the platform's own runner on SQLite (scheduling on PostgreSQL is
test_scheduling.py). The retry backoff is zero so a file that failed is due on the next run.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any
from unittest.mock import patch

import pytest

from tests.support.photos import photo
from tests.support.source_servers import FolderSite
from trapline.background.sources import SourceRunner
from trapline.db.engine import Database
from trapline.domain.core.records import User
from trapline.domain.sources.sources import ItemStatus, RetryPolicy, RunStatus, SourceRun
from trapline.platform import Platform
from trapline.services.core import users
from trapline.services.photos import projects
from trapline.services.sources import sources
from trapline.services.sources.source_ingest import SourceIngest
from trapline.sources.base import MAX_KEY

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

NO_WAIT = RetryPolicy(max_attempts=3, first_delay=timedelta(0), max_delay=timedelta(0))


@pytest.fixture
def manager(app_db: Database) -> User:
    return users.create_user(app_db, None, "mia@example.org", "Mia", is_admin=False)


@pytest.fixture
def project(app_db: Database, manager: User) -> int:
    return projects.create_project(app_db, manager, "Garden moths", "").id


@pytest.fixture
def runner(platform: Platform) -> SourceRunner:
    platform.sources.limits = dataclasses.replace(platform.sources.limits, retry=NO_WAIT)
    return platform.sources


def add_source(platform: Platform, manager: User, project: int, site: Any, **values: Any) -> int:
    values.setdefault("depth", 2)
    made = sources.create_source(
        platform.db,
        platform.sources.rules,
        manager,
        project,
        name="trap 1",
        kind=site.kind,
        url=site.url,
        endpoint_url=getattr(site, "endpoint", None),
        deployment_id=None,
        pipeline=None,
        credentials=dict(site.credentials) or None,
        **values,
    )
    return made.id


def counts(run: SourceRun | None) -> dict[str, int]:
    assert run is not None
    return {
        k: getattr(run, k)
        for k in ("listed", "new", "imported", "duplicates", "failed", "skipped")
        if getattr(run, k)
    }


def image_names(platform: Platform, project: int) -> list[str]:
    with platform.db.read() as repos:
        found, _ = repos.photos.images.page(
            project, _filter(), order=_order(), limit=1000, offset=0
        )
    return sorted(i.filename for i in found)


def _filter() -> Any:
    from trapline.domain.core.records import ImageFilter

    return ImageFilter()


def _order() -> Any:
    from trapline.domain.core.paging import ImageOrder

    return ImageOrder.ID


def test_new_files_between_runs_and_nested_folders(
    site: Any, platform: Platform, manager: User, project: int, runner: SourceRunner
) -> None:
    site.put("20240621220000.jpg", photo(1))
    site.put("night-2/20240622220000.jpg", photo(2))
    site.put("night-2/notes.txt", b"not taken")
    source = add_source(platform, manager, project, site)
    first = runner.run_source(source)
    assert first is not None
    assert first.status is RunStatus.SUCCEEDED, first
    assert counts(first) == {"listed": 2, "new": 2, "imported": 2}
    again = runner.run_source(source)
    assert counts(again) == {"listed": 2}
    site.put("night-3/20240623220000.jpg", photo(3))
    third = runner.run_source(source)
    assert counts(third) == {"listed": 3, "new": 1, "imported": 1}
    assert image_names(platform, project) == [
        "20240621220000.jpg",
        "night-2/20240622220000.jpg",
        "night-3/20240623220000.jpg",
    ]
    with platform.db.read() as repos:
        [image] = [
            i
            for i in repos.photos.images.page(
                project, _filter(), order=_order(), limit=10, offset=0
            )[0]
            if i.filename.startswith("night-3")
        ]
    assert image.source == "pull"
    assert image.captured_at is not None
    assert image.captured_at.day == 23


def test_a_file_that_sorts_before_the_last_one_seen_is_taken(
    site: Any, platform: Platform, manager: User, project: int, runner: SourceRunner
) -> None:
    site.put("m.jpg", photo(1))
    source = add_source(platform, manager, project, site)
    runner.run_source(source)
    site.put("a.jpg", photo(2))
    assert counts(runner.run_source(source)) == {"listed": 2, "new": 1, "imported": 1}


def test_reuploaded_content_imports_again_and_same_bytes_are_a_duplicate(
    site: Any, platform: Platform, manager: User, project: int, runner: SourceRunner
) -> None:
    site.put("a.jpg", photo(1))
    site.put("b.jpg", photo(1))  # the same bytes under two names: one image
    source = add_source(platform, manager, project, site)
    assert counts(runner.run_source(source)) == {
        "listed": 2, "new": 2, "imported": 1, "duplicates": 1,
    }  # fmt: skip
    site.put("a.jpg", photo(7))
    assert counts(runner.run_source(source)) == {"listed": 2, "new": 1, "imported": 1}
    assert len(image_names(platform, project)) == 2


def test_a_file_that_fails_is_tried_again_and_then_succeeds(
    site: Any, platform: Platform, manager: User, project: int, runner: SourceRunner
) -> None:
    site.put("a.jpg", photo(1))
    site.put("b.jpg", photo(2))
    source = add_source(platform, manager, project, site)
    with _racing(lambda: site.remove("b.jpg")):
        first = runner.run_source(source)
    assert counts(first) == {"listed": 2, "new": 2, "imported": 1, "failed": 1}
    assert first is not None
    assert first.error
    assert "1 files could not be taken" in first.error
    total, [failure] = sources.run_failures(
        platform.db, manager, source, first.id, limit=10, offset=0
    )
    assert (total, failure.key, failure.status, failure.attempts) == (
        1,
        "b.jpg",
        ItemStatus.FAILED,
        1,
    )
    assert failure.error
    site.put("b.jpg", photo(2))
    assert counts(runner.run_source(source))["imported"] == 1
    assert image_names(platform, project) == ["a.jpg", "b.jpg"]


def test_a_download_cut_short_fails_then_the_next_run_takes_it(
    site: Any, platform: Platform, manager: User, project: int, runner: SourceRunner
) -> None:
    site.put("a.jpg", photo(1))
    source = add_source(platform, manager, project, site)
    with _racing(lambda: site.put("a.jpg", photo(1)[:200])):
        first = runner.run_source(source)
    assert first is not None
    if first.failed == 0:
        pytest.skip(
            "this listing shows no exact size; bodies cut in transit: test_http_directory.py"
        )
    assert counts(first) == {"listed": 1, "new": 1, "failed": 1}
    site.put("a.jpg", photo(1))
    assert counts(runner.run_source(source)) == {"listed": 1, "new": 1, "imported": 1}


def test_files_too_large_or_not_images_are_skipped_until_they_change(
    site: Any, platform: Platform, manager: User, project: int, runner: SourceRunner
) -> None:
    site.put("broken.jpg", b"this is no JPEG at all")
    site.put("big.jpg", photo(3) + b"\0" * 6 * 1024 * 1024)
    source = add_source(platform, manager, project, site)
    assert counts(runner.run_source(source)) == {"listed": 2, "new": 2, "skipped": 2}
    assert counts(runner.run_source(source)) == {"listed": 2}
    site.put("broken.jpg", photo(4))
    assert counts(runner.run_source(source)) == {"listed": 2, "new": 1, "imported": 1}


def test_max_files_leaves_the_rest_for_the_next_run(
    site: Any, platform: Platform, manager: User, project: int, runner: SourceRunner
) -> None:
    for n in range(5):
        site.put(f"{n}.jpg", photo(n))
    source = add_source(platform, manager, project, site, max_files=3)
    assert counts(runner.run_source(source)) == {"listed": 5, "new": 5, "imported": 3}
    assert counts(runner.run_source(source)) == {"listed": 5, "new": 2, "imported": 2}


def test_an_unreachable_source_fails_the_run_with_its_reason(
    site: Any, platform: Platform, manager: User, project: int, runner: SourceRunner
) -> None:
    source = add_source(platform, manager, project, site)
    site.put("a.jpg", photo(1))
    _make_unreachable(platform, source, site)
    run = runner.run_source(source)
    assert run is not None
    assert run.status is RunStatus.FAILED
    assert run.error
    assert any(w in run.error for w in ("connect", "not a folder", "answer"))


def test_wrong_credentials_fail_the_run_saying_so(
    site: Any, platform: Platform, manager: User, project: int, runner: SourceRunner
) -> None:
    if not site.credentials or site.kind == "s3":
        pytest.skip("this site asks for no credentials (moto accepts any S3 key)")
    site.put("a.jpg", photo(1))
    source = add_source(platform, manager, project, site)
    sources.update_source(
        platform.db,
        runner.rules,
        manager,
        source,
        credentials={**site.credentials, "password": "wrong"},
    )
    run = runner.run_source(source)
    assert run is not None
    assert run.status is RunStatus.FAILED
    assert run.error
    assert "credentials" in run.error


@contextmanager
def _racing(between: Callable[[], None]) -> Iterator[None]:
    """Runs meanwhile do ``between`` after the listing and before the downloads (the remote
    side changing while a run goes on)."""
    take = SourceIngest._take

    def racing(self: SourceIngest, *args: Any, **kwargs: Any) -> None:
        between()
        take(self, *args, **kwargs)

    with patch.object(SourceIngest, "_take", racing):
        yield


def _make_unreachable(platform: Platform, source: int, site: Any) -> None:
    """Point the source where nothing answers: a closed port, or a folder that is not there."""
    from tests.support.moto import free_port
    from trapline.db.tables import PullSourceRow

    with platform.db.write() as repos:
        row = repos.session.get(PullSourceRow, source)
        assert row is not None
        if site.kind == "local":
            row.url = row.url.rstrip("/") + "/missing"
        elif site.kind == "s3":
            row.endpoint_url = f"http://127.0.0.1:{free_port()}"
        else:
            scheme, rest = row.url.split("://", 1)
            path = rest.split("/", 1)[1] if "/" in rest else ""
            row.url = f"{scheme}://127.0.0.1:{free_port()}/{path}"


def test_a_local_name_that_is_not_utf8_is_taken_with_its_neighbours(
    tmp_path: Path, platform: Platform, manager: User, project: int, runner: SourceRunner
) -> None:
    """A camera writing Latin-1 names on a Linux share: the name is kept with the byte spelled
    out, the file is read by its own name, and its neighbours are taken as always."""
    root = tmp_path / "card"
    root.mkdir()
    for i in range(2):
        (root / f"good-{i}.jpg").write_bytes(photo(20 + i))
    (root / "1985").mkdir()
    with open(os.path.join(os.fsencode(root / "1985"), b"caf\xe9.jpg"), "wb") as out:
        out.write(photo(30))
    source = add_source(platform, manager, project, FolderSite("local", root, str(root)))
    run = runner.run_source(source)
    assert counts(run) == {"listed": 3, "new": 3, "imported": 3}, run
    assert image_names(platform, project) == ["1985/caf\\xe9.jpg", "good-0.jpg", "good-1.jpg"]
    assert counts(runner.run_source(source)) == {"listed": 3}


def test_a_source_pointed_elsewhere_takes_files_whose_paths_and_versions_it_saw_there(
    tmp_path: Path, platform: Platform, manager: User, project: int, runner: SourceRunner
) -> None:
    """Two cards copied with their times kept: IMG_0001.jpg of the same size and time on each.
    Files are remembered by their path below the source's URL, so the source pointed at the
    second card forgets the first card's and takes the second's."""
    roots = [tmp_path / "trap-1", tmp_path / "trap-2"]
    for root, tail in zip(roots, (b"AAAA", b"BBBB"), strict=True):
        root.mkdir()
        (root / "IMG_0001.jpg").write_bytes(photo(1) + tail)  # after the image's end marker
        os.utime(root / "IMG_0001.jpg", ns=(1_700_000_000_000_000_000,) * 2)
    source = add_source(platform, manager, project, FolderSite("local", roots[0], str(roots[0])))
    assert counts(runner.run_source(source)) == {"listed": 1, "new": 1, "imported": 1}
    sources.update_source(platform.db, runner.rules, manager, source, url=str(roots[1]))
    assert counts(runner.run_source(source)) == {"listed": 1, "new": 1, "imported": 1}
    # Back to the first card: its photo is known by its bytes.
    sources.update_source(platform.db, runner.rules, manager, source, url=str(roots[0]))
    assert counts(runner.run_source(source)) == {"listed": 1, "new": 1, "duplicates": 1}
    assert len(image_names(platform, project)) == 2


def test_a_path_longer_than_a_key_is_taken_under_a_short_key(
    site: Any, platform: Platform, manager: User, project: int, runner: SourceRunner
) -> None:
    """A path longer than a remembered key (``MAX_KEY``): the file is keyed by a digest and its
    path's end, the same on every run, and read by its whole path; its neighbour as always."""
    long = "/".join("d" * 200 + str(i) for i in range(5)) + "/" + "p" * 200 + ".jpg"
    site.put(long, photo(3))
    site.put("short.jpg", photo(4))
    source = add_source(platform, manager, project, site, depth=6)
    assert counts(runner.run_source(source)) == {"listed": 2, "new": 2, "imported": 2}
    assert counts(runner.run_source(source)) == {"listed": 2}
    names = image_names(platform, project)
    assert max(len(n) for n in names) <= MAX_KEY
    assert any(n.endswith("p" * 200 + ".jpg") for n in names)
