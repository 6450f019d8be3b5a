"""The pages of groups of unknown individuals: a project's groupings and the form that asks for
one, a grouping's page that follows it while it runs and then shows each group as crops with
its size and tightness, naming a group from its form (each individual then a person's
identification), the form's mistakes named beside their fields, and another project's grouping
answered as a missing page; on the nine nights of ``tests/support/refit_scene.py``."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

from tests.support.accounts import Account
from tests.support.protocol import PIPELINE_SLUG
from tests.support.protocol_client import Protocol, api_get
from tests.support.refit_scene import night_scene
from tests.support.unknown_groups import grouped
from tests.support.web import Browser, table


def _ask(browser: Browser, project_id: int, **fields: str) -> object:
    path = f"/projects/{project_id}/groupings"
    data = {"name": "", "features_from": PIPELINE_SLUG, "deployment_id": "", "since": "",
            "until": "", **fields}  # fmt: skip
    return browser.post(path, data, csrf_from=path)


def _error(text: str, field: str) -> str:
    return html.unescape(text[text.index(f'id="{field}-error"') :][:600])


def test_a_grouping_asked_on_the_form_shows_its_groups_and_a_group_is_named(
    sign_in: Callable[[Account], Browser], owner: Account, proto: Protocol
) -> None:
    detections = night_scene(proto)
    browser = sign_in(owner)
    listing = browser.page(f"/projects/{proto.project_id}/groupings")
    assert "No grouping yet." in listing
    assert f'<option value="{PIPELINE_SLUG}">{PIPELINE_SLUG}</option>' in listing
    refits = browser.page(f"/projects/{proto.project_id}/classifiers")
    assert f'href="/projects/{proto.project_id}/groupings" id="groupings-link"' in refits

    answer = _ask(browser, proto.project_id, name="Sheet unknowns")

    assert answer.status_code == 303, answer.text  # type: ignore[attr-defined]
    where = answer.headers["location"]  # type: ignore[attr-defined]
    grouping = int(where.rsplit("/", 1)[1])
    grouped(proto, grouping)
    page = browser.page(where)
    assert 'data-final="true"' in page
    assert "2 groups, 1 individuals ungrouped" in page
    for number in (1, 2):
        facts = html.unescape(page[page.index(f'id="group-{number}"') :][:700])
        words = re.sub(r"<[^>]+>", "", facts)
        assert re.search(r"4 individuals, tightness 0\.[7-9]\d, 4 still unidentified", words), words
    assert page.count('src="/annotations/') == 9  # every individual's crop: 4 + 4 + 1
    for box in detections:
        assert f'src="/annotations/{box}/crop"' in page
    assert 'id="ungrouped"' in page
    listed = table(browser.page(f"/projects/{proto.project_id}/groupings"), "groupings")
    assert listed[0][:4] == ["Sheet unknowns", "done", "9", "2"]

    named = browser.post(
        f"/groupings/{grouping}/groups/1/identify",
        {"taxon": "Ardea cinerea", "comment": "seen together"},
        csrf_from=where,
    )

    assert named.status_code == 303, named.text  # type: ignore[attr-defined]
    assert named.headers["location"] == f"/groupings/{grouping}?named=4#group-1"  # type: ignore[attr-defined]
    after = browser.page(f"/groupings/{grouping}?named=4")
    assert "4 individuals identified." in after
    assert 'id="name-group-1"' not in after  # nothing left to name
    found = api_get(proto, f"/groupings/{grouping}")
    for member in found["groups"][0]["sample"]:
        occurrence = api_get(proto, f"/occurrences/{member['occurrence_id']}")
        assert occurrence["determination"] == {
            "label": "Ardea cinerea", "score": None, "by": "person", "rejected": None,
        }  # fmt: skip


def test_the_forms_mistakes_are_named_beside_their_fields(
    sign_in: Callable[[Account], Browser], owner: Account, proto: Protocol
) -> None:
    night_scene(proto)
    browser = sign_in(owner)
    answer = _ask(browser, proto.project_id, since="2024-03-05", until="2024-03-01")
    assert answer.status_code == 400  # type: ignore[attr-defined]
    assert "until: 2024-03-01 is before since (2024-03-05)" in _error(answer.text, "until")  # type: ignore[attr-defined]
    answer = _ask(browser, proto.project_id, since="2024-03-20", name="Later")
    assert answer.status_code == 400  # type: ignore[attr-defined]
    text = answer.text  # type: ignore[attr-defined]
    assert "grouping needs at least 3 unidentified individuals" in _error(text, "features_from")
    assert 'value="Later"' in text
    done = _ask(browser, proto.project_id)
    where = done.headers["location"]  # type: ignore[attr-defined]
    grouped(proto, int(where.rsplit("/", 1)[1]))
    wrong = browser.post(f"{where}/groups/1/identify", {"taxon": "Nothing at all"}, csrf_from=where)
    assert wrong.status_code == 400  # type: ignore[attr-defined]
    said = _error(wrong.text, "group-1-taxon")  # type: ignore[attr-defined]
    assert "no taxon of the project's list is named 'Nothing at all'" in said
    assert 'value="Nothing at all"' in wrong.text  # type: ignore[attr-defined]


def test_another_projects_grouping_is_a_missing_page(
    sign_in: Callable[[Account], Browser],
    owner: Account,
    proto: Protocol,
    make_account: Callable[..., Account],
) -> None:
    night_scene(proto)
    browser = sign_in(owner)
    where = _ask(browser, proto.project_id).headers["location"]  # type: ignore[attr-defined]
    grouping = int(where.rsplit("/", 1)[1])
    grouped(proto, grouping)
    stranger = sign_in(make_account("eve"))
    assert stranger.client.get(where).status_code == 404
    assert stranger.client.get(f"/groupings/{10**12}").status_code == 404
    assert stranger.client.get(f"{where}/progress").status_code == 404
    assert stranger.client.get(f"/projects/{proto.project_id}/groupings").status_code == 404
