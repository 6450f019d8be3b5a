"""camtrapR's tables started from the export form in-process, on the scene of
tests/support/camtrap_scene.py: the form is filled with camtrapR's defaults, a setting left so
is not stored, a changed one is, the file is the API's table for the same settings; a mistake
is told beside its field and the form keeps what was typed."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.support.accounts import Account
from tests.support.camtrap_scene import CamtrapScene, build_camtrap_scene, csv_of
from tests.support.exports import Seeded
from tests.support.protocol_client import Protocol
from tests.support.shared_scenes import Shared, SharedScenes, shared_scenes
from tests.support.web import Browser

#: The form as the page fills it (its table fields at camtrapR's defaults), all groups sent,
#: as a browser without the page's script sends it.
FILLED = {
    "format": "csv", "deployment_id": "", "date_from": "", "date_to": "", "collection_id": "",
    "job_id": "", "pipeline": "", "pipeline_version": "", "min_confidence": "",
    "observation_level": "media", "min_delta_minutes": "0", "delta_compared_to": "lastRecord",
    "remove_duplicate_records": "true", "empty_days": "off", "setup_days": "half", "taxon": "",
    "occasion_length": "1", "day1": "station", "output": "binary", "min_active_days": "",
}  # fmt: skip


@pytest.fixture(scope="module")
def scenes(request: pytest.FixtureRequest) -> Iterator[SharedScenes[CamtrapScene]]:
    """The scene the tests that only read it share (each database's built once)."""
    yield from shared_scenes(request, build_camtrap_scene)


@pytest.fixture
def scene(proto: Protocol) -> CamtrapScene:
    """The scene of a test that changes it."""
    return build_camtrap_scene(proto)


def _start(browser: Browser, project_id: int, **fields: str) -> Any:
    page = f"/projects/{project_id}/exports"
    return browser.post(page, {**FILLED, **fields}, csrf_from=page)


def _newest(proto: Protocol) -> dict[str, Any]:
    listed = proto.client.get(
        f"/api/v2/projects/{proto.project_id}/exports", headers=proto.headers
    ).json()
    return dict(listed["results"][0])


def _error(html: str, field: str) -> str:
    found = re.search(rf'<p class="error" id="{field}-error" role="alert">([^<]*)</p>', html)
    assert found, f"no error beside {field}"
    return found.group(1)


def test_the_form_offers_the_tables_with_camtraprs_defaults(
    proto: Protocol, sign_in: Callable[[Account], Browser]
) -> None:
    html = sign_in(proto.account).page(f"/projects/{proto.project_id}/exports")
    for fmt in ("record-table", "camera-operation", "detection-hist"):
        assert f'<option value="{fmt}">' in html
    assert 'name="min_delta_minutes" inputmode="decimal" value="0"' in html
    for name, value in (("delta_compared_to", "lastRecord"), ("remove_duplicate_records", "true"),
                        ("setup_days", "half"), ("empty_days", "off"), ("day1", "station"),
                        ("output", "binary")):  # fmt: skip
        select = re.search(rf'<select id="[^"]+" name="{name}".*?</select>', html, re.S)
        assert select, name
        assert f'<option value="{value}" selected>' in select.group(0), name
    assert 'name="occasion_length" inputmode="numeric" value="1"' in html
    assert 'data-formats="record-table detection-hist"' in html


def test_tables_from_the_form_are_the_apis(
    proto: Protocol, scene: CamtrapScene, sign_in: Callable[[Account], Browser]
) -> None:
    browser = sign_in(proto.account)
    p = proto.project_id
    exports = Seeded(proto, p, {"A": scene.a, "B": scene.b}, {}, {})

    # Left as filled: camtrapR's defaults, and nothing stored as a filter.
    started = _start(browser, p, format="record-table")
    assert started.status_code == 303, started.text[:800]
    default = _newest(proto)
    assert (default["format"], default["filters"]) == ("record-table", {})
    done = exports.wait(default["id"])
    assert done["counts"]["rows"] == 9
    assert exports.download(done["id"]) == csv_of(proto, "record-table")

    started = _start(
        browser, p, format="record-table", min_delta_minutes="30",
        delta_compared_to="lastIndependentRecord", remove_duplicate_records="false",
    )  # fmt: skip
    assert started.status_code == 303, started.text[:800]
    made = _newest(proto)
    assert made["filters"] == {
        "min_delta_minutes": 30.0,
        "delta_compared_to": "lastIndependentRecord",
        "remove_duplicate_records": False,
    }
    done = exports.wait(made["id"])
    assert exports.download(done["id"]) == csv_of(
        proto, "record-table", min_delta_minutes=30,
        delta_compared_to="lastIndependentRecord", remove_duplicate_records="false",
    )  # fmt: skip

    started = _start(browser, p, format="camera-operation", setup_days="whole",
                     empty_days="operating")  # fmt: skip
    assert started.status_code == 303, started.text[:800]
    made = _newest(proto)
    assert made["filters"] == {"setup_days": "whole", "empty_days": "operating"}
    done = exports.wait(made["id"])
    assert exports.download(done["id"]) == csv_of(
        proto, "camera-operation", setup_days="whole", empty_days="operating"
    )

    # The taxon as its picker posts it, a decimal comma, a box.
    started = _start(
        browser, p, format="detection-hist", taxon="Ardea alba (species)",
        occasion_length="2", min_delta_minutes="30,0", output="count", day1="survey",
        include_effort="on",
    )  # fmt: skip
    assert started.status_code == 303, started.text[:800]
    made = _newest(proto)
    alba = scene.taxa["Ardea alba"]
    assert made["filters"] == {
        "taxon_id": alba, "occasion_length": 2, "min_delta_minutes": 30.0, "output": "count",
        "day1": "survey", "include_effort": True,
    }  # fmt: skip
    done = exports.wait(made["id"])
    assert exports.download(done["id"]) == csv_of(
        proto, "detection-history", taxon=alba, occasion_length=2, min_delta_minutes=30,
        output="count", day1="survey", include_effort="true",
    )  # fmt: skip
    listing = browser.page(f"/projects/{p}/exports")
    assert "taxon Ardea alba" in listing
    assert "taxon Ardea alba" in browser.page(f"/exports/{made['id']}")


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"format": "detection-hist"}, "taxon", "needs a taxon"),
        ({"format": "detection-hist", "taxon": "Ardea nowhere"}, "taxon", "no taxon"),
        ({"format": "detection-hist", "taxon": "Ardea alba", "occasion_length": "2",
          "min_active_days": "3"}, "min_active_days", "from 1 to occasion_length"),
        ({"format": "detection-hist", "taxon": "Ardea alba", "occasion_length": "zero"},
         "occasion_length", "a whole number from 1 to 366"),
        ({"format": "record-table", "min_delta_minutes": "-5"}, "min_delta_minutes",
         "a number from 0"),
        ({"format": "csv", "min_delta_minutes": "30"}, "min_delta_minutes",
         "goes only with the record-table"),
        ({"format": "camera-operation", "remove_duplicate_records": "false"},
         "remove_duplicate_records", "does not apply to a camera-operation export"),
        ({"format": "record-table", "include_empty": "on"}, "include_empty",
         "does not apply to a record-table export"),
        ({"format": "record-table", "setup_days": "noon"}, "setup_days", "half"),
        ({"format": "camera-operation", "pipeline": "none-such"}, "pipeline", "pipeline"),
    ],
)  # fmt: skip
def test_a_mistake_is_told_beside_its_field(
    shared: Shared[CamtrapScene], fields: dict[str, str], field: str, words: str
) -> None:
    proto, browser = shared.proto, shared.browser()
    answer = _start(browser, proto.project_id, **fields)
    assert answer.status_code == 400, answer.text[:500]
    html = answer.text
    error_id = "e-taxon" if field == "taxon" else field
    assert words in _error(html, error_id)
    for name, typed in fields.items():  # what was typed stays
        if name in ("min_delta_minutes", "occasion_length", "min_active_days", "taxon"):
            assert re.search(rf'name="{name}"[^>]*value="{re.escape(typed)}"', html), name
    listed = proto.client.get(
        f"/api/v2/projects/{proto.project_id}/exports", headers=proto.headers
    ).json()
    assert listed["count"] == 0
