"""Items of one post about the same task: the first result stored wins, and a worker's error
or a refused result before it is outranked by it (docs/jobs.md), so a result the worker sent is
never answered ``duplicate`` without being stored (docs/reliability.md, the checker's rule)."""

from __future__ import annotations

import pytest

from tests.support.protocol import detection, failure, success
from tests.support.protocol_client import Protocol, statuses

FINAL = {"succeeded", "completed_with_errors", "failed", "canceled"}


@pytest.mark.parametrize("attempts", [1, 3], ids=["last-try", "tries-left"])
def test_an_error_then_a_result_for_one_task_stores_the_result(
    registered: Protocol, attempts: int
) -> None:
    (image_id,) = registered.images(1)
    job_id = registered.job_that_runs(params={"max_attempts": attempts})["id"]
    (task,) = registered.claim(job_id, 1)
    answers = registered.post(job_id, failure(task), success(task, detection(task)))
    assert statuses(answers) == ["duplicate", "saved"]
    (analysis,) = registered.image(image_id)["analyses"]
    assert [a["label"] for a in analysis["annotations"]] == [None, "moth"]
    job = registered.wait(job_id, FINAL)
    assert job["status"] == "succeeded"
    assert job["counts"]["succeeded"] == 1
    assert job["counts"]["failed"] == 0


def test_a_second_error_or_a_result_after_a_result_stores_nothing_more(
    registered: Protocol,
) -> None:
    first, second = registered.images(2)
    job_id = registered.job_that_runs(params={"max_attempts": 3})["id"]
    one, two = registered.claim(job_id, 2)
    answers = registered.post(
        job_id,
        success(one, detection(one)),
        failure(one),
        success(one, detection(one, label="fly")),
        failure(two),
        failure(two),
    )
    assert statuses(answers) == ["saved", "duplicate", "duplicate", "failed", "duplicate"]
    (analysis,) = registered.image(int(one["image_id"]))["analyses"]
    assert [a["label"] for a in analysis["annotations"]] == [None, "moth"]
    assert registered.image(int(two["image_id"]))["analyses"] == []
    tasks = registered.tasks(job_id)["results"]
    assert {int(t["image_id"]): t["attempts"] for t in tasks} == {first: 1, second: 1}


def test_a_result_naming_another_image_is_refused_not_stored_as_nothing_found(
    registered: Protocol,
) -> None:
    """A result whose ``source_images`` names another photo, with no detections, would be
    stored as "nothing found" on the task's photo: it is refused, and the task's photo keeps no
    analysis until a right result comes."""
    images = registered.images(2)
    job_id = registered.job_that_runs(params={"max_attempts": 3})["id"]
    (task,) = registered.claim(job_id, 1)
    (other,) = [i for i in images if i != int(task["image_id"])]
    misplaced = success(task)
    misplaced["result"]["source_images"] = [{"id": str(other), "url": None}]
    listed = success(task, detection(task))  # the task's photo, with another beside it
    listed["result"]["source_images"].append({"id": str(other), "url": None})
    answers = registered.post(job_id, misplaced, listed)
    assert statuses(answers) == ["rejected", "saved"]
    assert f"task is for image {task['image_id']}" in answers[0]["detail"]
    (analysis,) = registered.image(int(task["image_id"]))["analyses"]
    assert [a["label"] for a in analysis["annotations"]] == [None, "moth"]
    assert registered.image(other)["analyses"] == []


def test_a_lone_result_naming_another_image_leaves_the_photo_without_results(
    registered: Protocol,
) -> None:
    images = registered.images(2)
    job_id = registered.job_that_runs(params={"max_attempts": 1})["id"]
    (task,) = registered.claim(job_id, 1)
    (other,) = [i for i in images if i != int(task["image_id"])]
    misplaced = success(task)
    misplaced["result"]["source_images"] = [{"id": str(other), "url": None}]
    assert statuses(registered.post(job_id, misplaced)) == ["rejected"]
    assert registered.image(int(task["image_id"]))["analyses"] == []
    assert registered.image(other)["analyses"] == []
