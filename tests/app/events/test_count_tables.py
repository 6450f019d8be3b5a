"""A project's counts as rows (``GET /projects/{id}/counts``, JSON and CSV), on the scene of
tests/support/analysis_scene.py: each table compared with the one worked out by hand from the
scene's table, by night, deployment, event and hour, rolled up to a rank, the second pipeline
never added; bad input answered 400 naming the field."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.analysis_scene import Scene, build_scene
from tests.support.protocol_client import Protocol, api_get
from tests.support.refusals import answered_as_missing
from tests.support.scenes import API
from tests.support.shared_scenes import Shared, SharedScenes, shared_scenes

#: A row as the tests compare it: its cell (the values of the table's dimensions), the taxon's
#: name (or "label: ..." for an unmapped label) and its individuals.
Row = tuple[Any, ...]


@pytest.fixture(scope="module")
def scenes(request: pytest.FixtureRequest) -> Iterator[SharedScenes[Scene]]:
    """The scene the tests that only read it share (each database's built once)."""
    yield from shared_scenes(request, build_scene)


@pytest.fixture
def scene(proto: Protocol) -> Scene:
    """The scene of a test that changes it."""
    return build_scene(proto)


def _table(proto: Protocol, **params: Any) -> list[Row]:
    table = api_get(proto, f"/projects/{proto.project_id}/counts", **params)
    by = table["by"]
    keys = {"deployment": "deployment", "event": "event_id", "night": "night", "hour": "hour"}
    return [
        (
            *(r[keys[d]] for d in by),
            r["scientific_name"] or f"label: {r['label']}",
            r["individuals"],
        )
        for r in table["rows"]
    ]


def test_species_by_night_as_worked_out_by_hand(shared: Shared[Scene]) -> None:
    proto, scene = shared.proto, shared.scene
    table = api_get(proto, f"/projects/{proto.project_id}/counts")
    assert table["by"] == ["night"]
    assert table["pipeline"] == scene.counted
    assert _table(proto) == [
        ("2024-03-01", "Ardea alba", 2),
        ("2024-03-01", "Ardea cinerea", 2),
        ("2024-03-01", "label: animal", 1),
        ("2024-03-02", "Ardea", 1),
        ("2024-03-02", "Ardea cinerea", 1),
    ]
    # Every occurrence the listing holds is in one cell, once.
    listed = api_get(proto, f"/projects/{proto.project_id}/occurrences")["count"]
    assert sum(r[-1] for r in _table(proto)) == listed == 7


def test_by_deployment_and_night(shared: Shared[Scene]) -> None:
    proto, scene = shared.proto, shared.scene
    assert _table(proto, by="night,deployment") == [
        ("North", "2024-03-01", "Ardea cinerea", 2),
        ("North", "2024-03-01", "Ardea alba", 1),
        ("North", "2024-03-02", "Ardea cinerea", 1),
        ("South", "2024-03-01", "Ardea alba", 1),
        ("South", "2024-03-01", "label: animal", 1),
        ("South", "2024-03-02", "Ardea", 1),
    ]
    assert _table(proto, by="deployment") == [
        ("North", "Ardea cinerea", 3),
        ("North", "Ardea alba", 1),
        ("South", "Ardea", 1),
        ("South", "Ardea alba", 1),
        ("South", "label: animal", 1),
    ]
    assert _table(proto, by="deployment", deployment=scene.south, since="2024-03-02") == [
        ("South", "Ardea", 1)
    ]


def test_by_event(shared: Shared[Scene]) -> None:
    proto, scene = shared.proto, shared.scene
    at = scene.events
    expected = [
        (at["03-01T21:30"], "Ardea cinerea", 2),
        (at["03-01T22:10"], "Ardea alba", 1),
        (at["03-01T22:10"], "label: animal", 1),
        (at["03-02T01:30"], "Ardea alba", 1),
        (at["03-02T21:30"], "Ardea cinerea", 1),
        (at["03-02T23:05"], "Ardea", 1),
    ]
    assert _table(proto, by="event") == sorted(expected, key=lambda r: r[0])


def test_by_hour_of_the_cameras_clock(shared: Shared[Scene]) -> None:
    proto = shared.proto
    # The cameras are in UTC+3: 21:30 there is 18:30 UTC, and counts by 21.
    assert _table(proto, by="hour") == [
        (1, "Ardea alba", 1),
        (21, "Ardea cinerea", 3),
        (22, "Ardea alba", 1),
        (22, "label: animal", 1),
        (23, "Ardea", 1),
    ]
    assert _table(proto, by="night,hour", until="2024-03-01") == [
        ("2024-03-01", 1, "Ardea alba", 1),
        ("2024-03-01", 21, "Ardea cinerea", 2),
        ("2024-03-01", 22, "Ardea alba", 1),
        ("2024-03-01", 22, "label: animal", 1),
    ]


def test_taxa_rolled_up_to_a_rank(shared: Shared[Scene]) -> None:
    proto = shared.proto
    # The person's genus ranks above species: it is counted as itself.
    assert _table(proto, rank="species") == _table(proto)
    assert _table(proto, rank="genus") == [
        ("2024-03-01", "Ardea", 4),
        ("2024-03-01", "label: animal", 1),
        ("2024-03-02", "Ardea", 2),
    ]
    assert _table(proto, rank="family", by="deployment") == [
        ("North", "Ardeidae", 4),
        ("South", "Ardeidae", 2),
        ("South", "label: animal", 1),
    ]


def test_the_other_pipeline_is_counted_only_when_asked(shared: Shared[Scene]) -> None:
    proto, scene = shared.proto, shared.scene
    assert _table(proto, pipeline=scene.other) == [("2024-03-01", "Ardea cinerea", 1)]
    assert _table(proto, pipeline=scene.other, by="hour") == [(21, "Ardea cinerea", 1)]


def test_the_same_table_as_csv(proto: Protocol, scene: Scene) -> None:
    renamed = proto.client.patch(
        f"{API}/deployments/{scene.south}", json={"name": "=South"}, headers=proto.headers
    )
    assert renamed.status_code == 200, renamed.text
    params = {"by": "night,deployment", "format": "csv"}
    answer = proto.client.get(
        f"{API}/projects/{proto.project_id}/counts", params=params, headers=proto.headers
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/csv")
    assert "counts-by-deployment-night.csv" in answer.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(answer.text, newline="")))
    assert rows[0] == [
        "deployment_id", "deployment", "night", "taxon_id", "scientific_name", "rank", "label",
        "individuals",
    ]  # fmt: skip
    as_json = api_get(proto, f"/projects/{proto.project_id}/counts", by="night,deployment")
    assert len(rows) == 1 + len(as_json["rows"]) == 7
    cinerea = scene.taxa["Ardea cinerea"]
    assert rows[1] == [
        str(scene.north), "North", "2024-03-01", str(cinerea), "Ardea cinerea", "species", "", "2"
    ]  # fmt: skip
    # A name a spreadsheet would run as a formula is written as text.
    assert rows[4][:3] == [str(scene.south), "'=South", "2024-03-01"]
    assert rows[5][-2:] == ["animal", "1"]
    for row, listed in zip(rows[1:], as_json["rows"], strict=True):
        assert int(row[-1]) == listed["individuals"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"by": "week"}, "by"),
        ({"by": "night,night"}, "by"),
        ({"by": ""}, "by"),
        ({"rank": "clade"}, "rank"),
        ({"since": "2024-03-02", "until": "2024-03-01"}, "since"),
        ({"since": "20240302"}, "since"),
        ({"format": "xlsx"}, "format"),
        ({"deployment": "0"}, "deployment"),
        ({"pipeline": "nothing"}, "pipeline"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(
    proto: Protocol, params: dict[str, str], field: str
) -> None:
    answer = proto.client.get(
        f"{API}/projects/{proto.project_id}/counts", params=params, headers=proto.headers
    )
    assert answer.status_code == 400, answer.text
    assert field in answer.json()["detail"], answer.json()


def test_another_projects_deployment_answers_as_a_missing_one(
    proto: Protocol, scene: Scene
) -> None:
    made = proto.client.post(f"{API}/projects", json={"name": "Elsewhere"}, headers=proto.headers)
    assert made.status_code == 201, made.text
    path = f"{API}/projects/{made.json()['id']}/counts"
    missing = scene.north + 10**9
    foreign, absent = (
        proto.client.get(path, params={"deployment": d}, headers=proto.headers)
        for d in (scene.north, missing)
    )
    assert foreign.status_code == absent.status_code == 404
    assert foreign.json()["detail"] == f"deployment {scene.north} not found"
    assert answered_as_missing(foreign, absent, scene.north, missing), (foreign.text, absent.text)
