"""The evaluation pages: a project's sets and the form that freezes one, a set's page with two
versions scored side by side and their CSV, the scores beside each version on the Processing
page and in the version compare; on the pond scene (``tests/support/evaluation_scene.py``)."""

from __future__ import annotations

import csv
import html
import io
from collections.abc import Callable

import pytest

from tests.support.accounts import Account
from tests.support.evaluation_scene import Pond, new_set, pond, second_version
from tests.support.protocol_client import Protocol
from tests.support.web import Browser, table

#: How the pages show a figure that is not there (a precision where nothing was predicted).
NONE = "\N{EN DASH}"


@pytest.fixture
def scene(proto: Protocol) -> Pond:
    found = pond(proto)
    second_version(proto)
    return found


def _freeze(browser: Browser, project_id: int, **fields: str) -> object:
    path = f"/projects/{project_id}/evaluation"
    data = {"name": "", "deployment_id": "", "since": "", "until": "", "taxa": "", **fields}
    return browser.post(path, data, csrf_from=path)


def test_a_set_frozen_by_the_form_shows_two_versions_side_by_side(
    sign_in: Callable[[Account], Browser], owner: Account, proto: Protocol, scene: Pond
) -> None:
    browser = sign_in(owner)
    listing = browser.page(f"/projects/{proto.project_id}/evaluation")
    assert "No evaluation set yet." in listing
    answer = _freeze(browser, proto.project_id, name="Herons", taxa="Ardea cinerea, Ardea alba")
    assert answer.status_code == 303  # type: ignore[attr-defined]
    where = answer.headers["location"]  # type: ignore[attr-defined]
    page = browser.page(where)
    assert "<strong>4</strong> identified boxes and 3 reviewed ones" in page
    # The newest version by default; two side by side when asked.
    assert table(page, "overall")[1] == ["Identified boxes on photos it ran on", "3 of 4"]
    both = browser.page(f"{where}?a={scene.slug}@1&b={scene.slug}@2")
    overall = {row[0]: row[1:] for row in table(both, "overall")}
    assert overall["Accuracy (top-1)"] == ["0.50", "0.33"]
    assert overall["Accuracy (top-5)"] == ["1.00", "0.67"]
    assert overall["Boxes: precision at IoU 0.5"] == ["0.83", "0.67"]
    assert overall["Boxes: recall at IoU 0.5"] == ["0.83", "0.50"]
    per_taxon = {row[0]: row[1:] for row in table(both, "per-taxon")}
    assert per_taxon["Ardea cinerea"] == ["2", "2", "0.50", "0.50", "2", "0.50", "0.50"]
    assert per_taxon["Ardea alba"] == ["2", "2", "0.50", "0.50", "1", NONE, "0.00"]
    listed = table(browser.page(f"/projects/{proto.project_id}/evaluation"), "evaluation-sets")
    assert listed[0][:3] == ["Herons", "4", "3"]


def test_the_scores_download_as_csv_from_the_page(
    sign_in: Callable[[Account], Browser], owner: Account, proto: Protocol, scene: Pond
) -> None:
    made = new_set(proto, "Pond")
    browser = sign_in(owner)
    page = browser.page(f"/evaluation-sets/{made['id']}?a={scene.slug}@2")
    after = page[page.index("<p>CSV:") :]
    link = html.unescape(after.split('href="')[1].split('"')[0])
    assert link == f"/evaluation-sets/{made['id']}/scores.csv?side={scene.slug}%402"
    answer = browser.client.get(link)
    assert answer.status_code == 200, answer.text
    rows = {r["scientific_name"]: r for r in csv.DictReader(io.StringIO(answer.text))}
    assert (rows["Ardea alba"]["support"], rows["Ardea alba"]["precision"]) == ("1", "")
    assert rows["Ardea alba"]["recall"] == "0.0000"
    confusion = browser.client.get(link + "&table=confusion")
    assert "Ardea cinerea,,1" in confusion.text  # B: no box of version 2 there


def test_the_form_says_what_is_wrong_beside_the_field(
    sign_in: Callable[[Account], Browser], owner: Account, proto: Protocol, scene: Pond
) -> None:
    new_set(proto, "Pond")
    browser = sign_in(owner)
    cases = [
        ({"name": "Pond"}, "name", "has an evaluation set named"),
        ({"name": "x", "taxa": "Nothing here"}, "taxa", "not in the project&#39;s taxa list"),
        ({"name": "x", "since": "2024-03-05", "until": "2024-03-01"}, "until", "is before"),
        ({"name": "x", "since": "yesterday"}, "since", "date"),
    ]
    for fields, field, words in cases:
        answer = _freeze(browser, proto.project_id, **fields)
        assert answer.status_code == 400, fields  # type: ignore[attr-defined]
        text = answer.text  # type: ignore[attr-defined]
        error = text[text.index(f'id="{field}-error"') :][:300]
        assert words in error, (fields, error)


def test_an_empty_set_says_so_and_a_bad_version_is_named(
    sign_in: Callable[[Account], Browser], owner: Account, proto: Protocol, scene: Pond
) -> None:
    browser = sign_in(owner)
    answer = _freeze(browser, proto.project_id, name="Little egrets", taxa="Egretta garzetta")
    page = browser.page(answer.headers["location"])  # type: ignore[attr-defined]
    assert "Nobody has identified anything of Egretta garzetta: the set is empty." in page
    made = new_set(proto, "Pond")
    wrong = browser.page(f"/evaluation-sets/{made['id']}?a={scene.slug}@9", status=400)
    assert f"&#39;{scene.slug}&#39; has no version 9" in wrong
    assert "(its versions: 1, 2)" in wrong


def test_scores_stand_beside_each_version_and_in_the_version_compare(
    sign_in: Callable[[Account], Browser], owner: Account, proto: Protocol, scene: Pond
) -> None:
    made = new_set(proto, "Pond")
    browser = sign_in(owner)
    processing = browser.page(f"/projects/{proto.project_id}/processing")
    for version in (1, 2):
        assert f'href="/evaluation-sets/{made["id"]}?a={scene.slug}%40{version}">on Pond</a>' in (
            processing
        )
    path = f"/deployments/{scene.deployment}/compare"
    plain = browser.page(f"{path}?a={scene.slug}@1&b={scene.slug}@2")
    assert 'id="compare-scores"' not in plain
    scored = browser.page(f"{path}?a={scene.slug}@1&b={scene.slug}@2&evaluation_set={made['id']}")
    rows = {row[0]: row[1:] for row in table(scored, "compare-scores")}
    assert rows["Accuracy (top-1)"] == ["0.50", "0.33"]
    assert rows["Identified boxes on photos it ran on"] == ["4 of 4", "3 of 4"]


def test_a_foreign_projects_set_pages_answer_as_missing_ones(
    sign_in: Callable[[Account], Browser],
    owner: Account,
    make_account: Callable[..., Account],
    proto: Protocol,
    scene: Pond,
) -> None:
    made = new_set(proto, "Pond")
    stranger = sign_in(make_account("eve"))
    for path in (
        f"/evaluation-sets/{made['id']}",
        f"/evaluation-sets/{made['id']}/scores.csv?side={scene.slug}",
        f"/projects/{proto.project_id}/evaluation",
    ):
        stranger.page(path, status=404)
