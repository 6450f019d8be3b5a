"""The pull-source pages, driven in-process by signed-in people: add through the form, errors
next to their fields, roles, foreign sources, CSRF, escaping, run now and a run's failures.

The station is a real HTTP server on loopback that lists two photos and fails to serve one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.accounts import Account
from tests.support.app_client import AppClient
from tests.support.settings import make_settings
from tests.support.source_servers import Station, http_serving
from tests.support.web import Browser
from trapline.imaging.synthetic import light_trap_jpeg
from trapline.settings import Settings

#: Seconds a run may take before a test gives up waiting for it.
RUN_WAIT = 60.0
#: The photo the station serves; the other file it lists answers 500.
PHOTO = light_trap_jpeg(5, width=96, height=64)


@pytest.fixture
def settings(request: pytest.FixtureRequest, tmp_path: Path, database_url: str) -> Settings:
    """Loopback allowed (the station listens there) and one folder open to local sources."""
    (tmp_path / "stations").mkdir()
    return make_settings(
        request,
        tmp_path,
        database_url,
        outbound_allow_networks="127.0.0.0/8",
        sources_local_roots=str(tmp_path / "stations"),
        sources_timeout=10.0,
    )


class _Station(Station):
    """A camera station: an nginx-style JSON listing of two photos, one of them broken."""

    def do_GET(self) -> None:
        if self.path == "/photos/":
            listing = [
                {"name": "a.jpg", "type": "file", "mtime": "Fri, 21 Jun 2024", "size": len(PHOTO)},
                {"name": "b.jpg", "type": "file", "mtime": "Fri, 21 Jun 2024", "size": 10},
            ]
            self.answer(200, json.dumps(listing).encode(), "application/json")
        elif self.path == "/photos/a.jpg":
            self.answer(200, PHOTO, "image/jpeg")
        else:
            self.answer(500, b"the disk is full", "text/plain")


@pytest.fixture
def station() -> Iterator[str]:
    """The URL of the station's photo folder, served while the test runs."""
    with http_serving(_Station) as server:
        yield f"{server}photos/"


def _form(**fields: str) -> dict[str, str]:
    """A source form as a browser posts it: the defaults the page fills in, then ``fields``."""
    form = {
        "name": "Trap 1 station",
        "kind": "http_directory",
        "url": "",
        "include": "*.jpg *.jpeg",
        "exclude": "",
        "depth": "0",
        "schedule": "0 * * * *",
        "max_files": "1000",
        "pipeline": "",
        "deployment_id": "",
        "enabled": "on",
    }
    form.update(fields)
    return form


def _add(browser: Browser, project_id: int, **fields: str) -> Any:
    """Post the add form on the project's sources page."""
    page = f"/projects/{project_id}/sources"
    return browser.post(page, _form(**fields), csrf_from=page)


def _made(answer: Any) -> int:
    """The id of the source a successful form made (the page it was sent to)."""
    assert answer.status_code == 303, answer.text[:1000]
    found = re.fullmatch(r"/sources/(\d+)", answer.headers["location"])
    assert found, answer.headers["location"]
    return int(found.group(1))


def _wait_for_run(browser: Browser, source_id: int) -> str:
    """The source page once its newest run has ended."""
    assert browser.platform.sources.wait_idle(RUN_WAIT), f"the run went on past {RUN_WAIT}s"
    page = browser.page(f"/sources/{source_id}")
    statuses = re.findall(r'class="status status-(\w+)"', page)
    assert statuses, "the page shows no run"
    assert statuses[0] not in ("queued", "running"), statuses[0]
    return page


def test_a_manager_adds_a_source_runs_it_and_reads_its_failures(
    sign_in: Callable[[Account], Browser],
    owner: Account,
    project_id: int,
    client: AppClient,
    station: str,
) -> None:
    browser = sign_in(owner)
    listing = browser.page(f"/projects/{project_id}/sources")
    assert "No pull source yet." in listing
    assert 'id="source-form"' in listing
    source_id = _made(_add(browser, project_id, url=station, schedule="*/15 * * * *"))
    api = client.get(f"/api/v2/sources/{source_id}", headers=owner.headers).json()
    assert (api["name"], api["url"], api["schedule"]) == ("Trap 1 station", station, "*/15 * * * *")
    assert api["include"] == ["*.jpg", "*.jpeg"]
    page = browser.page(f"/sources/{source_id}")
    assert "No run yet." in page
    assert "Run now" in page

    ran = browser.post(f"/sources/{source_id}/run", {}, csrf_from=f"/sources/{source_id}")
    assert ran.status_code == 303  # type: ignore[attr-defined]
    page = _wait_for_run(browser, source_id)
    runs = client.get(f"/api/v2/sources/{source_id}/runs", headers=owner.headers).json()
    assert runs["count"] == 1
    run = runs["results"][0]
    assert (run["listed"], run["new"], run["imported"], run["failed"]) == (2, 2, 1, 1)
    assert run["trigger"] == "manual"
    # "Run now" leads to the run's page, whose script follows the run's progress.
    assert ran.headers["location"].endswith(f"/sources/{source_id}/runs/{run['id']}")  # type: ignore[attr-defined]
    progress = browser.client.get(f"/sources/{source_id}/runs/{run['id']}/progress")
    assert progress.status_code == 200
    assert progress.json() == {
        "status": "succeeded",
        "final": True,
        "listed": 2,
        "new": 2,
        "imported": 1,
        "duplicates": 0,
        "failed": 1,
        "skipped": 0,
    }
    assert f'href="/sources/{source_id}/runs/{run["id"]}"' in page
    row = re.search(rf'<tr id="run-{run["id"]}"(.*?)>.*?</tr>', page, re.S)
    assert row
    assert row.group(1) == ""  # an ended run is not followed
    numbers = re.findall(r'<td class="num" data-field="(\w+)">(\d+)</td>', row.group(0))
    assert numbers == [
        ("listed", "2"), ("new", "2"), ("imported", "1"), ("duplicates", "0"), ("failed", "1")
    ]  # fmt: skip

    run_page = browser.page(f"/sources/{source_id}/runs/{run['id']}")
    assert "b.jpg" in run_page
    assert "answered 500" in run_page
    assert "a.jpg" not in run_page  # imported, not a failure

    listing = browser.page(f"/projects/{project_id}/sources")
    assert f'href="/sources/{source_id}"' in listing
    assert re.search(rf'href="/sources/{source_id}/runs/{run["id"]}"><span class="status', listing)


def test_form_errors_are_shown_next_to_their_fields(
    sign_in: Callable[[Account], Browser],
    owner: Account,
    project_id: int,
    client: AppClient,
    tmp_path: Path,
) -> None:
    browser = sign_in(owner)
    other = client.post("/api/v2/projects/", json={"name": "Other"}, headers=owner.headers)
    foreign_deployment = client.post(
        f"/api/v2/projects/{other.json()['id']}/deployments",
        json={"name": "Elsewhere"},
        headers=owner.headers,
    ).json()["id"]
    cases = [
        ({"schedule": "every hour"}, "schedule", "cron expression"),
        ({"schedule": "61 * * * *"}, "schedule", "cron expression"),
        ({"kind": "gopher"}, "kind", "kind must be one of"),
        ({"url": "ftp://x/"}, "url", "http and https"),
        ({"url": ""}, "url", "url is required"),
        ({"kind": "s3", "url": "s3://bucket/cams"}, "credentials", "need credentials"),
        ({"kind": "s3", "url": "bucket/cams", "access_key_id": "a", "secret_access_key": "b"},
         "url", "s3://bucket/prefix"),
        ({"url": "http://169.254.169.254/latest/"}, "url", "a link-local address"),
        ({"url": "http://10.1.2.3/photos/"}, "url", "a private address"),
        ({"kind": "s3", "url": "s3://b/p", "endpoint_url": "http://192.168.1.5:9000",
          "access_key_id": "a", "secret_access_key": "b"}, "endpoint_url", "a private address"),
        ({"kind": "local", "url": "/etc"}, "url", "not under a folder local sources may read"),
        ({"url": "http://127.0.0.1:9/", "username": "cam"}, "credentials", "needs both"),
        ({"url": "http://127.0.0.1:9/", "access_key_id": "k"}, "credentials", "take these"),
        ({"depth": "deep"}, "depth", "a whole number from 0 to 10"),
        ({"depth": "11"}, "depth", "a whole number from 0 to 10"),
        ({"max_files": "0"}, "max_files", "from 1 to 10,000"),
        ({"include": "x" * 201}, "include", "at most 200 characters"),
        ({"exclude": " ".join(["*.raw"] * 51)}, "exclude", "at most 50 items"),
        ({"name": "   "}, "name", "name is required"),
        ({"pipeline": "nope"}, "pipeline", "is not registered"),
        ({"deployment_id": str(foreign_deployment)}, "deployment_id", "is not in project"),
        ({"deployment_id": "x"}, "deployment_id", "a whole number"),
    ]  # fmt: skip
    for fields, field, words in cases:
        fields.setdefault("url", "http://127.0.0.1:9/photos/")
        answer = _add(browser, project_id, **fields)
        text = answer.text  # type: ignore[attr-defined]
        assert answer.status_code == 400, (fields, answer.status_code, text[:300])  # type: ignore[attr-defined]
        shown = re.search(rf'<p class="error" id="{field}-error" role="alert">([^<]*)</p>', text)
        assert shown, (fields, field, re.findall(r'id="(\w+)-error"', text))
        assert words in shown.group(1).replace("&#39;", "'"), (fields, shown.group(1))
        assert 'aria-invalid="true"' in text
        if "name" not in fields:
            assert 'value="Trap 1 station"' in text  # what was typed stays in the form
    listed = client.get(f"/api/v2/projects/{project_id}/sources", headers=owner.headers).json()
    assert listed["count"] == 0


def test_credentials_are_never_shown_only_whether_they_are_set(
    sign_in: Callable[[Account], Browser], owner: Account, project_id: int, client: AppClient
) -> None:
    browser = sign_in(owner)
    secret = "s3cret-only-typed-once"
    source_id = _made(
        _add(
            browser, project_id, kind="s3", url="s3://camera-drop/trap-1",
            access_key_id="AKIAEXAMPLEKEY", secret_access_key=secret,
        )
    )  # fmt: skip
    page = browser.page(f"/sources/{source_id}")
    for shown in (page, browser.page(f"/projects/{project_id}/sources")):
        assert secret not in shown
        assert "AKIAEXAMPLEKEY" not in shown
    assert "secret_access_key: set" in page
    assert "access_key_id: set" in page

    # Saving the settings with the credential fields left empty keeps the stored ones.
    settings = _form(kind="s3", url="s3://camera-drop/trap-1", name="Renamed drop", depth="2")
    saved = browser.post(f"/sources/{source_id}", settings, csrf_from=f"/sources/{source_id}")
    assert saved.status_code == 303, saved.text[:500]  # type: ignore[attr-defined]
    api = client.get(f"/api/v2/sources/{source_id}", headers=owner.headers).json()
    assert (api["name"], api["depth"]) == ("Renamed drop", 2)
    assert api["credentials"] == {"access_key_id": True, "secret_access_key": True}

    # Removing them is refused for a kind that needs them, next to the credentials.
    refused = browser.post(
        f"/sources/{source_id}", {**settings, "clear_credentials": "on"}, csrf_from="/projects"
    )
    assert refused.status_code == 400  # type: ignore[attr-defined]
    assert 'id="credentials-error"' in refused.text  # type: ignore[attr-defined]
    assert secret not in refused.text  # type: ignore[attr-defined]

    # Pointing it at another bucket without typing credentials again is refused, next to them.
    elsewhere = {**settings, "url": "s3://someone-elses-drop/trap-1"}
    moved = browser.post(f"/sources/{source_id}", elsewhere, csrf_from="/projects")
    assert moved.status_code == 400  # type: ignore[attr-defined]
    assert 'id="credentials-error"' in moved.text  # type: ignore[attr-defined]
    assert "give the credentials again" in moved.text  # type: ignore[attr-defined]
    api = client.get(f"/api/v2/sources/{source_id}", headers=owner.headers).json()
    assert api["url"] == "s3://camera-drop/trap-1"
    typed = {**elsewhere, "access_key_id": "AKIAOTHER", "secret_access_key": "other"}
    taken = browser.post(f"/sources/{source_id}", typed, csrf_from="/projects")
    assert taken.status_code == 303, taken.text[:500]  # type: ignore[attr-defined]


def test_pause_resume_and_delete_after_confirming(
    sign_in: Callable[[Account], Browser],
    owner: Account,
    project_id: int,
    client: AppClient,
    tmp_path: Path,
) -> None:
    browser = sign_in(owner)
    folder = tmp_path / "stations" / "trap-1"
    folder.mkdir()
    source_id = _made(_add(browser, project_id, kind="local", url=str(folder)))
    path = f"/sources/{source_id}"

    assert browser.post(f"{path}/disable", {}).status_code == 303  # type: ignore[attr-defined]
    assert client.get(f"/api/v2{path}", headers=owner.headers).json()["enabled"] is False
    page = browser.page(path)
    assert "none while paused" in page
    assert "Resume the schedule" in page
    assert "paused" in browser.page(f"/projects/{project_id}/sources")
    assert browser.post(f"{path}/enable", {}).status_code == 303  # type: ignore[attr-defined]
    assert client.get(f"/api/v2{path}", headers=owner.headers).json()["enabled"] is True

    confirm = browser.page(f"{path}/delete")
    assert "the images it imported stay" in confirm
    assert client.get(f"/api/v2{path}", headers=owner.headers).status_code == 200
    gone = browser.post(f"{path}/delete", {})
    assert gone.status_code == 303  # type: ignore[attr-defined]
    assert gone.headers["location"] == f"/projects/{project_id}/sources"  # type: ignore[attr-defined]
    assert client.get(f"/api/v2{path}", headers=owner.headers).status_code == 404
    browser.page(path, status=404)


def test_members_see_sources_but_no_controls_and_are_refused(
    sign_in: Callable[[Account], Browser],
    owner: Account,
    make_account: Callable[..., Account],
    project_id: int,
    client: AppClient,
    station: str,
) -> None:
    source_id = _made(_add(sign_in(owner), project_id, url=station))
    run = client.post(f"/api/v2/sources/{source_id}/run", headers=owner.headers).json()
    for name, role in (("mia", "member"), ("vic", "viewer")):
        person = make_account(name)
        added = client.post(
            f"/api/v2/projects/{project_id}/members",
            json={"email": person.email, "role": role},
            headers=owner.headers,
        )
        assert added.status_code in (200, 201), added.text
        browser = sign_in(person)
        listing = browser.page(f"/projects/{project_id}/sources")
        assert "Trap 1 station" in listing
        assert "New source" not in listing
        assert 'id="source-form"' not in listing
        page = browser.page(f"/sources/{source_id}")
        assert "Trap 1 station" in page
        for control in ("Run now", "Pause the schedule", "Delete…", 'id="source-form"', "Save"):
            assert control not in page, (role, control)
        browser.page(f"/sources/{source_id}/runs/{run['id']}")
        for path, data in (
            (f"/sources/{source_id}/run", {}),
            (f"/sources/{source_id}/disable", {}),
            (f"/sources/{source_id}/delete", {}),
            (f"/sources/{source_id}", _form(url=station, name="Taken over")),
            (f"/projects/{project_id}/sources", _form(url=station)),
        ):
            refused = browser.post(path, data)
            assert refused.status_code == 403, (role, path)  # type: ignore[attr-defined]
        browser.page(f"/sources/{source_id}/delete", status=403)
    runs = client.get(f"/api/v2/sources/{source_id}/runs", headers=owner.headers).json()
    assert runs["count"] == 1
    api = client.get(f"/api/v2/sources/{source_id}", headers=owner.headers).json()
    assert api["name"] == "Trap 1 station"
    assert api["enabled"] is True


def test_foreign_source_pages_answer_like_missing_ones(
    sign_in: Callable[[Account], Browser],
    owner: Account,
    make_account: Callable[..., Account],
    project_id: int,
    client: AppClient,
    station: str,
) -> None:
    source_id = _made(_add(sign_in(owner), project_id, url=station))
    run = client.post(f"/api/v2/sources/{source_id}/run", headers=owner.headers).json()
    stranger = sign_in(make_account("stranger"))
    real = {"p": project_id, "s": source_id, "r": run["id"]}
    missing = {"p": 10**9, "s": 10**9 + 1, "r": 10**9 + 2}
    scrub = re.compile(r"\d+")
    for template in (
        "/projects/{p}/sources",
        "/sources/{s}",
        "/sources/{s}/runs/{r}",
        "/sources/{s}/runs/{r}/progress",
        "/sources/{s}/delete",
    ):
        foreign = stranger.client.get(template.format(**real))
        absent = stranger.client.get(template.format(**missing))
        assert foreign.status_code == absent.status_code == 404, template
        assert scrub.sub("N", foreign.text) == scrub.sub("N", absent.text), template
    for template in ("/sources/{s}/run", "/sources/{s}/delete", "/projects/{p}/sources"):
        foreign = stranger.post(template.format(**real), _form(url=station))
        absent = stranger.post(template.format(**missing), _form(url=station))
        assert foreign.status_code == absent.status_code == 404, template  # type: ignore[attr-defined]
    # A run of another source is not found under this one.
    other = _made(_add(sign_in(owner), project_id, url=station, name="Second"))
    sign_in(owner).page(f"/sources/{other}/runs/{run['id']}", status=404)
    assert client.get(f"/api/v2/sources/{source_id}", headers=owner.headers).status_code == 200


def test_csrf_is_required_and_names_are_inert(
    sign_in: Callable[[Account], Browser], owner: Account, project_id: int, client: AppClient
) -> None:
    browser = sign_in(owner)
    evil = '<script>alert(1)</script><img src=x onerror=alert(2)>"'
    source_id = _made(_add(browser, project_id, url="http://127.0.0.1:9/photos/", name=evil))
    for path in (f"/projects/{project_id}/sources", f"/sources/{source_id}"):
        page = browser.page(path)
        assert "<script>alert(1)" not in page
        assert "<img src=x" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page

    for path in (
        f"/projects/{project_id}/sources",
        f"/sources/{source_id}",
        f"/sources/{source_id}/run",
        f"/sources/{source_id}/disable",
        f"/sources/{source_id}/delete",
    ):
        forged = browser.client.post(
            path, data=_form(url="http://127.0.0.1:9/", name="forged"), follow_redirects=False
        )
        assert forged.status_code == 403, path
        assert "security token" in forged.text
    listed = client.get(f"/api/v2/projects/{project_id}/sources", headers=owner.headers).json()
    assert [(s["name"], s["enabled"]) for s in listed["results"]] == [(evil, True)]
    runs = client.get(f"/api/v2/sources/{source_id}/runs", headers=owner.headers).json()
    assert runs["count"] == 0
