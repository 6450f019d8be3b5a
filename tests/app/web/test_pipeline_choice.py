"""The species view, a taxon's page and an event's page count by the project's counting
pipeline, say so, and show another pipeline's counts when a person picks it (``?pipeline=``),
keeping the page's other parameters; a pipeline the project has not is refused in words."""

from __future__ import annotations

import html
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest

from tests.support.accounts import Account
from tests.support.protocol_client import Protocol
from tests.support.scenes import API, add_frames, event_of, import_md, track_all
from tests.support.web import Browser

TAXA = """scientific_name,rank,parent
Aves,class,
Ardea cinerea,species,Aves
Ardea alba,species,Aves
"""


@dataclass(frozen=True)
class TwoPipelines:
    proto: Protocol
    browser: Browser
    deployment: int
    event: int
    #: The pipeline the project counts by, and the other one; what each saw.
    counting: str
    other: str
    taxa: dict[str, int]
    seen: dict[str, str]


def _heron(species: str, shift: float = 0.0) -> dict[str, list[dict[str, object]]]:
    """A heron in each of six frames, named ``species`` by the classifier."""
    return {
        f"Pond/frame-{i:02d}.jpg": [
            {
                "category": "1",
                "conf": 0.8,
                "bbox": [0.2 + i * 0.01 + shift, 0.3, 0.2, 0.3],
                "classifications": [[species, 0.81]],
            }
        ]
        for i in range(6)
    }


@pytest.fixture
def two(proto: Protocol, sign_in: Callable[[Account], Browser]) -> TwoPipelines:
    answer = proto.client.post(
        f"{API}/projects/{proto.project_id}/taxa",
        files={"file": ("taxa.csv", io.BytesIO(TAXA.encode()), "text/csv")},
        headers=proto.headers,
    )
    assert answer.status_code == 200, answer.text
    found = proto.client.get(
        f"{API}/projects/{proto.project_id}/taxa/search", params={"q": "Ardea"},
        headers=proto.headers,
    ).json()  # fmt: skip
    taxa = {t["scientific_name"]: t["id"] for t in found}
    made = proto.client.post(
        f"{API}/projects/{proto.project_id}/deployments",
        json={"name": "Pond"},
        headers=proto.headers,
    )
    deployment = int(made.json()["id"])
    add_frames(proto, deployment, 6, timedelta(seconds=1), size=(640, 480))
    classes = {"1": "Ardea cinerea", "2": "Ardea alba"}
    # Two detector versions: one's classifier says grey heron, the other's great egret.
    import_md(proto, _heron("1"), detector="md_v5a.0.0.pt", classes=classes)
    import_md(proto, _heron("2", 0.002), detector="heron-net.pt", classes=classes)
    assert track_all(proto) == 1
    counting = proto.client.get(
        f"{API}/projects/{proto.project_id}/counting", headers=proto.headers
    ).json()
    pipelines = [p["pipeline"] for p in counting["pipelines"]]
    assert len(pipelines) == 2, counting
    other = next(p for p in pipelines if p != counting["pipeline"])
    seen = {}
    for pipeline in pipelines:
        rows = proto.client.get(
            f"{API}/projects/{proto.project_id}/species",
            params={"pipeline": pipeline},
            headers=proto.headers,
        ).json()["results"]
        (row,) = rows
        seen[pipeline] = row["taxon"]["scientific_name"]
    assert set(seen.values()) == {"Ardea cinerea", "Ardea alba"}
    return TwoPipelines(
        proto, sign_in(proto.account), deployment, event_of(proto, deployment),
        counting["pipeline"], other, taxa, seen,
    )  # fmt: skip


def _taxa_listed(page: str) -> list[str]:
    return re.findall(r'<tr data-taxon="\d+">.*?<i>([^<]+)</i>', page, re.S)


def _counted_by(page: str) -> str:
    found = re.search(r'<span id="counted-by">(.*?)</span>', page, re.S)
    assert found is not None, page
    return html.unescape(re.sub(r"<[^>]+>", "", found.group(1)))


def test_the_species_view_counts_by_the_pipeline_picked(two: TwoPipelines) -> None:
    p = two.proto.project_id
    page = two.browser.page(f"/projects/{p}/species")
    assert _taxa_listed(page) == [two.seen[two.counting]]
    assert _counted_by(page) == f"Counted by {two.counting} (the project's counting pipeline)."
    options = re.findall(r'<option value="([^"]+)"[^>]*>[^<]*\(the project', page)
    assert options == [two.counting]

    page = two.browser.page(f"/projects/{p}/species?pipeline={two.other}&since=2024-01-01")
    assert _taxa_listed(page) == [two.seen[two.other]]
    assert _counted_by(page) == (
        f"Counted by {two.other}, not the project's counting pipeline, {two.counting}."
    )
    # The selector keeps the page's other parameters; the filters keep the pipeline; links to
    # a taxon's page carry both.
    selector = page[page.index('id="pipeline-choice"') : page.index('id="filters"')]
    assert '<input type="hidden" name="since" value="2024-01-01">' in selector
    assert f'<option value="{two.other}" selected>' in selector
    filters = page[page.index('id="filters"') :]
    assert f'<input type="hidden" name="pipeline" value="{two.other}">' in filters
    assert f"since=2024-01-01&amp;pipeline={two.other}" in page

    refused = two.browser.client.get(f"/projects/{p}/species?pipeline=nothing-here")
    assert refused.status_code == 400
    assert 'id="pipeline-error"' in refused.text
    assert "pipeline: &#39;nothing-here&#39; is not a pipeline of project" in refused.text
    too_long = two.browser.client.get(f"/projects/{p}/species?pipeline={'x' * 300}")
    assert too_long.status_code == 400
    assert "pipeline" in too_long.text


def test_a_taxons_page_and_an_events_page_count_by_the_pipeline_picked(
    two: TwoPipelines,
) -> None:
    p = two.proto.project_id
    shown = two.taxa[two.seen[two.other]]
    counts = re.compile(r'data-field="occurrences">(\d+)<')
    default = two.browser.page(f"/projects/{p}/taxa/{shown}")
    assert counts.findall(default) == ["0"]
    picked = two.browser.page(f"/projects/{p}/taxa/{shown}?pipeline={two.other}")
    assert counts.findall(picked) == ["1"]
    assert _counted_by(picked).startswith(f"Counted by {two.other}, not the project's")
    refused = two.browser.client.get(f"/projects/{p}/taxa/{shown}?pipeline=nothing-here")
    assert refused.status_code == 400
    assert "is not a pipeline of project" in refused.text

    event = two.browser.page(f"/events/{two.event}")
    assert _counted_by(event) == f"Counted by {two.counting} (the project's counting pipeline)."
    assert re.findall(r"<td>([a-z0-9._-]+)</td>\s*</tr>", event) == [two.counting]
    event = two.browser.page(f"/events/{two.event}?pipeline={two.other}&offset=0")
    assert re.findall(r"<td>([a-z0-9._-]+)</td>\s*</tr>", event) == [two.other]
    assert '<input type="hidden" name="offset" value="0">' in event
    refused = two.browser.client.get(f"/events/{two.event}?pipeline=nothing-here")
    assert refused.status_code == 400
    assert "pipeline: &#39;nothing-here&#39; is not a pipeline of project" in refused.text


def test_a_project_without_pipelines_refuses_one_in_words(
    proto: Protocol, sign_in: Callable[[Account], Browser]
) -> None:
    browser = sign_in(proto.account)
    page = browser.page(f"/projects/{proto.project_id}/species")
    assert 'id="pipeline-choice"' not in page  # nothing counted, nothing to choose
    refused = browser.client.get(f"/projects/{proto.project_id}/species?pipeline=moth-blobs")
    assert refused.status_code == 400
    assert "pipeline: &#39;moth-blobs&#39; is not a pipeline of project" in refused.text
    assert "(its pipelines: none yet)" in refused.text
