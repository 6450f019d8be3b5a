"""The deployment page's events list: per event the individuals and taxa of the pipeline the
project counts by, the same numbers as the species view and the counting API, never adding a
second pipeline's, without the labels mapped as no object."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import timedelta

from tests.support.accounts import Account
from tests.support.protocol_client import Protocol, api_get
from tests.support.scenes import (
    API,
    BOXES,
    TAXA_CSV,
    add_frames,
    find_taxon,
    heron_in_two_versions,
    import_md,
    import_taxa,
    new_deployment,
    track_all,
)
from tests.support.statements import statements_sent
from tests.support.web import Browser, table


def _events(browser: Browser, deployment: int) -> list[tuple[int, str]]:
    """(individuals, taxa) of each event the deployment's page lists."""
    rows = table(browser.page(f"/deployments/{deployment}"), "events")
    return [(int(row[3]), row[4]) for row in rows]


def _species(proto: Protocol, deployment: int) -> Counter[str | None]:
    rows = api_get(proto, f"/projects/{proto.project_id}/species", deployment_id=deployment)[
        "results"
    ]
    return Counter({r["taxon"]["scientific_name"] if r["taxon"] else None: r["occurrences"]
                    for r in rows})  # fmt: skip


def test_events_list_individuals_and_taxa_as_the_species_view_counts_them(
    proto: Protocol, sign_in: Callable[[Account], Browser]
) -> None:
    pond = new_deployment(proto)
    add_frames(proto, pond, 3, timedelta(days=1), size=(640, 480))  # three nights
    detections = [
        {"category": c, "conf": 0.6 + n / 20, "bbox": b} for n, (b, c) in enumerate(BOXES)
    ]
    import_md(proto, {
        "Pond/frame-00.jpg": detections,  # four animals, two people
        "Pond/frame-01.jpg": detections[:2],  # two animals
        "Pond/frame-02.jpg": detections[4:5],  # one person
    })  # fmt: skip
    # A second pipeline's boxes on the first night: the project counts by the first (more
    # tracked detections), and its occurrences are never added.
    import_md(proto, {"Pond/frame-00.jpg": detections[:3]}, detector="heron-net.pt")
    assert track_all(proto) == 3
    olive = sign_in(proto.account)
    counting = api_get(proto, f"/projects/{proto.project_id}/counting")
    (counted,) = [p for p in counting["pipelines"] if p["pipeline"] == counting["pipeline"]]
    assert len(counting["pipelines"]) == 2
    assert counted["occurrences"] == 9
    assert _events(olive, pond) == [
        (6, "“animal” 4, “person” 2"),
        (2, "“animal” 2"),
        (1, "“person” 1"),
    ]
    assert sum(n for n, _ in _events(olive, pond)) == sum(_species(proto, pond).values()) == 9
    page = olive.page(f"/deployments/{pond}")
    said = f"tracked by <strong>{counted['pipeline']}</strong>, the pipeline this deployment"
    assert said in page

    # Labels mapped (people as no object), and two animals of the first night named.
    assert import_taxa(proto, TAXA_CSV).status_code == 200
    aves, grey = find_taxon(proto, "Aves"), find_taxon(proto, "Ardea cinerea")
    for body in ({"label": "animal", "taxon_id": aves}, {"label": "person", "non_object": True}):
        mapped = proto.client.post(
            f"{API}/projects/{proto.project_id}/labels", json=body, headers=proto.headers
        )
        assert mapped.status_code == 200, mapped.text
    track_all(proto)  # a label mapped as no object has its events tracked again
    (first, *_) = api_get(proto, f"/deployments/{pond}/events")["results"]
    found = api_get(proto, f"/events/{first['id']}/occurrences")["results"]
    animals = [o["id"] for o in found if o["determination"]["label"] == "animal"][:2]
    made = proto.client.post(
        f"{API}/projects/{proto.project_id}/identifications",
        json={"occurrence_ids": animals, "taxon_id": grey},
        headers=proto.headers,
    )
    assert made.status_code == 201, made.text
    listed = _events(olive, pond)
    assert "(counting…)" not in olive.page(f"/deployments/{pond}")
    assert listed == [(4, "Ardea cinerea 2, Aves 2"), (2, "Aves 2"), (0, "")]
    per_taxon: Counter[str | None] = Counter()
    for _, taxa in listed:
        for part in filter(None, taxa.split(", ")):
            name, n = part.rsplit(" ", 1)
            per_taxon[name] += int(n)
    assert per_taxon == _species(proto, pond) == Counter({"Aves": 4, "Ardea cinerea": 2})


def test_the_events_are_counted_in_one_read(
    proto: Protocol, sign_in: Callable[[Account], Browser]
) -> None:
    """The tallies of the page's events are read by one statement, however many events."""
    pond = new_deployment(proto)
    add_frames(proto, pond, 6, timedelta(days=1), size=(320, 240))
    detections = [{"category": "1", "conf": 0.9, "bbox": BOXES[0][0]}]
    import_md(proto, {f"Pond/frame-{n:02d}.jpg": detections for n in range(6)})
    assert track_all(proto) == 6
    olive = sign_in(proto.account)
    with statements_sent(proto.platform.db.engine) as sent:
        assert [n for n, _ in _events(olive, pond)] == [1] * 6
    statements = [s for s, _ in sent if "occurrence_tallies" in s and "event_id IN" in s]
    assert len(statements) == 1, statements


def test_a_newer_version_on_some_photos_is_named_where_the_deployment_counts(
    proto: Protocol, sign_in: Callable[[Account], Browser]
) -> None:
    """MegaDetector v5a on ten photos, then v5b (version 2 of the same pipeline) on five: the
    deployment's counts are of both versions, and its page and the API say so."""
    pond, slug = heron_in_two_versions(proto)
    share = api_get(proto, f"/deployments/{pond}/counting")
    assert (share["pipeline"], share["photos"], share["mixed"]) == (slug, 10, True)
    assert [(v["version"], v["photos"]) for v in share["versions"]] == [(2, 5), (1, 5)]
    said = "version 2 on 5 of 10 photos, version 1 on 5"
    assert share["said"] == said
    page = sign_in(proto.account).page(f"/deployments/{pond}")
    assert f'<span id="version-share">: {said}</span>' in page
    assert "run its newest version on the rest" in page
    refused = proto.client.get(f"{API}/deployments/{pond + 99}/counting", headers=proto.headers)
    assert refused.status_code == 404
