"""A deployment whose photos' results are of two versions of its pipeline (MegaDetector v5a on
ten frames, v5b on five of them): every page that counts, the grid and every counting export
say so, naming the versions and the photos each holds; a pinned version, or a file that lists
results rather than counts, says nothing of it."""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections import Counter
from collections.abc import Callable
from typing import Any

from tests.support.accounts import Account
from tests.support.exports import Seeded
from tests.support.protocol_client import Protocol, api_get
from tests.support.scenes import API, event_of, heron_in_two_versions
from tests.support.web import Browser

SAID = "version 2 on 5 of 10 photos, version 1 on 5"


def _five_of_v5b(proto: Protocol) -> tuple[int, str, str]:
    """The heron's ten frames from v5a, five of them again from v5b, tracked: the deployment,
    the pipeline it counts by and the line that states what it counts."""
    pond, slug = heron_in_two_versions(proto)
    return pond, slug, f"Pond: {slug} ({SAID})"


def _zipped(seeded: Seeded, **body: Any) -> tuple[dict[str, Any], zipfile.ZipFile]:
    """An export's record, and its file."""
    made = seeded.export(**body)
    return made, zipfile.ZipFile(io.BytesIO(seeded.download(made["id"])))


def test_mixed_versions_are_named_on_the_counting_pages_and_the_grid(
    proto: Protocol, sign_in: Callable[[Account], Browser]
) -> None:
    pond, slug, line = _five_of_v5b(proto)
    counting = api_get(proto, f"/projects/{proto.project_id}/counting")
    assert counting["mixed_versions"] == [line]
    (listed,) = counting["deployments"]
    assert (listed["versions"]["said"], listed["versions"]["mixed"]) == (SAID, True)
    browser = sign_in(proto.account)
    for path in (f"/projects/{proto.project_id}/species", f"/events/{event_of(proto, pond)}"):
        page = browser.page(path)
        note = re.search(r'<p id="mixed-versions"[^>]*>(.*?)</p>', page, re.S)
        assert note is not None, path
        assert f"Versions are mixed: {line}." in note.group(1)
        assert f'href="/projects/{proto.project_id}/jobs"' in note.group(1)
    assert f'<span class="mixed-versions">({SAID})</span>' in browser.page(
        f"/projects/{proto.project_id}"
    )
    grid = browser.page(f"/projects/{proto.project_id}/images")
    made = Counter(re.findall(r'<span class="muted made-by">· ([^<]+)</span>', grid))
    assert made == {f"{slug} v2": 5, f"{slug} v1": 5}


def test_a_pinned_version_is_one_version_and_says_nothing_mixed(
    proto: Protocol, sign_in: Callable[[Account], Browser]
) -> None:
    _, slug, _ = _five_of_v5b(proto)
    pinned = proto.client.put(
        f"{API}/projects/{proto.project_id}/pinned-pipelines/{slug}",
        json={"version": 1},
        headers=proto.headers,
    )
    assert pinned.status_code == 204, pinned.text
    assert api_get(proto, f"/projects/{proto.project_id}/counting")["mixed_versions"] == []
    browser = sign_in(proto.account)
    assert "mixed-versions" not in browser.page(f"/projects/{proto.project_id}/species")
    grid = browser.page(f"/projects/{proto.project_id}/images")
    made = Counter(re.findall(r'<span class="muted made-by">· ([^<]+)</span>', grid))
    assert made == {f"{slug} v1": 10}


def test_counting_exports_state_what_they_count_and_listing_exports_do_not(
    proto: Protocol, sign_in: Callable[[Account], Browser]
) -> None:
    pond, slug, line = _five_of_v5b(proto)
    seeded = Seeded(proto, proto.project_id, {"Pond": pond}, {}, {})
    shown, archive = _zipped(seeded, format="dwca")
    assert shown["counted"] == [line]
    eml = archive.read("eml.xml").decode()
    methods = re.search(r"<methods>.*</methods>", eml, re.S)
    assert methods is not None
    assert f"<para>{line}</para>" in methods.group(0)
    assert eml.index("</contact>") < eml.index("<methods>")  # where EML's schema places it
    page = sign_in(proto.account).page(f"/exports/{shown['id']}")
    assert re.search(rf'<ul id="counted"><li>{re.escape(line)}</li></ul>', page)

    shown, package = _zipped(seeded, format="camtrap-dp", observation_level="event")
    described = json.loads(package.read("datapackage.json"))["description"]
    assert described.endswith(f"\n\n- {line}")
    assert shown["counted"] == [line]

    assert seeded.export(format="record-table")["counted"] == [line]
    assert seeded.export(format="csv")["counted"] == []  # a row per result, each named
    filtered = seeded.export(format="occurrences-csv", pipeline=slug)
    assert filtered["counted"] == [f"every deployment: {slug}, as filtered"]
