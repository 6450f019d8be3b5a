"""Comparing two pipelines, or two versions of one, on a deployment (issue 59): the boxes
only one drew, those both drew that moved or are named otherwise, and what each counts."""

from __future__ import annotations

from typing import Any

from tests.support.protocol_client import Protocol, api_get
from tests.support.scenes import API, heron, import_md, track_all


def _heron_net() -> dict[str, list[dict[str, Any]]]:
    """Another detector on the heron's ten frames: the same boxes on frames 0-4, moved a
    fifth of the box's width on 5-7, called a person on 8-9, one more box on frame 2 and no
    box where v5a saw a person (frame 4)."""
    found: dict[str, list[dict[str, Any]]] = {}
    for i in range(10):
        shift = 0.04 if 5 <= i <= 7 else 0.0
        category = "2" if i >= 8 else "1"
        box = {"category": category, "conf": 0.9, "bbox": [0.2 + i * 0.01 + shift, 0.3, 0.2, 0.3]}
        found[f"Pond/frame-{i:02d}.jpg"] = [box]
    found["Pond/frame-02.jpg"].append({"category": "1", "conf": 0.7, "bbox": [0.6, 0.1, 0.1, 0.1]})
    return found


def _compare(proto: Protocol, deployment: int, a: str, b: str) -> Any:
    return proto.client.get(
        f"{API}/deployments/{deployment}/compare", params={"a": a, "b": b}, headers=proto.headers
    )


def test_two_pipelines_compared_box_by_box(proto: Protocol) -> None:
    pond, _ = heron(proto)
    v5a = api_get(proto, f"/deployments/{pond}")["counting_pipeline"]
    other = import_md(proto, _heron_net(), detector="heron-net.pt")["pipeline"]
    track_all(proto)
    answer = _compare(proto, pond, v5a, other)
    assert answer.status_code == 200, answer.text
    found = answer.json()
    counts = {k: found[k] for k in ("photos", "only_a", "only_b", "same", "moved", "relabelled")}
    assert counts == {
        "photos": 10, "only_a": 1, "only_b": 1, "same": 5, "moved": 3, "relabelled": 2,
    }  # fmt: skip
    (alone,) = found["examples"]["only_a"]
    assert (alone["a"]["label"], alone["b"]) == ("person", None)
    renamed = found["examples"]["relabelled"][0]
    assert (renamed["a"]["label"], renamed["b"]["label"]) == ("animal", "person")
    assert {r["label"]: r["count"] for r in found["boxes_a"]} == {"animal": 10, "person": 1}
    assert sum(r["count"] for r in found["individuals_a"]) == 2  # the heron and the person
    assert found["individuals_b"] is not None
    assert found["capped"] is False


def test_a_comparison_names_what_is_wrong_with_its_sides(proto: Protocol) -> None:
    pond, _ = heron(proto)
    v5a = api_get(proto, f"/deployments/{pond}")["counting_pipeline"]
    unknown = _compare(proto, pond, "nothing", v5a)
    assert unknown.status_code == 400
    assert "a: 'nothing' is not a pipeline of project" in unknown.json()["detail"]
    no_version = _compare(proto, pond, v5a, f"{v5a}@7")
    assert no_version.status_code == 400
    assert f"b: '{v5a}' has no version 7 in project" in no_version.json()["detail"]
    assert "(its versions: 1)" in no_version.json()["detail"]
    assert _compare(proto, pond + 99, v5a, v5a).status_code == 404


def test_two_versions_of_one_pipeline_compared(proto: Protocol) -> None:
    """v5b (version 2 of the same import pipeline) on the same frames, boxes a little off."""
    pond, _ = heron(proto)
    slug = api_get(proto, f"/deployments/{pond}")["counting_pipeline"]
    moved = {
        f"Pond/frame-{i:02d}.jpg": [
            {"category": "1", "conf": 0.85, "bbox": [0.2 + i * 0.01 + 0.04, 0.3, 0.2, 0.3]}
        ]
        for i in range(10)
    }
    assert import_md(proto, moved, detector="md_v5b.0.0.pt")["pipeline_version"] == 2
    track_all(proto)
    found = _compare(proto, pond, f"{slug}@1", f"{slug}@2").json()
    assert (found["a"], found["b"], found["photos"]) == (f"{slug} v1", f"{slug} v2", 10)
    assert (found["moved"], found["only_a"], found["only_b"]) == (10, 1, 0)
    assert found["individuals_a"] is None  # occurrences are of current results only
