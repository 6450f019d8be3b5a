"""Names typed or pasted on the taxa page, in-process: each name the list has is matched to
its taxon (its rank and parent kept), the others are added at the rank chosen, under their
genus when the list has it; a list with a refused line adds nothing and keeps what was typed;
its limits are a taxa file's; only the list's managers add to it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.accounts import Account
from tests.support.protocol_client import Protocol
from tests.support.scenes import API, TAXA_CSV, import_taxa
from tests.support.settings import make_settings
from tests.support.web import Browser, table
from trapline.domain.taxa.taxa_rows import MAX_TAXA_BYTES, MAX_TAXA_ROWS
from trapline.settings import Settings


@pytest.fixture
def settings(request: pytest.FixtureRequest, tmp_path: Path, database_url: str) -> Settings:
    """Requests large enough for a list over a taxa file's limit to reach the page."""
    return make_settings(request, tmp_path, database_url, max_request_bytes=48 * 1024 * 1024)


def _send(browser: Browser, project: int, names: str, rank: str = "species") -> Any:
    """The form as a browser posts it (multipart, as its enctype says)."""
    return browser.client.post(
        f"/projects/{project}/taxa/names",
        files={"csrf": (None, browser.csrf()), "names": (None, names), "rank": (None, rank)},
        follow_redirects=False,
    )


def _listed(proto: Protocol) -> dict[str, tuple[str, str | None]]:
    """The list's taxa: name → (rank, parent's name)."""
    found = proto.client.get(
        f"{API}/projects/{proto.project_id}/taxa", params={"limit": 500}, headers=proto.headers
    ).json()["results"]
    names = {t["id"]: t["scientific_name"] for t in found}
    return {t["scientific_name"]: (t["rank"], names.get(t["parent_id"])) for t in found}


def test_typed_names_are_matched_or_added(
    proto: Protocol, sign_in: Callable[[Account], Browser]
) -> None:
    assert import_taxa(proto, TAXA_CSV).status_code == 200
    browser = sign_in(proto.account)
    p = proto.project_id
    page = browser.page(f"/projects/{p}/taxa")
    assert f'action="/projects/{p}/taxa/names"' in page
    assert '<option value="species" selected>' in page

    typed = (
        "ardea cinerea\r\n\r\n  Ardea alba  \r\nArdea purpurea\r\nEgretta\r\n"
        "Egretta garzetta\r\nAves (class)\r\nNycticorax (genus)\r\n"
    )
    answer = _send(browser, p, typed)
    assert answer.status_code == 200, answer.text[-2000:]
    assert [r[:3] for r in table(answer.text, "outcomes")] == [
        ["1", "Ardea cinerea", "matched"],
        ["3", "Ardea alba", "matched"],
        ["4", "Ardea purpurea", "added"],
        ["5", "Egretta", "added"],
        ["6", "Egretta garzetta", "added"],
        ["7", "Aves", "matched"],
        ["8", "Nycticorax", "added"],
    ]
    assert "3 matched to the list, 4 added." in answer.text
    listed = _listed(proto)
    assert listed["Ardea cinerea"] == ("species", "Ardea")  # kept as it was
    assert listed["Ardea purpurea"] == ("species", "Ardea")  # under its genus
    assert listed["Egretta"] == ("species", None)  # the rank asked for, as typed
    assert listed["Egretta garzetta"] == ("species", None)  # Egretta is no genus here
    assert listed["Nycticorax"] == ("genus", None)  # its line's rank

    # A new species under a genus the same list adds.
    again = _send(browser, p, "Bubulcus (genus)\nBubulcus ibis\nArdea purpurea", "species")
    assert again.status_code == 200, again.text[-2000:]
    assert [r[2] for r in table(again.text, "outcomes")] == ["added", "added", "matched"]
    assert _listed(proto)["Bubulcus ibis"] == ("species", "Bubulcus")
    # New names at another rank.
    families = _send(browser, p, "Threskiornithidae\nCiconiidae", "family")
    assert families.status_code == 200
    assert _listed(proto)["Ciconiidae"] == ("family", None)


def test_a_list_with_a_refused_line_adds_nothing(
    proto: Protocol, sign_in: Callable[[Account], Browser]
) -> None:
    assert import_taxa(proto, TAXA_CSV).status_code == 200
    subgenus = "scientific_name,rank,parent,parent_rank\nArdea,subgenus,Ardea,genus\n"
    assert import_taxa(proto, subgenus).status_code == 200
    browser = sign_in(proto.account)
    p = proto.project_id
    before = _listed(proto)
    typed = "Ardea alba\nPlatalea leucorodia\n=HYPERLINK(1)\nArdea\nPlatalea leucorodia\n" + (
        "Ciconia " + "x" * 300
    )
    refused = _send(browser, p, typed)
    assert refused.status_code == 400
    assert "Nothing added" in refused.text
    assert "4 of 6 lines have problems" in refused.text
    outcomes = table(refused.text, "outcomes")
    assert [r[:3] for r in outcomes] == [
        ["1", "Ardea alba", "matched"],
        ["2", "Platalea leucorodia", "added"],
        ["3", "=HYPERLINK(1)", "refused"],
        ["4", "Ardea", "refused"],
        ["5", "Platalea leucorodia", "refused"],
        ["6", "Ciconia " + "x" * 247, "refused"],
    ]
    assert "formula" in outcomes[2][3]
    assert "add the rank in brackets, as Ardea (genus)" in outcomes[3][3]
    assert "given twice: line 2" in outcomes[4][3]
    assert "at most 255" in outcomes[5][3]
    assert "Platalea leucorodia" in refused.text.split('id="t-names"')[1].split("</textarea>")[0]
    assert _listed(proto) == before

    # Limits and empty lists, beside the field.
    for names, status, words in (
        ("\n \n", 400, "names: type or paste one name a line"),
        ("Ardea\n" * (MAX_TAXA_ROWS + 1), 400, "more than 250,000 names"),
        ("A" * (MAX_TAXA_BYTES + 10), 400, "at most 32 MB"),
    ):
        answer = _send(browser, p, names)
        assert answer.status_code == status, (words, answer.status_code)
        assert 'id="names-error"' in answer.text, words
        assert words in answer.text, words
    bad_rank = _send(browser, p, "Ciconia", "clade")
    assert bad_rank.status_code == 400
    assert 'id="rank-error"' in bad_rank.text
    assert "rank: one of kingdom" in bad_rank.text
    huge = _send(browser, p, "A" * (MAX_TAXA_BYTES + 2 * 1024 * 1024))
    assert huge.status_code == 413
    assert "the list may be at most 32 MB" in huge.text
    assert _listed(proto) == before


def test_only_the_lists_managers_add_names(
    proto: Protocol,
    sign_in: Callable[[Account], Browser],
    make_account: Callable[..., Account],
) -> None:
    assert import_taxa(proto, TAXA_CSV).status_code == 200
    p = proto.project_id
    member = make_account("member")
    added = proto.client.post(
        f"{API}/projects/{p}/members",
        json={"email": member.email, "role": "member"},
        headers=proto.headers,
    )
    assert added.status_code in (200, 201), added.text
    as_member = sign_in(member)
    assert 'id="type-names"' not in as_member.page(f"/projects/{p}/taxa")
    refused = _send(as_member, p, "Ciconia ciconia")
    assert refused.status_code == 403
    stranger = sign_in(make_account("stranger"))
    assert _send(stranger, p, "Ciconia ciconia").status_code == 404
    assert _send(stranger, 999_999, "Ciconia ciconia").status_code == 404
    assert "Ciconia ciconia" not in _listed(proto)
    # No token, no names.
    forged = as_member.client.post(
        f"/projects/{p}/taxa/names",
        files={"names": (None, "Ciconia ciconia"), "rank": (None, "species")},
        follow_redirects=False,
    )
    assert forged.status_code == 403
