"""A project's occurrences and events as listings, on the scene of
tests/support/analysis_scene.py: each listing compared with the one worked out by hand from the
scene's table (filters, orders, pages walked by cursor), the second pipeline never in it, bad
input answered 400 naming the field, and another project's deployment, event or taxon answered
exactly as one that does not exist."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import literal_column, select

from tests.support.analysis_scene import Scene, build_scene
from tests.support.protocol_client import Protocol, api_get, api_post
from tests.support.refusals import answered_as_missing
from tests.support.scenes import API, TAXA_CSV, import_taxa, new_deployment
from tests.support.shared_scenes import Shared, SharedScenes, shared_scenes
from tests.support.statements import plan_of, statements_sent
from trapline.db.repositories.ecology.counts import occurrence_terms, tally_terms
from trapline.db.tables import OccurrenceRow, OccurrenceTallyRow
from trapline.domain.core import paging
from trapline.domain.ecology.species import Scope

#: Each occurrence's local time first seen, from the scene's table.
SEEN = {
    "n1": "03-01 21:30", "n2": "03-01 21:30", "s1": "03-01 22:10", "s2": "03-01 22:10",
    "n3": "03-02 01:30", "n4": "03-02 21:30", "s3": "03-02 23:05",
}  # fmt: skip


@pytest.fixture(scope="module")
def scenes(request: pytest.FixtureRequest) -> Iterator[SharedScenes[Scene]]:
    """The scene the tests that only read it share (each database's built once)."""
    yield from shared_scenes(request, build_scene)


@pytest.fixture
def scene(proto: Protocol) -> Scene:
    """The scene of a test that changes it."""
    return build_scene(proto)


def _in_order(scene: Scene, names: list[str], *, descending: bool = False) -> list[str]:
    """The names in order of first sighting, ties by id."""
    return sorted(names, key=lambda n: (SEEN[n], scene.occurrences[n]), reverse=descending)


def _names(scene: Scene, page: dict[str, Any]) -> list[str]:
    by_id = {i: n for n, i in scene.occurrences.items()}
    return [by_id[o["id"]] for o in page["results"]]


def _listed(proto: Protocol, **params: Any) -> dict[str, Any]:
    return dict(api_get(proto, f"/projects/{proto.project_id}/occurrences", **params))


def test_occurrences_filtered_as_worked_out_by_hand(shared: Shared[Scene]) -> None:
    proto, scene = shared.proto, shared.scene
    everyone = list(SEEN)
    cases: list[tuple[dict[str, Any], list[str]]] = [
        ({}, everyone),
        ({"deployment": scene.south}, ["s1", "s2", "s3"]),
        ({"event": scene.events["03-01T22:10"]}, ["s1", "s2"]),
        # A taxon with everything under it: the genus holds both species and itself.
        ({"taxon": scene.taxa["Ardea"]}, ["n1", "n2", "s1", "n3", "n4", "s3"]),
        ({"taxon": scene.taxa["Ardea alba"]}, ["s1", "n3"]),
        # 01:30 on 03-02 is still the night of 03-01.
        ({"night": "2024-03-01"}, ["n1", "n2", "s1", "s2", "n3"]),
        ({"since": "2024-03-02"}, ["n4", "s3"]),
        ({"until": "2024-03-01"}, ["n1", "n2", "s1", "s2", "n3"]),
        ({"since": "2024-03-02", "night": "2024-03-01"}, []),
        ({"determined_by": "person"}, ["s3"]),
        ({"determined_by": "model"}, ["n1", "n2", "s1", "s2", "n3", "n4"]),
        # A person's determination has no score, and is kept.
        ({"min_score": 0.8}, ["n1", "s1", "n4", "s3"]),
        ({"needs_identification": "true"}, ["n1", "n2", "s1", "s2", "n3", "n4"]),
        ({"needs_identification": "false"}, ["s3"]),
        (
            {
                "deployment": scene.north,
                "taxon": scene.taxa["Ardea cinerea"],
                "night": "2024-03-01",
            },
            ["n1", "n2"],
        ),
        ({"deployment": scene.south, "min_score": 0.7, "since": "2024-03-01"}, ["s1", "s2", "s3"]),
    ]
    for params, expected in cases:
        page = _listed(proto, limit=100, **params)
        assert _names(scene, page) == _in_order(scene, expected), params
        assert page["count"] == len(expected), params
    newest = _listed(proto, ordering="-first_seen", limit=100)
    assert _names(scene, newest) == _in_order(scene, everyone, descending=True)


def test_a_count_the_tallies_cannot_give_stops_at_the_cap(
    shared: Shared[Scene], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Who determined an occurrence, how sure the models are and whether it needs a person are
    not in the tallies: those listings count their matches only as far as the cap (null past
    it) and still walk them all; a count the tallies hold stays exact."""
    proto, scene = shared.proto, shared.scene
    monkeypatch.setattr(paging, "COUNTED_UP_TO", 5)
    walked = _listed(proto, needs_identification="true", limit=4)
    assert walked["count"] is None
    names = _names(scene, walked)
    following = proto.client.get(walked["next"], headers=proto.headers).json()
    assert following["count"] is None
    names += _names(scene, following)
    assert names == _in_order(scene, ["n1", "n2", "s1", "s2", "n3", "n4"])
    assert _listed(proto, min_score=0.8)["count"] == 4
    assert _listed(proto, limit=2)["count"] == len(SEEN)


def test_an_occurrence_shows_where_when_and_what(shared: Shared[Scene]) -> None:
    proto, scene = shared.proto, shared.scene
    (s3,) = _listed(proto, determined_by="person")["results"]
    assert s3["id"] == scene.occurrences["s3"]
    assert s3["deployment_id"] == scene.south
    assert s3["event_id"] == scene.events["03-02T23:05"]
    assert s3["first_seen"] == "2024-03-02T23:05:00+03:00"
    assert s3["night"] == "2024-03-02"
    assert s3["taxon"] == {"id": scene.taxa["Ardea"], "scientific_name": "Ardea", "rank": "genus"}
    assert s3["determination"] == {
        "label": "Ardea",
        "score": None,
        "by": "person",
        "rejected": None,
    }
    assert s3["identified_by"]
    assert s3["disputed"] is False
    (s2,) = [o for o in _listed(proto)["results"] if o["id"] == scene.occurrences["s2"]]
    assert s2["taxon"] is None
    assert s2["determination"]["label"] == "animal"


def test_the_other_pipeline_is_listed_only_when_asked(shared: Shared[Scene]) -> None:
    proto, scene = shared.proto, shared.scene
    counted = _listed(proto, limit=100)
    assert {o["pipeline"] for o in counted["results"]} == {scene.counted}
    other = _listed(proto, pipeline=scene.other)
    assert other["count"] == 1
    (found,) = other["results"]
    assert found["pipeline"] == scene.other
    assert found["id"] not in scene.occurrences.values()


@pytest.mark.parametrize("ordering", ["first_seen", "-first_seen"])
def test_pages_walked_by_cursor_both_ways(shared: Shared[Scene], ordering: str) -> None:
    proto, scene = shared.proto, shared.scene
    pages = [_listed(proto, limit=3, ordering=ordering)]
    while pages[-1]["next"]:
        answer = proto.client.get(pages[-1]["next"], headers=proto.headers)
        assert answer.status_code == 200, answer.text
        pages.append(answer.json())
    assert [len(p["results"]) for p in pages] == [3, 3, 1]
    assert {p["count"] for p in pages} == {7}
    walked = [n for p in pages for n in _names(scene, p)]
    assert walked == _in_order(scene, list(SEEN), descending=ordering.startswith("-"))
    assert pages[0]["previous"] is None
    back = proto.client.get(pages[1]["previous"], headers=proto.headers).json()
    assert _names(scene, back) == _names(scene, pages[0])
    assert "ordering" in pages[1]["previous"]


def test_events_with_their_individuals_and_taxa(shared: Shared[Scene]) -> None:
    proto, scene = shared.proto, shared.scene
    listed = api_get(proto, f"/projects/{proto.project_id}/events", limit=100)
    assert listed["count"] == 5
    rows = [
        (e["id"], e["night"], e["individuals"], [(t["name"], t["individuals"]) for t in e["taxa"]])
        for e in listed["results"]
    ]
    at = scene.events
    assert rows == [
        (at["03-01T21:30"], "2024-03-01", 2, [("Ardea cinerea", 2)]),
        (at["03-01T22:10"], "2024-03-01", 2, [("Ardea alba", 1), ("animal", 1)]),
        (at["03-02T01:30"], "2024-03-01", 1, [("Ardea alba", 1)]),
        (at["03-02T21:30"], "2024-03-02", 1, [("Ardea cinerea", 1)]),
        (at["03-02T23:05"], "2024-03-02", 1, [("Ardea", 1)]),
    ]
    assert {e["pipeline"] for e in listed["results"]} == {scene.counted}
    # The other pipeline's occurrence in the first event is counted only when asked for.
    other = api_get(proto, f"/projects/{proto.project_id}/events", pipeline=scene.other)
    assert [e["individuals"] for e in other["results"]] == [1, 0, 0, 0, 0]

    def ids(**params: Any) -> list[int]:
        found = api_get(proto, f"/projects/{proto.project_id}/events", **params)
        assert found["count"] == len(found["results"]), found
        return [e["id"] for e in found["results"]]

    assert ids(deployment=scene.north) == [at["03-01T21:30"], at["03-02T01:30"], at["03-02T21:30"]]
    assert ids(since="2024-03-02") == [at["03-02T21:30"], at["03-02T23:05"]]
    assert ids(until="2024-03-01", deployment=scene.north) == [at["03-01T21:30"], at["03-02T01:30"]]
    assert ids(ordering="-start") == [at[t] for t in sorted(at, reverse=True)]
    first = api_get(proto, f"/projects/{proto.project_id}/events", limit=2)
    second = proto.client.get(first["next"], headers=proto.headers).json()
    assert [e["id"] for e in second["results"]] == [at["03-02T01:30"], at["03-02T21:30"]]
    assert second["count"] == 5


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("occurrences", {"since": "2024-03-02", "until": "2024-03-01"}, "since"),
        ("events", {"since": "2024-03-02", "until": "2024-03-01"}, "since"),
        ("occurrences", {"min_score": "-0.1"}, "min_score"),
        ("occurrences", {"min_score": "1.5"}, "min_score"),
        ("occurrences", {"limit": "0"}, "limit"),
        ("events", {"limit": "-1"}, "limit"),
        ("occurrences", {"deployment": "0"}, "deployment"),
        ("occurrences", {"taxon": "-3"}, "taxon"),
        ("occurrences", {"night": "yesterday"}, "night"),
        ("occurrences", {"determined_by": "robot"}, "determined_by"),
        ("occurrences", {"ordering": "score"}, "ordering"),
        ("events", {"pipeline": "nothing"}, "pipeline"),
        ("occurrences", {"cursor": "bm90LWEtY3Vyc29y"}, "cursor"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(
    proto: Protocol, path: str, params: dict[str, str], field: str
) -> None:
    answer = proto.client.get(
        f"{API}/projects/{proto.project_id}/{path}", params=params, headers=proto.headers
    )
    assert answer.status_code == 400, answer.text
    assert field in answer.json()["detail"], answer.json()


def test_another_projects_objects_answer_as_missing_ones(proto: Protocol, scene: Scene) -> None:
    made = api_post(proto, "/projects", {"name": "Elsewhere", "kind": "camera_trap"}, 201)
    elsewhere = proto.in_project(int(made["id"]))
    new_deployment(elsewhere, "Far")
    assert import_taxa(elsewhere, TAXA_CSV).status_code == 200
    # The scene's objects, asked for in the other project (its owner's too).
    theirs = {
        "deployment": scene.north,
        "event": scene.events["03-01T21:30"],
        "taxon": scene.taxa["Ardea"],
    }
    for field, foreign in theirs.items():
        missing = foreign + 10**9
        asked = [
            elsewhere.client.get(
                f"{API}/projects/{elsewhere.project_id}/{path}",
                params={field: value},
                headers=proto.headers,
            )
            for path in (["occurrences", "events"] if field == "deployment" else ["occurrences"])
            for value in (foreign, missing)
        ]
        for foreign_answer, missing_answer in zip(asked[::2], asked[1::2], strict=True):
            assert foreign_answer.status_code == missing_answer.status_code == 404
            assert answered_as_missing(foreign_answer, missing_answer, foreign, missing)
            assert foreign_answer.json()["detail"] == f"{field} {foreign} not found"


def test_a_project_with_nothing_tracked_answers_empty(proto: Protocol) -> None:
    deployment = new_deployment(proto, "Empty")
    base = f"/projects/{proto.project_id}"
    assert api_get(proto, f"{base}/occurrences", deployment=deployment) == {
        "count": 0, "next": None, "previous": None, "results": [],
    }  # fmt: skip
    assert api_get(proto, f"{base}/events")["count"] == 0
    table = api_get(proto, f"{base}/counts", by="night,hour")
    assert table == {"pipeline": None, "by": ["night", "hour"], "rank": None, "rows": []}


def test_a_listing_within_one_event_walks_no_index_of_the_project(shared: Shared[Scene]) -> None:
    """Within one event, the occurrences and tallies of a listing are found by the event: by
    an index of the project's, SQLite walked every occurrence of the project (94 ms for the
    busiest night at 1,000,000 photos, 5 ms by the event's)."""
    proto, scene = shared.proto, shared.scene
    scope, event = Scope(proto.project_id), scene.events["03-01T22:10"]
    o, t = OccurrenceRow, OccurrenceTallyRow
    with proto.platform.db.read() as repos:
        sqlite = repos.session.get_bind().dialect.name == "sqlite"
        for table, query in (
            ("occurrences", select(o.id).where(*occurrence_terms(scope, within_event=True))),
            ("occurrence_tallies", select(t.id).where(*tally_terms(scope, within_event=True))),
        ):
            query = query.where(literal_column("event_id") == event)
            plan = plan_of(repos.session, query)
            assert f"ix_{table}_project" not in plan, plan
            if sqlite:
                assert f"ix_{table}_event_id" in plan, plan
            assert len(repos.session.execute(query).all()) > 0


def test_a_page_of_events_reads_its_tallies_by_the_events(shared: Shared[Scene]) -> None:
    """What a page of events holds is read from the tallies by the page's events: by an index
    of the project's, SQLite walked every tally of the project for each page."""
    proto, scene = shared.proto, shared.scene
    db = proto.platform.db
    with statements_sent(db.engine) as sent, db.read() as repos:
        rows = repos.ecology.counts.per_event(
            Scope(proto.project_id), sorted(scene.events.values())
        )
    ran = [(s, p) for s, p in sent if "occurrence_tallies" in s]
    assert rows
    assert len(ran) == 1
    statement, parameters = ran[0]
    with db.read() as repos:
        connection = repos.session.connection()
        sqlite = connection.dialect.name == "sqlite"
        explain = "EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN "
        plan = " ".join(
            str(r[-1]) for r in connection.exec_driver_sql(explain + statement, parameters)
        )
    assert "ix_occurrence_tallies_project" not in plan, plan
    if sqlite:
        assert "ix_occurrence_tallies_event_id" in plan, plan


def test_a_count_over_every_night_reads_the_kept_sums(shared: Shared[Scene]) -> None:
    """Over every night, a listing's count is the pipeline's kept total (the whole project), or
    summed from a deployment's kept sums per label: neither grows with the project's events,
    and both agree with the tallies' (over some nights, the tallies still count, and a taxon's
    or an event's tallies by their own index)."""
    proto, scene = shared.proto, shared.scene
    cases = (({}, "pipeline_tallies"), ({"deployment": scene.north}, "label_tallies"),
             ({"taxon": scene.taxa["Ardea"]}, "occurrence_tallies"),
             ({"event": scene.events["03-01T22:10"]}, "occurrence_tallies"))  # fmt: skip
    for params, kept in cases:
        with statements_sent(proto.platform.db.engine) as ran:
            listed = _listed(proto, limit=1, **params)
        tables = ("occurrence_tallies", "label_tallies", "pipeline_tallies")
        read = {table for table in tables if any(f"FROM {table}" in s for s, _ in ran)}
        assert read == {kept}, params
        nights = _listed(proto, limit=1, since="2024-01-01", until="2024-12-31", **params)
        assert listed["count"] == nights["count"] > 0, params
