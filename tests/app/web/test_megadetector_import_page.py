"""Importing MegaDetector results from the web app: the form calls the API's import service and
the page says what matched (photos, detections, the events that hold them) and what did not
(each unmatched file with its reason); a bad file is named on the form (not JSON, not
MegaDetector output, too large), never a 500; CSRF and project access as on every form."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.support.accounts import Account
from tests.support.app_client import AppClient
from tests.support.protocol_client import Protocol
from tests.support.scenes import API, add_frames, new_deployment, track_all
from tests.support.settings import make_settings
from tests.support.web import Browser
from trapline.exports.megadetector_import import MAX_IMPORT_BYTES, MAX_IMPORT_VALUES
from trapline.settings import Settings


@pytest.fixture
def settings(request: pytest.FixtureRequest, tmp_path: Path, database_url: str) -> Settings:
    """Test settings whose request limit is over an import's, so the page's own check of a
    file's size answers (the server's limit answers first for any body over it)."""
    return make_settings(request, tmp_path, database_url, max_request_bytes=64 * 1024 * 1024)


@pytest.fixture
def proto(
    client: AppClient, owner: Account, project_id: int, jpeg: Callable[..., bytes]
) -> Protocol:
    return Protocol(client, owner, project_id, jpeg)


def _results(names: list[str], *, classes: bool = True) -> dict[str, Any]:
    """MegaDetector output with one animal (a heron, when ``classes``) in each named file."""
    data: dict[str, Any] = {
        "info": {"format_version": "1.4", "detector": "md_v5a.0.0.pt"},
        "detection_categories": {"1": "animal", "2": "person"},
        "images": [
            {
                "file": name,
                "detections": [
                    {
                        "category": "1",
                        "conf": 0.9,
                        "bbox": [0.3 + n / 100, 0.4, 0.2, 0.3],
                        **({"classifications": [["1", 0.8]]} if classes else {}),
                    },
                    {"category": "2", "conf": 0.05, "bbox": [0.1, 0.1, 0.05, 0.1]},
                ],
            }
            for n, name in enumerate(names)
        ],
    }
    if classes:
        data["classification_categories"] = {"1": "Ardea cinerea"}
        data["info"]["classifier"] = "species classifier"
    return data


def _post(
    browser: Browser, project: int, data: bytes | None, *, csrf: bool = True, **fields: str
) -> Any:
    path = f"/projects/{project}/imports/megadetector"
    form = {"csrf": browser.csrf()} if csrf else {}
    files = {"file": ("md.json", data, "application/json")} if data is not None else None
    return browser.client.post(path, data={**form, **fields}, files=files, follow_redirects=False)


def _counts(page: str) -> dict[str, int]:
    found = re.findall(r'<dd data-count="([a-z_]+)">([\d,]+)</dd>', page)
    return {name: int(value.replace(",", "")) for name, value in found}


def _error(page: str, field: str) -> str:
    found = re.search(rf'<p class="error" id="{field}-error" role="alert">(.*?)</p>', page, re.S)
    assert found, page[:3000]
    return html.unescape(found.group(1))


def test_a_member_imports_a_file_and_sees_what_matched_and_what_did_not(
    sign_in: Callable[[Account], Browser], owner: Account, proto: Protocol
) -> None:
    pond = new_deployment(proto)
    add_frames(proto, pond, 3, timedelta(seconds=2), size=(640, 480))
    browser = sign_in(owner)
    p = proto.project_id
    form = browser.page(f"/projects/{p}/imports/megadetector")
    assert 'enctype="multipart/form-data"' in form
    assert f'<option value="{pond}">Pond</option>' in form
    # Linked where a camera-trap person looks: the project, Jobs and Processing pages.
    link = f'href="/projects/{p}/imports/megadetector"'
    for page in (f"/projects/{p}", f"/projects/{p}/jobs", f"/projects/{p}/processing"):
        assert link in browser.page(page), page

    names = [f"Pond/frame-0{n}.jpg" for n in range(3)]
    unmatched = ["Pond/frame-09.jpg", "Elsewhere/IMG_0001.JPG"]
    data = json.dumps(_results(names + unmatched)).encode()
    answer = _post(browser, p, data, threshold="0,1")
    assert answer.status_code == 200, answer.text[:2000]
    page = answer.text
    assert _counts(page) == {
        "images_in_file": 5,
        "matched": 3,
        "analyses_stored": 3,
        "detections_stored": 6,  # the three under the threshold too: shown faint
        "below_threshold": 3,
        "unmatched": 2,
    }
    assert "3 of 5 images in the file matched a photo of the project" in page
    assert 'data-threshold="0.1">0.1 (as given)' in page
    rows = re.findall(r"<tr><td><code>(.*?)</code></td><td>(.*?)</td></tr>", page)
    assert rows == [(name, "no image of the project has this file name") for name in unmatched]
    # The event the photos are in, linked, and its occurrences still to be tracked.
    events = proto.client.get(f"{API}/deployments/{pond}/events", headers=proto.headers).json()
    (event,) = events["results"]
    listed = page.split('id="import-events"', 1)[1].split("</table>", 1)[0]
    assert f'<a href="/events/{event["id"]}">2024-03-01 21:30:00 +03:00</a>' in listed
    assert f'<a href="/deployments/{pond}">Pond</a>' in listed
    assert "being tracked" in listed
    assert "The matched photos are in 1 event (nights or sequences)" in page

    # Tracked in the background: one heron, counted on the species page.
    assert track_all(proto) == 1
    occurrences = proto.client.get(f"{API}/events/{event['id']}/occurrences", headers=proto.headers)
    assert [o["detection_count"] for o in occurrences.json()["results"]] == [3]
    assert "Ardea cinerea" in browser.page(f"/projects/{p}/labels")

    # The same file again stores nothing twice.
    again = _post(browser, p, data, threshold="0.1")
    assert again.status_code == 200
    assert _counts(again.text) | {} == {
        "images_in_file": 5,
        "matched": 3,
        "analyses_stored": 0,
        "detections_stored": 0,
        "already_imported": 3,
        "below_threshold": 3,
        "unmatched": 2,
    }
    assert "tracked" in again.text.split('id="import-events"', 1)[1].split("</table>", 1)[0]
    # The API's answer counts the events too.
    api = proto.client.post(
        f"{API}/projects/{p}/imports/megadetector",
        files={"file": ("md.json", data, "application/json")},
        headers=proto.headers,
    )
    assert api.status_code == 200, api.text
    assert (api.json()["matched"], api.json()["events"]) == (3, 1)


def test_a_bad_file_or_field_is_named_on_the_form(
    sign_in: Callable[[Account], Browser], owner: Account, proto: Protocol
) -> None:
    browser = sign_in(owner)
    p = proto.project_id
    cases: list[tuple[bytes | None, dict[str, str], int, str, str]] = [
        (b"\x89PNG\r\n\x1a\n", {}, 400, "file", "file: the file is not JSON"),
        (b"[1, 2]", {}, 400, "file", "file: the file is not MegaDetector batch output"),
        (
            json.dumps({"detection_categories": {"1": "animal"}}).encode(),
            {},
            400,
            "file",
            "images",
        ),
        (
            b"[" + b"0," * MAX_IMPORT_VALUES + b"0]",
            {},
            413,
            "file",
            f"file: the file holds more than {MAX_IMPORT_VALUES} JSON values",
        ),
        (None, {}, 400, "file", "file: choose a MegaDetector results file (.json)"),
        (b"{}", {"threshold": "2"}, 400, "threshold", "threshold: a number from 0 to 1"),
        (b"{}", {"threshold": "nan"}, 400, "threshold", "threshold: a number from 0 to 1"),
        (b"{}", {"deployment": "x1"}, 400, "deployment", "deployment: an id"),
        (b"{}", {"threshold": "9" * 5000}, 400, "threshold", "(got 5000 characters)"),
        (
            json.dumps(_results(["a.jpg"])).encode(),
            {"deployment": "999999"},
            400,
            "deployment",
            f"deployment 999999 is not in project {p}",
        ),
    ]
    for data, fields, status, field, words in cases:
        answer = _post(browser, p, data, **fields)
        assert answer.status_code == status, (words, answer.status_code, answer.text[:500])
        assert words in _error(answer.text, field), words
        assert f'aria-describedby="{field}-error" aria-invalid="true"' in answer.text
        # What the person typed comes back (as much of it as the field takes).
        if "threshold" in fields:
            assert f'value="{fields["threshold"][:20]}"' in answer.text
            assert "9" * 21 not in answer.text

    # A file over what an import reads is refused by its declared size, before it is read.
    huge = b" " * (MAX_IMPORT_BYTES + 70 * 1024)
    answer = _post(browser, p, huge)
    assert answer.status_code == 413
    assert "file: a MegaDetector file may be at most 24 MB" in _error(answer.text, "file")
    # ...and one just over it, sent without its length, by what is read.
    answer = _post(browser, p, b" " * (MAX_IMPORT_BYTES + 1))
    assert answer.status_code == 413
    assert "a MegaDetector file may be at most 24 MiB" in _error(answer.text, "file")

    # A form without its security token is refused, and nothing is imported.
    refused = _post(browser, p, json.dumps(_results(["a.jpg"])).encode(), csrf=False)
    assert refused.status_code == 403
    assert "security token" in refused.text
    pipelines = proto.client.get(f"{API}/projects/{p}/pipelines/", headers=proto.headers)
    assert not [
        x for x in pipelines.json()["results"] if x["slug"].startswith("megadetector-import")
    ]


def test_a_stranger_finds_nothing_and_a_viewer_imports_nothing(
    sign_in: Callable[[Account], Browser],
    proto: Protocol,
    make_account: Callable[..., Account],
) -> None:
    p = proto.project_id
    data = json.dumps(_results(["a.jpg"])).encode()
    stranger = sign_in(make_account("eve"))
    scrub = re.compile(r"\d+")
    foreign = stranger.client.get(f"/projects/{p}/imports/megadetector")
    absent = stranger.client.get(f"/projects/{10**9}/imports/megadetector")
    assert foreign.status_code == absent.status_code == 404
    assert scrub.sub("N", foreign.text) == scrub.sub("N", absent.text)
    posted = _post(stranger, p, data)
    posted_absent = _post(stranger, 10**9, data)
    assert posted.status_code == posted_absent.status_code == 404
    assert scrub.sub("N", posted.text) == scrub.sub("N", posted_absent.text)

    viewer = make_account("vera")
    proto.add_member(viewer, "viewer")
    seen = sign_in(viewer)
    page = seen.page(f"/projects/{p}/imports/megadetector")
    assert 'name="file"' not in page
    assert "Members of the project import results; you are viewer." in page
    assert _post(seen, p, data).status_code == 403
