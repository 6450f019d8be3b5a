"""camtrapR's tables as exports (``record-table``, ``camera-operation``, ``detection-hist``)
on the scene of tests/support/camtrap_scene.py: each file is the API's ``format=csv`` answer to
the same settings (tests/app/events/test_camtrap_tables.py compares those with tables worked
out by hand); filters the tables do not take, or take only, refused naming them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.camtrap_scene import CamtrapScene, build_camtrap_scene, csv_of
from tests.support.exports import Seeded
from tests.support.protocol_client import Protocol
from tests.support.shared_scenes import Shared, SharedScenes, shared_scenes
from trapline.db.tables import ExportRow
from trapline.domain.exports.exports import ExportFormat


@pytest.fixture(scope="module")
def scenes(request: pytest.FixtureRequest) -> Iterator[SharedScenes[CamtrapScene]]:
    """The scene the tests that only read it share (each database's built once)."""
    yield from shared_scenes(request, build_camtrap_scene)


@pytest.fixture
def scene(proto: Protocol) -> CamtrapScene:
    """The scene of a test that changes it."""
    return build_camtrap_scene(proto)


def test_camtrapr_tables_as_exports(proto: Protocol, scene: CamtrapScene) -> None:
    exports = Seeded(proto, proto.project_id, {"A": scene.a, "B": scene.b}, {}, {})
    done = exports.export(
        format="record-table", min_delta_minutes=30, delta_compared_to="lastIndependentRecord"
    )
    assert done["status"] == "succeeded", done
    assert done["counts"]["rows"] == 7
    assert done["file_name"].endswith(".csv")
    expected = csv_of(
        proto, "record-table", min_delta_minutes=30, delta_compared_to="lastIndependentRecord"
    )
    assert exports.download(done["id"]) == expected
    only_b = exports.export(format="record-table", deployment_id=scene.b, date_from="2024-03-03")
    assert exports.download(only_b["id"]) == csv_of(
        proto, "record-table", deployment=scene.b, since="2024-03-03"
    )
    operation = exports.export(format="camera-operation", empty_days="operating")
    assert operation["status"] == "succeeded", operation
    assert exports.download(operation["id"]) == csv_of(
        proto, "camera-operation", empty_days="operating"
    )
    history = {"occasion_length": 2, "day1": "survey", "output": "count",
               "min_delta_minutes": 30, "include_effort": True}  # fmt: skip
    made = exports.export(format="detection-hist", taxon_id=scene.taxa["Ardea cinerea"],
                          **history)  # fmt: skip
    assert made["status"] == "succeeded", made
    assert made["errors"] == []
    assert exports.download(made["id"]) == csv_of(
        proto, "detection-history", taxon=scene.taxa["Ardea cinerea"], **history
    )
    never = exports.export(format="detection-hist", taxon_id=scene.taxa["Egretta garzetta"])
    assert never["status"] == "succeeded", never
    assert "no records" in never["errors"][0]


def test_camtrapr_defaults_and_their_alternatives_as_exports(
    proto: Protocol, scene: CamtrapScene
) -> None:
    exports = Seeded(proto, proto.project_id, {"A": scene.a, "B": scene.b}, {}, {})
    # camtrapR's default: a1b and b1b (second individuals in a photo) are not records.
    default = exports.export(format="record-table")
    assert (default["counts"]["rows"], default["filters"]) == (9, {})
    assert exports.download(default["id"]) == csv_of(proto, "record-table")
    every = exports.export(format="record-table", remove_duplicate_records=False)
    assert (every["counts"]["rows"], every["filters"]) == (11, {"remove_duplicate_records": False})
    assert exports.download(every["id"]) == csv_of(
        proto, "record-table", remove_duplicate_records="false"
    )
    operation = exports.export(format="camera-operation")
    assert b",0.5,1,0,0.5" in exports.download(operation["id"])
    whole = exports.export(format="camera-operation", setup_days="whole")
    assert whole["filters"] == {"setup_days": "whole"}
    assert exports.download(whole["id"]) == csv_of(proto, "camera-operation", setup_days="whole")
    history = {"occasion_length": 2, "output": "count", "include_effort": True,
               "remove_duplicate_records": False, "setup_days": "whole"}  # fmt: skip
    alba = scene.taxa["Ardea alba"]
    made = exports.export(format="detection-hist", taxon_id=alba, **history)
    assert made["status"] == "succeeded", made
    assert exports.download(made["id"]) == csv_of(
        proto, "detection-history", taxon=alba,
        **{**history, "remove_duplicate_records": "false", "include_effort": "true"},
    )  # fmt: skip


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"format": "record-table", "include_empty": True}, "include_empty"),
        ({"format": "camera-operation", "min_delta_minutes": 5}, "min_delta_minutes"),
        ({"format": "camera-operation", "remove_duplicate_records": False},
         "remove_duplicate_records"),
        ({"format": "csv", "setup_days": "whole"}, "setup_days"),
        ({"format": "record-table", "setup_days": "whole"}, "setup_days"),
        ({"format": "camera-operation", "setup_days": "noon"}, "setup_days"),
        ({"format": "record-table", "pipeline": "nothing-here"}, "pipeline"),
        ({"format": "record-table", "date_from": "2024-03-04", "date_to": "2024-03-01"},
         "date_from"),
        ({"format": "csv", "min_delta_minutes": 5}, "min_delta_minutes"),
        ({"format": "record-table", "min_delta_minutes": -5}, "min_delta_minutes"),
        ({"format": "csv", "taxon_id": 1}, "taxon_id"),
        ({"format": "record-table", "occasion_length": 2}, "occasion_length"),
        ({"format": "detection-hist"}, "taxon_id"),
        ({"format": "detection-hist", "taxon_id": 10**9}, "taxon_id"),
        ({"format": "detection-hist", "taxon_id": 1, "occasion_length": 0},
         "occasion_length"),
        ({"format": "detection-hist", "taxon_id": 1, "occasion_length": 2,
          "min_active_days": 3}, "min_active_days"),
    ],
)  # fmt: skip
def test_table_exports_refuse_filters_they_do_not_take(
    shared: Shared[CamtrapScene], body: dict[str, Any], field: str
) -> None:
    proto, scene = shared.proto, shared.scene
    exports = Seeded(proto, proto.project_id, {"A": scene.a, "B": scene.b}, {}, {})
    if body.get("taxon_id") == 1:
        body = {**body, "taxon_id": scene.taxa["Ardea alba"]}
    answer = exports.create(**body)
    assert answer.status_code == 400, answer.text
    assert field in answer.text


def test_every_export_format_fits_its_column() -> None:
    # The formats' names are stored in exports.format; "detection-history" would not fit.
    length = ExportRow.__table__.c.format.type.length
    assert all(len(f.value) <= length for f in ExportFormat), length
