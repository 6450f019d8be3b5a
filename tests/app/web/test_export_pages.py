"""The export pages, driven in-process by signed-in people: start one through the form, watch
it end, download it; errors next to their fields, roles, foreign exports, CSRF, escaping."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from typing import Any

import pytest

from tests.support.accounts import Account, upload
from tests.support.app_client import AppClient
from tests.support.web import Browser

#: Seconds an export of a few images may take before a test gives up waiting for it.
EXPORT_WAIT = 60.0
#: A deployment's name that would be markup if it were not escaped.
EVIL = '<script>alert(1)</script><img src=x onerror=alert(2)>"'


@pytest.fixture
def project(
    client: AppClient, owner: Account, project_id: int, jpeg: Callable[..., bytes]
) -> dict[str, int]:
    """The owner's project: a deployment with a name full of markup and two of its images."""
    deployment = client.post(
        f"/api/v2/projects/{project_id}/deployments", json={"name": EVIL}, headers=owner.headers
    ).json()["id"]
    files = [(f"2024062{n}220000.jpg", jpeg(n)) for n in range(2)]
    body = upload(client, owner, project_id, *files, deployment_id=str(deployment))
    assert body["status"] == 201, body
    return {"p": project_id, "d": deployment}


def _start(browser: Browser, project_id: int, **fields: str) -> Any:
    """Post the export form on the project's exports page."""
    page = f"/projects/{project_id}/exports"
    form = {"format": "csv", "deployment_id": "", "date_from": "", "date_to": "", **fields}
    return browser.post(page, form, csrf_from=page)


def _newest_export(client: AppClient, account: Account, project_id: int) -> dict[str, Any]:
    """The project's newest export, as the API gives it."""
    listed = client.get(f"/api/v2/projects/{project_id}/exports", headers=account.headers).json()
    assert listed["count"] >= 1
    return dict(listed["results"][0])


def _wait(browser: Browser, export_id: int) -> dict[str, Any]:
    """The export's progress, as the page's script reads it, once the export has ended."""
    assert browser.platform.exports.wait_idle(EXPORT_WAIT), f"export {export_id} went on"
    answer = browser.client.get(f"/exports/{export_id}/progress")
    assert answer.status_code == 200, answer.text
    progress = dict(answer.json())
    assert progress["final"], progress
    return progress


def test_an_export_started_on_the_page_completes_and_downloads(
    sign_in: Callable[[Account], Browser],
    owner: Account,
    project: dict[str, int],
    client: AppClient,
) -> None:
    browser = sign_in(owner)
    listing = browser.page("/projects/{p}/exports".format(**project))
    assert "No export yet." in listing
    assert 'id="start-export"' in listing
    started = _start(browser, project["p"], deployment_id=str(project["d"]), include_empty="on")
    assert started.status_code == 303, started.text[:500]  # type: ignore[attr-defined]
    assert started.headers["location"] == "/projects/{p}/exports".format(**project)  # type: ignore[attr-defined]
    export = _newest_export(client, owner, project["p"])
    assert export["format"] == "csv"
    assert export["filters"] == {"deployment_id": project["d"], "include_empty": True}

    progress = _wait(browser, export["id"])
    assert progress["status"] == "succeeded", progress
    assert progress["percent"] == 100
    assert progress["download"] == f"/exports/{export['id']}/download"

    listing = browser.page("/projects/{p}/exports".format(**project))
    row = re.search(r'<tr class="export-item">.*?</tr>', listing, re.S)
    assert row, listing
    assert "status-succeeded" in row.group(0)
    assert f'<a class="download" href="/exports/{export["id"]}/download">' in row.group(0)
    assert "cancel-export" not in row.group(0)  # it has ended
    assert '<span data-field="rows">2</span> rows' in row.group(0)
    assert "include empty" in row.group(0)
    page = browser.page(f"/exports/{export['id']}")
    assert "status-succeeded" in page
    assert f"trapline-project{project['p']}-export{export['id']}.csv" in page

    redirect = browser.client.get(f"/exports/{export['id']}/download", follow_redirects=False)
    assert redirect.status_code == 303
    api = client.get(
        f"/api/v2/exports/{export['id']}/download", headers=owner.headers, follow_redirects=False
    )
    target = redirect.headers["location"]
    assert target.split("?")[0] == api.headers["location"].split("?")[0]  # the same signed link
    blob = AppClient(client.app).get(target)  # no session, no token: the link is signed
    assert blob.status_code == 200, blob.text
    rows = list(csv.DictReader(io.StringIO(blob.content.decode("utf-8-sig"))))
    assert sorted(r["file_name"] for r in rows) == ["20240620220000.jpg", "20240621220000.jpg"]
    tampered = AppClient(client.app).get(target.replace("sig=", "sig=0"))
    assert tampered.status_code == 403

    # Delete asks first; the confirmation posts the delete.
    assert f'href="/exports/{export["id"]}/delete"' in page
    confirm = browser.page(f"/exports/{export['id']}/delete")
    assert f'action="/exports/{export["id"]}/delete"' in confirm
    assert "it can be exported again" in confirm
    deleted = browser.post(
        f"/exports/{export['id']}/delete", {}, csrf_from=f"/exports/{export['id']}/delete"
    )
    assert deleted.status_code == 303  # type: ignore[attr-defined]
    gone = client.get(f"/api/v2/exports/{export['id']}", headers=owner.headers)
    assert gone.status_code == 404


def test_form_errors_are_shown_next_to_their_fields(
    sign_in: Callable[[Account], Browser],
    owner: Account,
    project: dict[str, int],
    client: AppClient,
) -> None:
    browser = sign_in(owner)
    other = client.post("/api/v2/projects/", json={"name": "Other"}, headers=owner.headers)
    foreign_deployment = client.post(
        f"/api/v2/projects/{other.json()['id']}/deployments",
        json={"name": "Elsewhere"},
        headers=owner.headers,
    ).json()["id"]
    cases = [
        ({"format": "pdf"}, "format", "format:"),
        ({"format": ""}, "format", "format is required"),
        ({"min_confidence": "2"}, "min_confidence", "a number from 0 to 1"),
        ({"min_confidence": "high"}, "min_confidence", "a number from 0 to 1"),
        ({"date_from": "2024-06-30", "date_to": "2024-06-01"}, "date_to", "is after date_to"),
        ({"date_from": "2024-13-45"}, "date_from", "date_from:"),
        ({"deployment_id": str(foreign_deployment)}, "deployment_id", "is not in project"),
        ({"collection_id": "999999"}, "collection_id", "collection 999999 is not in project"),
        ({"job_id": "abc"}, "job_id", "a whole number"),
        ({"job_id": "999999"}, "job_id", "job 999999 is not in project"),
        ({"pipeline": "nope"}, "pipeline", "has no pipeline 'nope'"),
        ({"pipeline_version": "3"}, "pipeline_version", "needs pipeline"),
    ]
    for fields, field, words in cases:
        answer = _start(browser, project["p"], **fields)
        text = answer.text  # type: ignore[attr-defined]
        assert answer.status_code == 400, (fields, answer.status_code, text[:300])  # type: ignore[attr-defined]
        shown = re.search(rf'<p class="error" id="{field}-error" role="alert">([^<]*)</p>', text)
        assert shown, (fields, field, re.findall(r'id="(\w+)-error"', text))
        assert words in shown.group(1).replace("&#39;", "'"), (fields, shown.group(1))
        assert 'aria-invalid="true"' in text
    listed = client.get(f"/api/v2/projects/{project['p']}/exports", headers=owner.headers)
    assert listed.json()["count"] == 0


def test_viewers_export_but_only_creators_and_managers_delete(
    sign_in: Callable[[Account], Browser],
    owner: Account,
    make_account: Callable[..., Account],
    project: dict[str, int],
    client: AppClient,
) -> None:
    viewer = make_account("vic")
    added = client.post(
        f"/api/v2/projects/{project['p']}/members",
        json={"email": viewer.email, "role": "viewer"},
        headers=owner.headers,
    )
    assert added.status_code in (200, 201), added.text
    owners = sign_in(owner)
    assert _start(owners, project["p"]).status_code == 303  # type: ignore[attr-defined]
    theirs = _newest_export(client, owner, project["p"])
    viewers = sign_in(viewer)
    assert _start(viewers, project["p"]).status_code == 303  # type: ignore[attr-defined]
    mine = _newest_export(client, viewer, project["p"])
    assert mine["created_by"] == viewer.id
    for export in (theirs, mine):
        _wait(viewers, export["id"])

    listing = viewers.page("/projects/{p}/exports".format(**project))
    assert f'href="/exports/{mine["id"]}/delete"' in listing
    assert f'href="/exports/{theirs["id"]}/delete"' not in listing
    assert f'href="/exports/{theirs["id"]}/download"' in listing  # everyone may download
    assert f'href="/exports/{theirs["id"]}/delete"' not in viewers.page(f"/exports/{theirs['id']}")
    refused = viewers.post(f"/exports/{theirs['id']}/delete", {})
    assert refused.status_code == 403  # type: ignore[attr-defined]
    assert "only its creator or a manager" in refused.text  # type: ignore[attr-defined]
    asking = viewers.client.get(f"/exports/{theirs['id']}/delete")
    assert asking.status_code == 403
    assert "only its creator or a manager" in asking.text
    # The owner (a manager) may delete the viewer's export.
    assert f'href="/exports/{mine["id"]}/delete"' in owners.page(
        "/projects/{p}/exports".format(**project)
    )
    assert owners.post(f"/exports/{mine['id']}/delete", {}).status_code == 303  # type: ignore[attr-defined]
    assert client.get(f"/api/v2/exports/{theirs['id']}", headers=owner.headers).status_code == 200
    assert client.get(f"/api/v2/exports/{mine['id']}", headers=owner.headers).status_code == 404


def test_a_finished_export_cannot_be_canceled(
    sign_in: Callable[[Account], Browser],
    owner: Account,
    project: dict[str, int],
    client: AppClient,
) -> None:
    browser = sign_in(owner)
    assert _start(browser, project["p"]).status_code == 303  # type: ignore[attr-defined]
    export = _newest_export(client, owner, project["p"])
    _wait(browser, export["id"])
    refused = browser.post(f"/exports/{export['id']}/cancel", {})
    assert refused.status_code == 409  # type: ignore[attr-defined]
    assert "only queued or running exports can be canceled" in refused.text  # type: ignore[attr-defined]
    assert "cancel-export" not in browser.page(f"/exports/{export['id']}")


def test_foreign_export_pages_answer_like_missing_ones(
    sign_in: Callable[[Account], Browser],
    owner: Account,
    make_account: Callable[..., Account],
    project: dict[str, int],
    client: AppClient,
) -> None:
    owners = sign_in(owner)
    assert _start(owners, project["p"]).status_code == 303  # type: ignore[attr-defined]
    export = _newest_export(client, owner, project["p"])
    _wait(owners, export["id"])
    stranger = sign_in(make_account("stranger"))
    real = {"p": project["p"], "e": export["id"]}
    missing = {"p": 10**9, "e": 10**9 + 1}
    scrub = re.compile(r"\d+")
    for template in (
        "/projects/{p}/exports",
        "/exports/{e}",
        "/exports/{e}/progress",
        "/exports/{e}/download",
        "/exports/{e}/delete",
    ):
        foreign = stranger.client.get(template.format(**real), follow_redirects=False)
        absent = stranger.client.get(template.format(**missing), follow_redirects=False)
        assert foreign.status_code == absent.status_code == 404, template
        assert scrub.sub("N", foreign.text) == scrub.sub("N", absent.text), template
    for template in ("/projects/{p}/exports", "/exports/{e}/cancel", "/exports/{e}/delete"):
        foreign = stranger.post(template.format(**real), {"format": "csv"})
        absent = stranger.post(template.format(**missing), {"format": "csv"})
        assert foreign.status_code == absent.status_code == 404, template  # type: ignore[attr-defined]
    assert client.get(f"/api/v2/exports/{export['id']}", headers=owner.headers).status_code == 200


def test_csrf_is_required_and_names_are_inert(
    sign_in: Callable[[Account], Browser],
    owner: Account,
    project: dict[str, int],
    client: AppClient,
) -> None:
    browser = sign_in(owner)
    forged = browser.client.post(
        "/projects/{p}/exports".format(**project), data={"format": "csv"}, follow_redirects=False
    )
    assert forged.status_code == 403
    assert "security token" in forged.text
    listed = client.get(f"/api/v2/projects/{project['p']}/exports", headers=owner.headers)
    assert listed.json()["count"] == 0

    assert _start(browser, project["p"], deployment_id=str(project["d"])).status_code == 303  # type: ignore[attr-defined]
    export = _newest_export(client, owner, project["p"])
    for path in (f"/exports/{export['id']}/delete", f"/exports/{export['id']}/cancel"):
        refused = browser.client.post(path, data={}, follow_redirects=False)
        assert refused.status_code == 403, path
    assert client.get(f"/api/v2/exports/{export['id']}", headers=owner.headers).status_code == 200

    for path in ("/projects/{p}/exports".format(**project), f"/exports/{export['id']}"):
        page = browser.page(path)
        assert "<script>alert(1)" not in page
        assert "<img src=x" not in page
        assert "deployment &lt;script&gt;alert(1)&lt;/script&gt;" in page  # the filter, named
