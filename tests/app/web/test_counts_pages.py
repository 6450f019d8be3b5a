"""The counts by night in-process, on the scene of tests/support/camtrap_scene.py: the taxa by
nights table a person reaches from the species view and a deployment's page, its filters and
the nights it shows at once, its two CSV files, mistakes told beside their fields, and who may
see it."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator

import pytest

from tests.support.accounts import Account
from tests.support.camtrap_scene import CamtrapScene, build_camtrap_scene
from tests.support.protocol_client import Protocol
from tests.support.shared_scenes import Shared, SharedScenes, shared_scenes
from tests.support.web import Browser, table
from trapline.web.routes import counts


@pytest.fixture(scope="module")
def scenes(request: pytest.FixtureRequest) -> Iterator[SharedScenes[CamtrapScene]]:
    """The scene the tests that only read it share (each database's built once)."""
    yield from shared_scenes(request, build_camtrap_scene)


@pytest.fixture
def scene(proto: Protocol) -> CamtrapScene:
    """The scene of a test that changes it."""
    return build_camtrap_scene(proto)


def _names(html: str) -> list[str]:
    """The rows' taxa, in order."""
    body = re.search(r'<table class="compact" id="counts">.*?</table>', html, re.S)
    assert body, "no counts table"
    return re.findall(r'<th scope="row">(?:<a [^>]*><i>)?([^<]+)', body.group(0))


def test_the_taxa_by_night_table_and_its_csv(shared: Shared[CamtrapScene]) -> None:
    proto, scene, browser = shared.proto, shared.scene, shared.browser()
    p = proto.project_id
    species = browser.page(f"/projects/{p}/species?deployment={scene.a}")
    assert f'href="/projects/{p}/counts?deployment={scene.a}" id="counts-by-night"' in species
    deployment = browser.page(f"/deployments/{scene.b}")
    assert f'href="/projects/{p}/counts?deployment={scene.b}" id="counts-by-night"' in deployment

    # Nights are noon to noon: a5 (06:00 on 2 March) is of the night of 1 March.
    html = browser.page(f"/projects/{p}/counts")
    assert _names(html) == ["Ardea cinerea", "Ardea alba", "All"]
    assert table(html, "counts") == [["5", "", "1", "6"], ["1", "3", "1", "5"],
                                     ["6", "3", "2", "11"]]  # fmt: skip
    assert "3 nights, 2024-03-01 to 2024-03-03." in html
    only_a = browser.page(f"/projects/{p}/counts?deployment={scene.a}")
    assert "Counts by night: A" in only_a
    assert table(only_a, "counts") == [["5", "", "5"], ["1", "1", "2"], ["6", "1", "7"]]
    genus = browser.page(f"/projects/{p}/counts?rank=genus&since=2024-03-02")
    assert _names(genus) == ["Ardea", "All"]
    assert table(genus, "counts") == [["3", "2", "5"], ["3", "2", "5"]]

    grey, alba = scene.taxa["Ardea cinerea"], scene.taxa["Ardea alba"]
    link = f'href="/projects/{p}/counts/taxa-by-night.csv?deployment={scene.a}"'
    assert link in only_a
    shown = browser.client.get(f"/projects/{p}/counts/taxa-by-night.csv?deployment={scene.a}")
    assert shown.status_code == 200, shown.text
    assert shown.headers["content-type"].startswith("text/csv")
    assert list(csv.reader(io.StringIO(shown.text))) == [
        ["taxon_id", "scientific_name", "rank", "label", "2024-03-01", "2024-03-03"],
        [str(grey), "Ardea cinerea", "species", "", "5", "0"],
        [str(alba), "Ardea alba", "species", "", "1", "1"],
    ]
    rows = browser.client.get(f"/projects/{p}/counts/rows.csv?deployment={scene.a}")
    assert rows.status_code == 200, rows.text
    api = proto.client.get(
        f"/api/v2/projects/{p}/counts",
        params={"by": "night", "deployment": scene.a, "format": "csv"},
        headers=proto.headers,
    )
    assert rows.content == api.content


def test_the_page_shows_the_last_nights_and_links_the_ones_before(
    shared: Shared[CamtrapScene], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(counts, "NIGHTS_SHOWN", 2)
    proto, browser = shared.proto, shared.browser()
    p = proto.project_id
    html = browser.page(f"/projects/{p}/counts")
    assert "The last 2 of 3 nights, 2024-03-02 to 2024-03-03." in html
    assert _names(html) == ["Ardea alba", "Ardea cinerea", "All"]
    assert table(html, "counts") == [["3", "1", "4"], ["", "1", "1"], ["3", "2", "5"]]
    earlier = re.search(r'<a href="([^"]+)" rel="prev" id="earlier-nights">', html)
    assert earlier
    assert earlier.group(1) == f"/projects/{p}/counts?until=2024-03-01"
    before = browser.page(earlier.group(1).replace("&amp;", "&"))
    assert table(before, "counts") == [["5", "5"], ["1", "1"], ["6", "6"]]
    # The CSV has every night.
    whole = browser.client.get(f"/projects/{p}/counts/taxa-by-night.csv")
    assert whole.text.splitlines()[0].endswith("2024-03-01,2024-03-02,2024-03-03")


@pytest.mark.parametrize(
    ("query", "field", "words"),
    [
        ("since=2024-03-03&until=2024-03-01", "since", "comes after the last"),
        ("since=2024-13-01", "since", "a date like 2024-06-21"),
        ("rank=clade", "rank", "rank: one of order"),
        ("deployment=abc", "deployment", "pick one of the list"),
        ("pipeline=none-such", "pipeline", "none-such"),
    ],
)
def test_a_wrong_filter_is_told_beside_its_field(
    shared: Shared[CamtrapScene], query: str, field: str, words: str
) -> None:
    proto, browser = shared.proto, shared.browser()
    p = proto.project_id
    html = browser.page(f"/projects/{p}/counts?{query}", status=400)
    found = re.search(rf'<p class="error" id="{field}-error" role="alert">([^<]*)</p>', html)
    assert found, html[-3000:]
    assert words in found.group(1)
    assert 'id="counts"' not in html
    for path in ("taxa-by-night.csv", "rows.csv"):
        refused = browser.client.get(f"/projects/{p}/counts/{path}?{query}")
        assert refused.status_code == 400, (path, refused.status_code)
        assert words in refused.text


def test_only_the_projects_people_see_its_counts(
    proto: Protocol,
    scene: CamtrapScene,
    sign_in: Callable[[Account], Browser],
    make_account: Callable[..., Account],
) -> None:
    stranger = sign_in(make_account("stranger"))
    p = proto.project_id
    missing = stranger.page("/projects/999999/counts", status=404)
    for path in (f"/projects/{p}/counts", f"/projects/{p}/counts/taxa-by-night.csv",
                 f"/projects/{p}/counts/rows.csv"):  # fmt: skip
        answer = stranger.client.get(path)
        assert answer.status_code == 404, path
        assert "Ardea" not in answer.text
    assert "not found" in missing
    # A deployment of another project answers as a missing one.
    own = proto.client.post(
        "/api/v2/projects/", json={"name": "Elsewhere"}, headers=proto.headers
    ).json()["id"]
    theirs = proto.client.post(
        f"/api/v2/projects/{own}/deployments", json={"name": "Far"}, headers=proto.headers
    ).json()["id"]
    owner = sign_in(proto.account)
    foreign = owner.client.get(f"/projects/{p}/counts?deployment={theirs}")
    nowhere = owner.client.get(f"/projects/{p}/counts?deployment=999999")
    assert foreign.status_code == nowhere.status_code
    said = [re.search(r"<main.*</main>", a.text, re.S) for a in (foreign, nowhere)]
    assert said[0]
    assert said[1]
    assert said[0].group(0).replace(str(theirs), "N") == said[1].group(0).replace("999999", "N")
