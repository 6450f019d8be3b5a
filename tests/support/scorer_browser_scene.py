"""The detection scorer scene made through the API of a real server (``scorer_scene.py``'s
nights: moths and pale stains, one photo a night), for the browser tests."""

from __future__ import annotations

from datetime import timedelta

from tests.support.browser import App, ok_json
from tests.support.protocol import detection, pipeline_config, registration, success
from tests.support.scorer_scene import T0, stained_jpeg, stained_photo
from tests.support.waiting import wait_until

Rect = tuple[float, float, float, float]


def stained_nights(app: App, name: str, nights: int) -> tuple[int, dict[int, list[int]]]:
    """A project with ``nights`` stained photos, the test pipeline's box on every moth and
    stain of each, nothing reviewed: the project, and each night's boxes (moths, then stains)."""
    project = ok_json(app.api("POST", "/projects/", json={"name": name}), 201)["id"]
    body = {"name": "Sheet", "time_zone": "UTC"}
    sheet = ok_json(app.api("POST", f"/projects/{project}/deployments/", json=body), 201)["id"]
    photos = []
    for night in range(nights):  # one a request: the test server's limits are small
        jpeg = stained_jpeg(night, T0 + timedelta(days=night))
        made = app.api(
            "POST",
            f"/projects/{project}/images/",
            files=[("files", (f"night-{night}.jpg", jpeg, "image/jpeg"))],
            data={"deployment_id": str(sheet)},
        )
        photos.append(int(ok_json(made, 201)["results"][0]["id"]))
    registered = app.api(
        "POST", f"/projects/{project}/pipelines/", json=registration(pipeline_config())
    )
    ok_json(registered, 201)
    asked = {"project_id": project, "pipeline": "moth-test", "params": {"max_attempts": 1}}
    job = ok_json(app.api("POST", "/jobs/", json=asked), 201)["id"]
    wait_until(
        lambda: app.api("GET", f"/jobs/{job}/").json()["status"] == "running",
        timeout=60,
        what="the job to start",
    )
    tasks = ok_json(app.api("POST", f"/jobs/{job}/tasks/", json={"batch_size": 20}))["tasks"]
    by_image = {int(t["image_id"]): t for t in tasks}
    items = []
    for night, image in enumerate(photos):
        _, moths, stains = stained_photo(night)
        task = by_image[image]
        items.append(success(task, *(detection(task, bbox=b) for b in (*moths, *stains))))
    answer = ok_json(app.api("POST", f"/jobs/{job}/result/", json={"results": items}))
    assert {t["status"] for t in answer["tasks"]} == {"saved"}, answer
    boxes = ok_json(
        app.api(
            "GET",
            f"/projects/{project}/annotations",
            params={"type": "bounding_box", "limit": 100},
        )
    )["results"]
    by_night: dict[int, list[int]] = {}
    for night, image in enumerate(photos):
        _, moths, stains = stained_photo(night)
        mine = {_rect(b): int(b["id"]) for b in boxes if int(b["image_id"]) == image}
        by_night[night] = [mine[r] for r in (*moths, *stains)]
    return project, by_night


def review_nights(app: App, boxes: dict[int, list[int]], nights: range, moths: int) -> None:
    """People's reviews of ``nights``: each night's first ``moths`` boxes confirmed (the
    moths), the others rejected (the stains)."""
    for night in nights:
        for n, box in enumerate(boxes[night]):
            verdict = "confirm" if n < moths else "false_detection"
            path = f"/annotations/{box}/reviews"
            ok_json(app.api("POST", path, json={"verdict": verdict}), 201)


def _rect(box: dict[str, dict[str, float]]) -> Rect:
    b = box["bbox"]
    return (b["x1"], b["y1"], b["x2"], b["y2"])
