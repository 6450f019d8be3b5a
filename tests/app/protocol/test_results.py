"""Posting results: per-item statuses, what gets stored, and how jobs end."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support.app_client import AppClient
from tests.support.protocol import (
    LABELS,
    PIPELINE_SLUG,
    detection,
    failure,
    pipeline_config,
    success,
)
from tests.support.protocol_client import API, Protocol, statuses
from trapline.domain.core import paging

FINAL = {"succeeded", "completed_with_errors", "failed", "canceled"}
TASK_STATUSES = ("queued", "leased", "succeeded", "failed", "canceled")


def _counters_match_task_lists(proto: Protocol, job_id: int) -> None:
    counts = proto.job(job_id)["counts"]
    listed = {s: proto.tasks(job_id, s)["count"] for s in TASK_STATUSES}
    assert listed == {s: counts[s] for s in TASK_STATUSES}
    assert sum(listed.values()) == counts["total"]


def test_a_saved_result_becomes_one_analysis_with_its_annotations(registered: Protocol) -> None:
    registered.images(1)
    job = registered.job_that_runs()
    (task,) = registered.claim(job["id"], 1)
    response = registered.post_response(job["id"], success(task, detection(task)))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["results_queued"] == 1
    assert body["tasks"] == [
        {
            "reply_subject": task["reply_subject"],
            "status": "saved",
            "task_id": task["id"],
            "detail": None,
        }
    ]

    (analysis,) = registered.image(int(task["image_id"]))["analyses"]
    assert analysis["job_id"] == job["id"]
    assert analysis["pipeline_slug"] == PIPELINE_SLUG
    assert analysis["pipeline_version"] == 1
    assert analysis["status"] == "completed"
    assert analysis["created_at"]
    assert analysis["completed_at"]
    box, label = analysis["annotations"]
    assert box["type"] == "bounding_box"
    assert box["bbox"] == {"x1": 10, "y1": 12, "x2": 60, "y2": 70}
    assert box["parent_id"] is None
    assert label["type"] == "classification"
    assert label["parent_id"] == box["id"]
    assert label["label"] == "moth"
    assert label["confidence"] == 0.7
    assert label["data"]["labels"] == LABELS
    assert label["data"]["scores"] == [0.7, 0.2, 0.1]


def test_inference_times_that_are_not_finite_are_stored_as_null(registered: Protocol) -> None:
    # JSON from Python's json module may carry Infinity and NaN; stored JSON may not.
    registered.images(1)
    job = registered.job_that_runs()
    (task,) = registered.claim(job["id"], 1)
    found = detection(task)
    found["inference_time"] = float("inf")
    found["classifications"][0]["inference_time"] = float("nan")
    response = registered.client.post(
        f"{API}/jobs/{job['id']}/result/",
        content=json.dumps({"results": [success(task, found)]}),
        headers={**registered.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 200, response.text
    assert statuses(response.json()["tasks"]) == ["saved"]
    (analysis,) = registered.image(int(task["image_id"]))["analyses"]
    box, label = analysis["annotations"]
    assert box["data"] == {"inference_time": None}
    assert label["data"]["inference_time"] is None
    assert label["data"]["scores"] == [0.7, 0.2, 0.1]


def test_posting_the_same_result_again_is_a_duplicate_stored_once(registered: Protocol) -> None:
    registered.images(1)
    job_id = registered.job_that_runs()["id"]
    (task,) = registered.claim(job_id, 1)
    assert statuses(registered.post(job_id, success(task, detection(task)))) == ["saved"]
    (again,) = registered.post(job_id, success(task, detection(task, label="fly")))
    assert again["status"] == "duplicate"
    assert again["task_id"] == task["id"]
    (analysis,) = registered.image(int(task["image_id"]))["analyses"]
    assert [a["label"] for a in analysis["annotations"]] == [None, "moth"]


def test_an_error_result_on_the_last_try_dead_letters_the_task(registered: Protocol) -> None:
    registered.images(3)
    job_id = registered.job_that_runs(params={"max_attempts": 1})["id"]
    good, bad, fine = registered.claim(job_id, 3)
    answers = registered.post(
        job_id,
        success(good, detection(good)),
        failure(bad, "failed to load image"),
        success(fine, detection(fine)),
    )
    assert statuses(answers) == ["saved", "failed", "saved"]

    assert registered.wait(job_id, FINAL)["status"] == "completed_with_errors"
    (dead,) = registered.tasks(job_id, "failed")["results"]
    assert str(dead["id"]) == bad["id"]
    assert dead["last_error"] == "failed to load image"
    assert dead["attempts"] == 1
    assert registered.image(int(bad["image_id"]))["analyses"] == []
    _counters_match_task_lists(registered, job_id)


def test_a_first_error_with_tries_left_puts_the_task_back_in_the_queue(
    registered: Protocol,
) -> None:
    registered.images(1)
    job_id = registered.job_that_runs(params={"max_attempts": 2})["id"]
    (task,) = registered.claim(job_id, 1)
    assert statuses(registered.post(job_id, failure(task, "timeout"))) == ["failed"]

    (queued,) = registered.tasks(job_id, "queued")["results"]
    assert str(queued["id"]) == task["id"]
    assert queued["attempts"] == 1
    assert queued["last_error"] == "timeout"
    assert registered.tasks(job_id, "failed")["count"] == 0
    job = registered.job(job_id)
    assert job["status"] == "running"
    assert job["counts"]["queued"] == 1
    # The same token cannot fail the task twice.
    (again,) = registered.post(job_id, failure(task, "timeout"))
    assert again["status"] == "rejected"


def test_each_bad_item_is_rejected_with_a_reason_and_a_refused_result_fails_its_task(
    registered: Protocol,
) -> None:
    """Items that name no task of the job are rejected and change nothing; a result whose
    content breaks the rules is rejected too, and its task fails at once with the reason (on
    the task and in the job's history) instead of staying leased until its lease runs out."""
    registered.images(9)
    job_id = registered.job_that_runs()["id"]
    other_job = registered.job_that_runs(params={"reprocess": True})["id"]
    t = registered.claim(job_id, 9)
    (elsewhere,) = registered.claim(other_job, 1)

    forged = success(t[1], detection(t[1]))
    forged["reply_subject"] = t[1]["reply_subject"][:-3] + (
        "xyz" if not t[1]["reply_subject"].endswith("xyz") else "abc"
    )
    unsigned = success(t[1], detection(t[1]))
    del unsigned["reply_subject"]
    items: list[tuple[str, dict[str, Any], str | None]] = [
        ("saved", success(t[0], detection(t[0])), None),
        ("rejected", forged, "reply_subject"),
        ("rejected", unsigned, "reply_subject"),
        ("rejected", success(elsewhere, detection(elsewhere)), str(other_job)),
        (
            "rejected",
            success(t[2], detection(t[2], classifier_key="moth-test-unknown")),
            "moth-test-unknown",
        ),
        ("rejected", success(t[3], detection(t[3], label="butterfly")), "butterfly"),
        ("rejected", success(t[4], detection(t[4], bbox=(10, 10, 400, 100))), "outside"),
        ("rejected", success(t[5], detection(t[5], bbox=(60, 70, 10, 12))), "inverted"),
        ("rejected", success(t[6], detection(t[6], scores=[1.5, 0.2, 0.1])), "1.5"),
        ("rejected", success(t[7], detection(t[7]), slug="other-pipe"), "other-pipe"),
        ("rejected", success(t[8], detection(t[8], scores=[-0.1, 0.6, 0.5])), "-0.1"),
        ("saved", success(t[1], detection(t[1])), None),
    ]
    answers = registered.post(job_id, *(item for _, item, _ in items))

    assert statuses(answers) == [status for status, _, _ in items]
    for (_, _, reason), answer in zip(items, answers, strict=True):
        if reason is not None:
            assert reason in (answer["detail"] or ""), answer
    for task in t[:2]:
        assert len(registered.image(int(task["image_id"]))["analyses"]) == 1
    for task in t[2:]:
        assert registered.image(int(task["image_id"]))["analyses"] == []
    job = registered.job(job_id)
    assert (job["counts"]["succeeded"], job["counts"]["failed"]) == (2, 7)
    failed = {t["id"]: t["last_error"] for t in registered.tasks(job_id, "failed")["results"]}
    for task, (_, _, reason) in zip(t[2:], items[4:11], strict=True):
        assert reason in failed[int(task["id"])], failed
        assert failed[int(task["id"])].startswith("the result from "), failed
    history = [e["message"] for e in job["events"]]
    assert any(m.startswith("7 results from ") and " refused" in m for m in history), history
    assert registered.job(other_job)["counts"]["succeeded"] == 0
    assert registered.job(other_job)["counts"]["failed"] == 0


def test_a_bare_list_body_is_400(registered: Protocol) -> None:
    registered.images(1)
    job_id = registered.job_that_runs()["id"]
    (task,) = registered.claim(job_id, 1)
    response = registered.client.post(
        f"{API}/jobs/{job_id}/result/",
        json=[success(task, detection(task))],
        headers=registered.headers,
    )
    assert response.status_code == 400, response.text
    assert "results" in response.json()["detail"]
    assert registered.job(job_id)["counts"]["succeeded"] == 0


def test_an_image_without_detections_gets_an_empty_analysis(registered: Protocol) -> None:
    registered.images(1)
    job_id = registered.job_that_runs()["id"]
    (task,) = registered.claim(job_id, 1)
    assert statuses(registered.post(job_id, success(task))) == ["saved"]
    (analysis,) = registered.image(int(task["image_id"]))["analyses"]
    assert analysis["status"] == "completed"
    assert analysis["annotations"] == []
    assert analysis["note"] is None
    assert registered.wait(job_id, FINAL)["status"] == "succeeded"


def test_a_result_that_says_why_it_found_nothing_keeps_the_note(registered: Protocol) -> None:
    registered.images(2)
    job_id = registered.job_that_runs()["id"]
    tasks = registered.claim(job_id, 2)
    said = "not a light-trap photo: 54% of it looks like a lit sheet"
    items = [success(tasks[0]), success(tasks[1])]
    items[0]["result"]["note"] = said
    items[1]["result"]["note"] = "x" * 5_000  # kept to its first thousand characters
    assert statuses(registered.post(job_id, *items)) == ["saved", "saved"]
    notes = [registered.image(int(t["image_id"]))["analyses"][0]["note"] for t in tasks]
    assert notes == [said, "x" * 1_000]


def test_a_job_ends_by_its_failure_ratio(registered: Protocol) -> None:
    registered.images(3)
    expected = {0.2: "failed", 0.4: "completed_with_errors"}
    for threshold, outcome in expected.items():
        params = {"max_attempts": 1, "failure_threshold": threshold, "reprocess": True}
        job_id = registered.job_that_runs(params=params)["id"]
        one, two, three = registered.claim(job_id, 3)
        answers = registered.post(
            job_id, success(one, detection(one)), failure(two), success(three, detection(three))
        )
        assert statuses(answers) == ["saved", "failed", "saved"]
        assert registered.wait(job_id, FINAL)["status"] == outcome, threshold
        _counters_match_task_lists(registered, job_id)

    job_id = registered.job_that_runs(params={"reprocess": True, "failure_threshold": 0.0})["id"]
    tasks = registered.claim(job_id, 3)
    assert set(statuses(registered.post(job_id, *(success(t) for t in tasks)))) == {"saved"}
    assert registered.wait(job_id, FINAL)["status"] == "succeeded"
    _counters_match_task_lists(registered, job_id)


def test_annotations_are_listed_with_filters(
    registered: Protocol, monkeypatch: pytest.MonkeyPatch
) -> None:
    deployment = registered.deployment()
    (at_trap,) = registered.images(1, names=["a-20240601220000.jpg"], deployment_id=str(deployment))
    (later,) = registered.images(1, names=["b-20240603220000.jpg"])
    job_id = registered.job_that_runs()["id"]
    tasks = {int(t["image_id"]): t for t in registered.claim(job_id, 2)}
    moth = detection(tasks[at_trap], label="moth", scores=[0.9, 0.05, 0.05])
    beetle = detection(tasks[later], label="beetle", scores=[0.3, 0.6, 0.1])
    answers = registered.post(job_id, success(tasks[at_trap], moth), success(tasks[later], beetle))
    assert statuses(answers) == ["saved", "saved"]
    idle_job = registered.create_job(start_now=False).json()["id"]

    def found(**params: object) -> list[tuple[int, str, str | None]]:
        response = registered.client.get(
            f"{API}/projects/{registered.project_id}/annotations/",
            params=params,
            headers=registered.headers,
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["count"] == len(body["results"])
        return sorted((a["image_id"], a["type"], a["label"]) for a in body["results"])

    boxes = [(at_trap, "bounding_box", None), (later, "bounding_box", None)]
    labels = [(at_trap, "classification", "moth"), (later, "classification", "beetle")]
    assert found(type="bounding_box") == boxes
    assert found(type="classification") == sorted(labels)
    assert found(label="moth") == [(at_trap, "classification", "moth")]
    assert found(min_confidence=0.8) == [(at_trap, "classification", "moth")]
    assert found(min_confidence=0.5) == sorted(labels)
    assert found(job=job_id) == sorted(boxes + labels)
    assert found(job=idle_job) == []
    assert found(deployment=deployment) == sorted([boxes[0], labels[0]])
    assert found(captured_after="2024-06-02T00:00:00") == sorted([boxes[1], labels[1]])
    assert found(captured_before="2024-06-02T00:00:00") == sorted([boxes[0], labels[0]])
    assert found(type="classification", deployment=deployment) == [labels[0]]

    page = registered.client.get(
        f"{API}/projects/{registered.project_id}/annotations",
        params={"limit": 3},
        headers=registered.headers,
    ).json()
    assert page["count"] == 4
    assert len(page["results"]) == 3
    assert page["next"]

    # Past the cap the matches are not counted (a project holds millions); the links still
    # say whether more follow.
    monkeypatch.setattr(paging, "COUNTED_UP_TO", 2)

    def capped(**params: Any) -> dict[str, Any]:
        return dict(
            registered.client.get(
                f"{API}/projects/{registered.project_id}/annotations",
                params=params,
                headers=registered.headers,
            ).json()
        )

    first, last = capped(limit=3), capped(limit=3, offset=3)
    assert (first["count"], len(first["results"]), bool(first["next"])) == (None, 3, True)
    assert (last["count"], len(last["results"]), last["next"]) == (None, 1, None)
    assert capped(type="bounding_box")["count"] == 2


def test_annotations_page_by_cursor_both_ways(registered: Protocol) -> None:
    registered.images(3)
    job_id = registered.job_that_runs()["id"]
    tasks = registered.claim(job_id, 3)
    answers = registered.post(job_id, *(success(t, detection(t), detection(t)) for t in tasks))
    assert statuses(answers) == ["saved"] * 3
    url = f"{API}/projects/{registered.project_id}/annotations"

    def page(link: str | None = None, **params: Any) -> dict[str, Any]:
        query = params or None  # a link carries its own
        answer = registered.client.get(link or url, params=query, headers=registered.headers)
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    everything = [a["id"] for a in page(limit=100)["results"]]
    assert len(everything) == 12  # a box and its classification, twice a photo
    walked, first = [], page(limit=5)
    assert first["previous"] is None
    current = first
    while True:
        walked.append([a["id"] for a in current["results"]])
        if not current["next"]:
            break
        assert "cursor=" in current["next"]
        current = page(current["next"])
    assert [i for p in walked for i in p] == everything
    assert [len(p) for p in walked] == [5, 5, 2]
    back = page(current["previous"])
    assert [a["id"] for a in back["results"]] == walked[1]
    assert page(limit=5, offset=5)["results"] == page(limit=100)["results"][5:10]


def test_a_corrected_result_after_a_rejected_one_in_the_same_request_is_saved(
    registered: Protocol,
) -> None:
    registered.images(1)
    job_id = registered.job_that_runs()["id"]
    (task,) = registered.claim(job_id, 1)
    answers = registered.post(
        job_id,
        success(task, detection(task, label="butterfly")),
        success(task, detection(task)),
    )
    assert statuses(answers) == ["rejected", "saved"]
    assert len(registered.image(int(task["image_id"]))["analyses"]) == 1


def test_a_malformed_item_is_rejected_alone(registered: Protocol) -> None:
    registered.images(2)
    job_id = registered.job_that_runs()["id"]
    good, bad = registered.claim(job_id, 2)
    client = AppClient(registered.client.app, raise_server_exceptions=False)
    response = client.post(
        f"{API}/jobs/{job_id}/result/",
        json={
            "results": [
                success(good, detection(good)),
                {"reply_subject": bad["reply_subject"], "result": "not an object"},
            ]
        },
        headers=registered.headers,
    )
    assert response.status_code == 200, response.text
    assert statuses(response.json()["tasks"]) == ["saved", "rejected"]


def test_malformed_result_bodies_are_400(registered: Protocol) -> None:
    registered.images(1)
    job_id = registered.job_that_runs()["id"]
    (task,) = registered.claim(job_id, 1)
    client = AppClient(registered.client.app, raise_server_exceptions=False)
    bodies: dict[str, Any] = {
        "results missing": {},
        "results not a list": {"results": "many"},
        "client_info not an object": {
            "results": [success(task, detection(task))],
            "client_info": "gpu-1",
        },
    }
    got = {
        what: client.post(
            f"{API}/jobs/{job_id}/result/", json=body, headers=registered.headers
        ).status_code
        for what, body in bodies.items()
    }
    assert got == dict.fromkeys(bodies, 400)
    assert registered.job(job_id)["counts"]["succeeded"] == 0


def test_classifications_keep_the_top_five_labels_and_no_full_vectors(proto: Protocol) -> None:
    labels = ["a", "b", "c", "d", "e", "f", "g"]
    config = pipeline_config()
    config["algorithms"][1]["category_map"] = {"labels": labels, "data": []}
    assert proto.register(config).status_code == 201
    proto.images(1)
    job_id = proto.job_that_runs()["id"]
    (task,) = proto.claim(job_id, 1)
    found = detection(task, label="f", scores=[0.01, 0.02, 0.1, 0.05, 0.12, 0.6, 0.1])
    found["classifications"][0]["labels"] = labels
    found["classifications"][0]["logits"] = [0.0] * 7
    assert statuses(proto.post(job_id, success(task, found))) == ["saved"]

    (analysis,) = proto.image(int(task["image_id"]))["analyses"]
    label = analysis["annotations"][1]
    assert label["label"] == "f"
    assert label["confidence"] == 0.6
    assert label["data"]["labels"] == ["f", "e", "c", "g", "d"]
    assert label["data"]["scores"] == [0.6, 0.12, 0.1, 0.1, 0.05]
    assert "logits" not in label["data"]
    assert "all_scores" not in label["data"]


def test_each_bad_item_of_a_batch_is_rejected_alone_and_the_good_ones_are_stored(
    proto: Protocol,
) -> None:
    # An algorithm with no category map (not a classifier by its task type): the labels it
    # sends are stored as they come, so only the wire models stand between them and the table.
    config = pipeline_config("free-labels")
    del config["algorithms"][1]["category_map"]
    config["algorithms"][1]["task_type"] = "tagging"
    assert proto.register(config).status_code == 201
    proto.images(8)
    job_id = proto.create_job("free-labels").json()["id"]
    proto.wait(job_id, {"running"})
    tasks = proto.claim(job_id, 8)

    def item(task: dict[str, Any], change: Any = None) -> dict[str, Any]:
        found = detection(task, slug="free-labels")
        if change is not None:
            change(found)
        return success(task, found, slug="free-labels")

    def label(text: str) -> Any:
        return lambda d: d["classifications"][0].update(classification=text, labels=None)

    malformed = item(tasks[5])
    del malformed["result"]["pipeline"]
    items = [
        item(tasks[0]),
        item(tasks[1], label("moth\x00")),
        item(tasks[2], label("m" * 300)),
        item(tasks[3], lambda d: d["classifications"][0].update(scores=[float("nan"), 0.2, 0.8])),
        item(tasks[4], lambda d: d.update(bbox={"x1": 50, "y1": 12, "x2": 10, "y2": 70})),
        malformed,
        failure(tasks[6], "out of memory\x00"),
        item(tasks[7]),
    ]
    response = proto.client.post(
        f"{API}/jobs/{job_id}/result/",
        content=json.dumps({"results": items}),
        headers={**proto.headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 200, response.text
    answers = response.json()["tasks"]
    assert statuses(answers) == ["saved", *["rejected"] * 6, "saved"]
    details = [a["detail"] for a in answers[1:7]]
    for detail, words in zip(
        details,
        [
            ("classification", "NUL"),
            ("classification", "255"),
            ("scores.0", "finite"),
            ("bbox", "inverted"),
            ("pipeline", "required"),
            ("error", "NUL"),
        ],
        strict=True,
    ):
        assert all(word in detail for word in words), (words, detail)
    for task in (tasks[0], tasks[7]):
        (analysis,) = proto.image(int(task["image_id"]))["analyses"]
        assert [a["label"] for a in analysis["annotations"]] == [None, "moth"]
    for task in tasks[1:7]:
        assert proto.image(int(task["image_id"]))["analyses"] == []
    # Each refused item's task failed at once, its reason kept; none is left leased.
    counts = proto.job(job_id)["counts"]
    assert (counts["leased"], counts["failed"]) == (0, 6)


def test_too_many_items_in_one_post_are_refused_whole(registered: Protocol) -> None:
    registered.images(1)
    job_id = registered.job_that_runs()["id"]
    (task,) = registered.claim(job_id, 1)
    items = [success(task, detection(task))] * 1001
    response = registered.post_response(job_id, *items)
    assert response.status_code == 400, response.text
    assert "results" in response.json()["detail"]
    assert "1000" in response.json()["detail"]
    assert registered.image(int(task["image_id"]))["analyses"] == []
