"""Bulk identification in the web app, in-process and without script: ticking occurrences on
the identify page and an event's page and identifying them at once, "all on this page", the
identify page grouped by the models' label with a group confirmed in one action, a refused
form coming back as it was sent, and who may do it."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from tests.support.accounts import Account
from tests.support.protocol_client import Protocol
from tests.support.scenes import (
    API,
    TAXA_CSV,
    event_of,
    find_taxon,
    import_taxa,
    six_occurrences,
    species_rows,
)
from tests.support.web import Browser

Scene = tuple[Protocol, Browser, list[int]]
_TICKED = re.compile(
    r'<input type="checkbox" class="tick" name="occurrence_ids" value="(\d+)"[^>]*>'
)


def ticks(html: str) -> dict[int, bool]:
    """Each tick box of a page: its occurrence, and whether it is ticked."""
    return {int(m.group(1)): " checked" in m.group(0) for m in _TICKED.finditer(html)}


def _post(browser: Browser, path: str, data: dict[str, Any]) -> Any:
    return browser.client.post(path, data={"csrf": browser.csrf(), **data}, follow_redirects=False)


@pytest.fixture
def scene(proto: Protocol, sign_in: Callable[[Account], Browser]) -> Scene:
    """Six occurrences of one photo (four animals, two people), the taxa list imported; the
    owner signed in."""
    found = [o["id"] for o in six_occurrences(proto)]
    assert import_taxa(proto, TAXA_CSV).status_code == 200
    return proto, sign_in(proto.account), found


def test_ticked_occurrences_are_identified_at_once_on_the_identify_page(scene: Scene) -> None:
    proto, olive, ids = scene
    queue = f"/projects/{proto.project_id}/identify"
    page = olive.page(queue)
    assert ticks(page) == dict.fromkeys(ids, False)
    assert ticks(olive.page(f"{queue}?select=all")) == dict.fromkeys(ids, True)
    # Refused: nothing ticked; then a taxon of no list. The form comes back as it was sent.
    refused = _post(olive, queue, {"taxon": "Ardea cinerea (species)"})
    assert refused.status_code == 400
    assert "tick the occurrences to identify first" in refused.text
    sent = {"occurrence_ids": ids[:3], "taxon": "Dodo", "comment": "three herons"}
    refused = _post(olive, queue, sent)
    assert refused.status_code == 400
    assert "no taxon of the project&#39;s list is named &#39;Dodo&#39;" in refused.text
    assert ticks(refused.text) == {i: i in ids[:3] for i in ids}
    assert 'value="Dodo"' in refused.text
    assert ">three herons</textarea>" in refused.text
    assert species_rows(proto) == [(None, 6, 6)]

    done = _post(olive, queue, {**sent, "taxon": "Ardea cinerea (species)"})
    assert done.status_code == 303
    assert done.headers["location"] == f"{queue}?identified=3"
    page = olive.page(done.headers["location"])
    assert '<p class="notice" role="status" id="bulk-done">3 occurrences identified.</p>' in page
    assert set(ticks(page)) == set(ids[3:])  # the identified need no look now
    assert species_rows(proto) == [("Ardea cinerea", 3, 3), (None, 3, 3)]
    for occurrence in ids[:3]:
        history = proto.client.get(
            f"{API}/occurrences/{occurrence}/identifications", headers=proto.headers
        ).json()
        assert [(i["taxon"]["scientific_name"], i["comment"]) for i in history] == [
            ("Ardea cinerea", "three herons")
        ]


def test_the_identify_page_grouped_by_label_confirms_a_group_in_one_action(
    scene: Scene,
) -> None:
    proto, olive, ids = scene
    queue = f"/projects/{proto.project_id}/identify"
    page = olive.page(f"{queue}?by=label")
    assert re.findall(r"<h2 id=\"group-\d+-title\">“(\w+)” <span class=\"muted\">(\d+)", page) == [
        ("animal", "4"),
        ("person", "2"),
    ]
    assert "confirm-group" not in page  # no label names a taxon yet
    assert page.count(f'href="/projects/{proto.project_id}/labels">map it</a>') == 2
    mapped = proto.client.post(
        f"{API}/projects/{proto.project_id}/labels",
        json={"label": "animal", "taxon_id": find_taxon(proto, "Aves")},
        headers=proto.headers,
    )
    assert mapped.status_code == 200, mapped.text
    page = olive.page(f"{queue}?by=label")
    form = re.search(
        r'<form method="post" action="[^"]+" class="inline confirm-group">.*?</form>', page, re.S
    )
    assert form, page
    assert "Confirm all 4 as Aves" in form.group(0)
    confirmed = re.findall(r'name="occurrence_ids" value="(\d+)"', form.group(0))
    assert sorted(int(i) for i in confirmed) == ids[:4]
    done = _post(olive, queue, {"occurrence_ids": confirmed, "agree_with": "model", "by": "label"})
    assert done.status_code == 303
    assert done.headers["location"] == f"{queue}?by=label&identified=4"
    assert sorted(species_rows(proto), key=str) == [("Aves", 4, 4), (None, 2, 2)]
    history = proto.client.get(
        f"{API}/occurrences/{ids[0]}/identifications", headers=proto.headers
    ).json()
    assert [(i["taxon"]["scientific_name"], i["agreed_with"]) for i in history] == [
        ("Aves", "model")
    ]
    page = olive.page(f"{queue}?by=label")
    assert re.findall(r"<h2 id=\"group-\d+-title\">“(\w+)”", page) == ["person"]


def test_an_events_ticked_occurrences_are_identified_and_merged_from_one_form(
    scene: Scene,
) -> None:
    proto, olive, ids = scene
    (deployment,) = proto.client.get(
        f"{API}/projects/{proto.project_id}/deployments", headers=proto.headers
    ).json()["results"]
    event = event_of(proto, deployment["id"])
    path = f"/events/{event}"
    assert ticks(olive.page(path)) == dict.fromkeys(ids, False)
    assert ticks(olive.page(f"{path}?select=all")) == dict.fromkeys(ids, True)
    refused = _post(olive, f"{path}/identify", {"occurrence_ids": ids[:2], "taxon": " "})
    assert refused.status_code == 400
    assert "taxon: required" in refused.text
    assert ticks(refused.text) == {i: i in ids[:2] for i in ids}
    done = _post(olive, f"{path}/identify", {"occurrence_ids": ids[:2], "taxon": "Ardea alba"})
    assert done.status_code == 303, done.text
    assert done.headers["location"] == f"{path}?identified=2#occurrences"
    page = olive.page(f"{path}?identified=2")
    assert "2 occurrences identified." in page
    rows = re.findall(r"<td>(Ardea alba)</td>\s*<td>(\w+)</td>", page)
    assert rows == [("Ardea alba", "Olive")] * 2
    # A pipeline picked from the page's menu stays picked after the form.
    counted = proto.client.get(
        f"{API}/projects/{proto.project_id}/counting", headers=proto.headers
    ).json()["pipeline"]
    page = olive.page(f"{path}?pipeline={counted}")
    assert f'<input type="hidden" name="pipeline" value="{counted}">' in page
    done = _post(
        olive, f"{path}/identify",
        {"occurrence_ids": ids[2:3], "taxon": "Aves (class)", "pipeline": counted},
    )  # fmt: skip
    assert done.headers["location"] == f"{path}?pipeline={counted}&identified=1#occurrences"
    # The same boxes merge, with the form's other button.
    merged = _post(olive, f"{path}/merge", {"occurrence_ids": ids[4:]})
    assert merged.status_code == 303
    assert len(ticks(olive.page(path))) == 5


def test_a_stranger_finds_nothing_and_a_viewer_ticks_nothing(
    scene: Scene, make_account: Callable[..., Account], sign_in: Callable[[Account], Browser]
) -> None:
    proto, olive, ids = scene
    (deployment,) = proto.client.get(
        f"{API}/projects/{proto.project_id}/deployments", headers=proto.headers
    ).json()["results"]
    event = event_of(proto, deployment["id"])
    stranger = sign_in(make_account("eve"))
    sent = {"occurrence_ids": ids[:2], "taxon": "Aves"}
    for path, missing in (
        (f"/projects/{proto.project_id}/identify", f"/projects/{10**9}/identify"),
        (f"/events/{event}/identify", f"/events/{10**9}/identify"),
    ):
        foreign, absent = _post(stranger, path, sent), _post(stranger, missing, sent)
        assert foreign.status_code == absent.status_code == 404, path
        scrub = re.compile(r"\d+")
        assert scrub.sub("N", foreign.text) == scrub.sub("N", absent.text), path
    viewer = make_account("vic")
    proto.add_member(viewer, "viewer")
    vic = sign_in(viewer)
    assert ticks(vic.page(f"/projects/{proto.project_id}/identify")) == {}
    assert ticks(vic.page(f"/events/{event}")) == {}
    assert _post(vic, f"/projects/{proto.project_id}/identify", sent).status_code == 403
    # An occurrence of no project of the caller's is named, in the form, as missing.
    refused = _post(olive, f"/projects/{proto.project_id}/identify", {
        "occurrence_ids": [ids[0], 10**12], "taxon": "Aves (class)"
    })  # fmt: skip
    assert refused.status_code == 404
    assert f"occurrences {10**12} not found in project {proto.project_id}" in refused.text
    assert species_rows(proto) == [(None, 6, 6)]
