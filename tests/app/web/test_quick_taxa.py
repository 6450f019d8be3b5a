"""Quick taxa on the identify forms: the taxa a person named most recently in the project,
newest first, each once, at most six, as plain submit buttons carrying the taxon's id on the
occurrence's page, an event's bulk form and the identify page (its bulk form and each label
group); one click identifies through the forms' own POST. Only the person's own, only the
project's, none for a viewer or for one who named nothing."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from tests.support.accounts import Account
from tests.support.protocol_client import Protocol, api_get, api_post
from tests.support.scenes import (
    API,
    TAXA_CSV,
    event_of,
    find_taxon,
    import_taxa,
    six_occurrences,
)
from tests.support.web import Browser

_QUICK = re.compile(
    r'<button type="submit" name="taxon_id" value="(\d+)"[^>]*id="([\w-]+)-quick-\1"[^>]*>'
    r"<i>([^<]+)</i></button>"
)


def quick(html: str) -> dict[str, list[str]]:
    """The quick buttons of a page by the form they submit: the taxa they name, in order."""
    found: dict[str, list[str]] = {}
    for _, form, name in _QUICK.findall(html):
        found.setdefault(form, []).append(name)
    return found


def _post(browser: Browser, path: str, data: dict[str, Any]) -> Any:
    return browser.client.post(path, data={"csrf": browser.csrf(), **data}, follow_redirects=False)


def _name(proto: Protocol, occurrence: int, taxon: str) -> int:
    """Identify an occurrence through the API as the caller; the identification's id."""
    made = api_post(
        proto, f"/occurrences/{occurrence}/identifications",
        {"taxon_id": find_taxon(proto, taxon)}, 201,
    )  # fmt: skip
    return int(made["id"])


def _history(proto: Protocol, occurrence: int) -> list[tuple[str, str]]:
    found = api_get(proto, f"/occurrences/{occurrence}/identifications")
    return [(i["taxon"]["scientific_name"], i["user"]) for i in found if not i["withdrawn"]]


@pytest.fixture
def scene(proto: Protocol) -> tuple[Protocol, list[int], int]:
    """Six occurrences of one photo, the taxa list imported: the occurrences and the event."""
    found = [o["id"] for o in six_occurrences(proto)]
    assert import_taxa(proto, TAXA_CSV).status_code == 200
    (deployment,) = api_get(proto, f"/projects/{proto.project_id}/deployments")["results"]
    return proto, found, event_of(proto, deployment["id"])


def test_the_forms_offer_the_persons_latest_distinct_taxa_of_the_project_newest_first(
    scene: tuple[Protocol, list[int], int],
    make_account: Callable[..., Account],
    sign_in: Callable[[Account], Browser],
) -> None:
    proto, ids, event = scene
    olive = sign_in(proto.account)
    queue = f"/projects/{proto.project_id}/identify"
    pages = (f"/occurrences/{ids[0]}", f"/events/{event}", queue)
    # One who named nothing sees no buttons.
    assert [quick(olive.page(p)) for p in pages] == [{}, {}, {}]

    # Named on the first two only: the others stay in the identify page's label groups.
    for n, taxon in enumerate(("Animalia", "Chordata", "Aves", "Pelecaniformes", "Ardeidae",
                               "Ardea", "Ardea cinerea")):  # fmt: skip
        _name(proto, ids[n % 2], taxon)
    _name(proto, ids[1], "Aves")  # named again: it moves to the front, listed once
    withdrawn = _name(proto, ids[0], "Ardea alba")
    api_post(proto, f"/identifications/{withdrawn}/withdraw", {})
    # Another member's names are theirs.
    mia_account = make_account("mia")
    proto.add_member(mia_account, "member")
    mia = proto.as_(mia_account)
    _name(mia, ids[0], "Ardea alba")
    # The owner's names in another project (counting under the same list) are that project's.
    other = proto.in_project(api_post(proto, "/projects", {"name": "Other"}, 201)["id"])
    taxa_list = api_get(proto, f"/projects/{proto.project_id}/taxa-list")["id"]
    shared = proto.client.put(
        f"{API}/projects/{other.project_id}/taxa-list",
        json={"taxa_list_id": taxa_list}, headers=proto.headers,
    )  # fmt: skip
    assert shared.status_code == 200, shared.text
    _name(other, six_occurrences(other, "Marsh")[0]["id"], "Ardea alba")

    latest = ["Aves", "Ardea cinerea", "Ardea", "Ardeidae", "Pelecaniformes", "Chordata"]
    assert quick(olive.page(pages[0])) == {"identify": latest}
    assert quick(olive.page(pages[1])) == {"occurrence-actions": latest}
    assert quick(olive.page(queue)) == {"bulk-identify": latest}
    by_label = quick(olive.page(f"{queue}?by=label"))
    assert by_label == {"bulk-identify": latest, "group-1": latest, "group-2": latest}
    assert quick(sign_in(mia_account).page(pages[0])) == {"identify": ["Ardea alba"]}
    # A viewer, who cannot identify, sees none.
    viewer = make_account("vic")
    proto.add_member(viewer, "viewer")
    vic = sign_in(viewer)
    assert [quick(vic.page(p)) for p in pages] == [{}, {}, {}]


def test_one_click_identifies_through_the_forms_own_post(
    scene: tuple[Protocol, list[int], int],
    make_account: Callable[..., Account],
    sign_in: Callable[[Account], Browser],
) -> None:
    proto, ids, event = scene
    olive = sign_in(proto.account)
    _name(proto, ids[0], "Ardea alba")
    alba = find_taxon(proto, "Ardea alba")
    # The occurrence's page: the button's taxon, whatever the picker holds.
    done = _post(olive, f"/occurrences/{ids[1]}/identify", {"taxon_id": alba, "taxon": "Dodo"})
    assert done.status_code == 303, done.text
    assert _history(proto, ids[1]) == [("Ardea alba", "Olive")]
    # An event's form and the identify page's, for the ticked.
    done = _post(olive, f"/events/{event}/identify", {"occurrence_ids": ids[2:4], "taxon_id": alba})
    assert done.headers["location"] == f"/events/{event}?identified=2#occurrences"
    queue = f"/projects/{proto.project_id}/identify"
    done = _post(olive, queue, {"occurrence_ids": ids[4:], "taxon_id": alba, "by": "label"})
    assert done.headers["location"] == f"{queue}?by=label&identified=2"
    assert all(_history(proto, i) == [("Ardea alba", "Olive")] for i in ids)
    # A bad id is the person's mistake, said in the form; a taxon of no list of the project too.
    refused = _post(olive, f"/occurrences/{ids[1]}/identify", {"taxon_id": "abc"})
    assert refused.status_code == 400
    assert "taxon_id: an id (got &#39;abc&#39;)" in refused.text
    refused = _post(
        olive, f"/events/{event}/identify", {"occurrence_ids": ids[:1], "taxon_id": 10**9}
    )
    assert refused.status_code == 400
    assert f"taxon_id: {10**9} is not a taxon of the project&#39;s taxa list" in refused.text
    # A viewer's click is refused as their picker's would be; a stranger finds nothing.
    viewer = make_account("vic")
    proto.add_member(viewer, "viewer")
    vic = sign_in(viewer)
    assert _post(vic, f"/occurrences/{ids[1]}/identify", {"taxon_id": alba}).status_code == 403
    stranger = sign_in(make_account("eve"))
    foreign = _post(stranger, f"/occurrences/{ids[1]}/identify", {"taxon_id": alba})
    absent = _post(stranger, f"/occurrences/{10**9}/identify", {"taxon_id": alba})
    assert foreign.status_code == absent.status_code == 404
    assert len(_history(proto, ids[1])) == 1
