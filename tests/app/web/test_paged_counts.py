"""The species view (page and API) and the labels page a page at a time: their cost follows
what a page shows, not the project; the links keep the page's filters, and a bad page size
or offset is refused by its name."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.protocol_client import Protocol, api_get
from tests.support.scenes import API, TAXA_CSV, heron
from tests.support.shared_scenes import Shared, SharedScenes, shared_scenes
from tests.support.web import Browser, table
from trapline.web.routes import labels as labels_route
from trapline.web.routes import species as species_route

Scene = tuple[Protocol, Browser]


def _named_heron(proto: Protocol) -> None:
    """The heron scene tracked, its taxa list imported and "animal" mapped to the grey heron:
    two rows in the species view (the heron, then "no taxon" for the person) and two labels."""
    heron(proto)
    imported = proto.client.post(
        f"{API}/projects/{proto.project_id}/taxa",
        files={"file": ("taxa.csv", TAXA_CSV.encode(), "text/csv")},
        headers=proto.headers,
    )
    assert imported.status_code == 200, imported.text
    herons = api_get(proto, f"/projects/{proto.project_id}/taxa/search", q="Ardea cinerea")
    mapped = proto.client.post(
        f"{API}/projects/{proto.project_id}/labels",
        json={"label": "animal", "taxon_id": herons[0]["id"]},
        headers=proto.headers,
    )
    assert mapped.status_code == 200, mapped.text


@pytest.fixture(scope="module")
def scenes(request: pytest.FixtureRequest) -> Iterator[SharedScenes[None]]:
    """The scene every test here only reads (each database's built once)."""
    yield from shared_scenes(request, _named_heron)


@pytest.fixture
def scene(shared: Shared[None]) -> Scene:
    """The shared scene's project, and its owner signed in."""
    return shared.proto, shared.browser()


def _names(rows: list[dict[str, Any]]) -> list[str | None]:
    return [r["taxon"]["scientific_name"] if r["taxon"] else None for r in rows]


def test_the_api_species_listing_is_paged(scene: Scene) -> None:
    proto, _ = scene
    path = f"/projects/{proto.project_id}/species"
    everything = api_get(proto, path)
    assert (everything["count"], everything["next"], everything["previous"]) == (2, None, None)
    assert _names(everything["results"]) == ["Ardea cinerea", None]
    first = api_get(proto, path, limit=1, since="2024-03-01")
    assert (first["count"], _names(first["results"]), first["previous"]) == (
        2,
        ["Ardea cinerea"],
        None,
    )
    assert "since=2024-03-01" in first["next"]
    assert "offset=1" in first["next"]
    second = proto.client.get(first["next"], headers=proto.headers).json()
    assert (_names(second["results"]), second["next"]) == ([None], None)
    assert "since=2024-03-01" in second["previous"]
    assert "offset" not in second["previous"]
    past = api_get(proto, path, limit=1, offset=5)
    assert (past["count"], past["results"], past["next"]) == (2, [], None)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "1001"}, "limit"),
        ({"limit": "all"}, "limit"),
        ({"offset": "-1"}, "offset"),
        ({"offset": "x"}, "offset"),
    ],
)
def test_a_bad_page_of_the_api_species_listing_is_refused_by_name(
    scene: Scene, query: dict[str, str], field: str
) -> None:
    proto, _ = scene
    answer = proto.client.get(
        f"{API}/projects/{proto.project_id}/species", params=query, headers=proto.headers
    )
    assert answer.status_code == 400, answer.text
    assert field in answer.json()["detail"]


def test_the_species_page_is_paged_keeping_its_filters(
    scene: Scene, monkeypatch: pytest.MonkeyPatch
) -> None:
    proto, browser = scene
    monkeypatch.setattr(species_route, "PER_PAGE", 1)
    p = proto.project_id
    first = browser.page(f"/projects/{p}/species?since=2024-03-01")
    assert [r[1] for r in table(first, "species")] == ["Ardea cinerea"]
    assert "1\u20131 of 2" in first
    following = re.search(r'href="([^"]+)" rel="next"', first)
    assert following
    target = following.group(1).replace("&amp;", "&")
    assert target == f"/projects/{p}/species?since=2024-03-01&offset=1"
    second = browser.page(target)
    assert [r[1][:8] for r in table(second, "species")] == ["No taxon"]
    assert 'rel="next"' not in second
    back = re.search(r'href="([^"]+)" rel="prev"', second)
    assert back
    assert back.group(1).replace("&amp;", "&") == (
        f"/projects/{p}/species?since=2024-03-01&offset=0"
    )
    past = browser.page(f"/projects/{p}/species?offset=7")
    assert 'id="species"' not in past
    assert "past its end" in past
    assert f'href="/projects/{p}/species?offset=1" rel="prev"' in past
    for bad in ("-1", "x", str(10**10)):
        refused = browser.page(f"/projects/{p}/species?offset={bad}", status=400)
        assert "offset" in refused, bad


def test_the_labels_page_is_paged(scene: Scene, monkeypatch: pytest.MonkeyPatch) -> None:
    proto, browser = scene
    monkeypatch.setattr(labels_route, "PER_PAGE", 1)
    p = proto.project_id
    first = browser.page(f"/projects/{p}/labels")
    assert [r[0] for r in table(first, "labels")] == ["animal"]
    assert f'href="/projects/{p}/labels?offset=1" rel="next"' in first
    second = browser.page(f"/projects/{p}/labels?offset=1")
    assert [r[0] for r in table(second, "labels")] == ["person"]
    assert 'rel="next"' not in second
    assert f'href="/projects/{p}/labels?offset=0" rel="prev"' in second
    for bad in ("-1", "x"):
        refused = browser.page(f"/projects/{p}/labels?offset={bad}", status=400)
        assert "offset" in refused, bad
