"""Posts as large as the AMI Data Companion sends: read one part at a time, stored whole.

The Data Companion splits its result posts at 25 MiB by default
(``AMI_ANTENNA_RESULT_POST_MAX_BYTES``), and each of its classifications carries full-length
labels, scores and logits, written by ``json.dumps`` with its default separators.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from tests.support.protocol import PIPELINE_SLUG, detection, failure, pipeline_config, success
from tests.support.protocol_client import API, Protocol, statuses
from tests.support.settings import make_settings
from trapline.http.limits import RESULTS_BODY_BYTES
from trapline.settings import Settings

#: The Data Companion's default cap on one post.
ADC_POST_BYTES = 25 * 1024 * 1024
#: Classes of the classifier (a regional moth species model has a few thousand).
CLASSES = [f"Genus species-{n:04d}" for n in range(3_000)]
IMAGES = 16  # the Data Companion's default batch


def adc_detection(task: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """A detection classified over every class, with full scores and logits."""
    found = detection(task)
    raw = [rng.random() for _ in CLASSES]
    total = sum(raw)
    scores = [x / total for x in raw]
    best = max(range(len(CLASSES)), key=scores.__getitem__)
    found["classifications"][0].update(
        classification=CLASSES[best],
        labels=CLASSES,
        scores=scores,
        logits=[rng.gauss(0, 3) for _ in CLASSES],
    )
    return found


def adc_post(tasks: list[dict[str, Any]], most: int) -> tuple[bytes, list[int]]:
    """A post of results for ``tasks`` of at most ``most`` bytes (as the Data Companion writes
    it), detections shared out among the images; and how many each image got."""
    rng = random.Random(7)
    one = json.dumps(adc_detection(tasks[0], rng)).encode()
    count = (most - 10_000) // (len(one) + 2)
    per_image = [count // len(tasks) + (n < count % len(tasks)) for n in range(len(tasks))]
    items = [
        success(task, *(adc_detection(task, rng) for _ in range(k)))
        for task, k in zip(tasks, per_image, strict=True)
    ]
    return json.dumps({"results": items}).encode(), per_image


@pytest.fixture
def settings(request: pytest.FixtureRequest, tmp_path: Path, database_url: str) -> Settings:
    """The test settings with the server's default overall request cap (1 GiB), which the
    other tests keep at 20 MiB: a post of results stays within its own cap."""
    return make_settings(request, tmp_path, database_url, max_request_bytes=1024**3)


@pytest.fixture
def adc(proto: Protocol) -> Protocol:
    """The project with the test pipeline registered, its classifier over ``CLASSES``."""
    config = pipeline_config()
    config["algorithms"][1]["category_map"] = {"labels": CLASSES, "data": []}
    assert proto.register(config).status_code == 201
    return proto


def test_a_25_mib_post_of_full_score_vectors_is_accepted_and_stored(adc: Protocol) -> None:
    adc.images(IMAGES)
    job_id = adc.job_that_runs()["id"]
    tasks = adc.claim(job_id, IMAGES)
    body, per_image = adc_post(tasks, ADC_POST_BYTES)
    assert ADC_POST_BYTES - 400_000 < len(body) <= ADC_POST_BYTES < RESULTS_BODY_BYTES

    response = adc.client.post(
        f"{API}/jobs/{job_id}/result/",
        content=body,
        headers={**adc.headers, "Content-Type": "application/json"},
    )

    assert response.status_code == 200, response.text[:500]
    assert statuses(response.json()["tasks"]) == ["saved"] * IMAGES
    posted = json.loads(body)["results"]
    for task, count, item in zip(tasks, per_image, posted, strict=True):
        (analysis,) = adc.image(int(task["image_id"]))["analyses"]
        annotations = analysis["annotations"]
        assert len(annotations) == 2 * count
        sent = item["result"]["detections"][0]["classifications"][0]
        ranked = sorted(zip(sent["scores"], CLASSES, strict=True), reverse=True)[:5]
        label = annotations[1]
        assert label["label"] == sent["classification"]
        assert label["data"]["labels"] == [name for _, name in ranked]
        assert label["data"]["scores"] == [score for score, _ in ranked]
        assert "logits" not in label["data"]


def test_a_project_that_keeps_full_vectors_gets_them_all_from_a_large_post(
    adc: Protocol,
) -> None:
    # ~90 detections of 6,000 kept values each: more than one write (FLUSH_WEIGHT); all stored.
    changed = adc.client.patch(
        f"{API}/projects/{adc.project_id}", json={"keep_full_scores": True}, headers=adc.headers
    )
    assert changed.status_code == 200, changed.text
    adc.images(4)
    job_id = adc.job_that_runs()["id"]
    tasks = adc.claim(job_id, 4)
    body, per_image = adc_post(tasks, 16 * 1024 * 1024)

    response = adc.client.post(
        f"{API}/jobs/{job_id}/result/",
        content=body,
        headers={**adc.headers, "Content-Type": "application/json"},
    )

    assert response.status_code == 200, response.text[:500]
    assert statuses(response.json()["tasks"]) == ["saved"] * 4
    posted = json.loads(body)["results"]
    for task, count, item in zip(tasks, per_image, posted, strict=True):
        (analysis,) = adc.image(int(task["image_id"]))["analyses"]
        labels = [a for a in analysis["annotations"] if a["type"] == "classification"]
        assert len(labels) == count
        sent = [d["classifications"][0] for d in item["result"]["detections"]]
        assert [a["data"]["all_scores"] for a in labels] == [c["scores"] for c in sent]
        assert [a["data"]["logits"] for a in labels] == [c["logits"] for c in sent]


def test_a_post_of_a_pipeline_slug_it_does_not_run_is_still_answered_per_item(
    adc: Protocol,
) -> None:
    # A large item is refused alone, as a small one is: its detections are read to say why.
    adc.images(2)
    job_id = adc.job_that_runs()["id"]
    first, second = adc.claim(job_id, 2)
    rng = random.Random(3)
    wrong = success(second, adc_detection(second, rng), slug="other")
    bad = adc_detection(second, rng)
    bad["classifications"][0]["scores"][5] = "high"
    items = [success(first, adc_detection(first, rng)), wrong, success(second, bad)]
    answers = adc.post(job_id, *items)
    assert statuses(answers) == ["saved", "rejected", "rejected"]
    assert "pipeline 'other'" in answers[1]["detail"]
    assert answers[2]["detail"].startswith(
        "result is not valid: detections.0.classifications.0.scores.5"
    )
    assert PIPELINE_SLUG in adc.image(int(first["image_id"]))["analyses"][0]["pipeline_slug"]


@pytest.mark.parametrize("attempts", [1, 3], ids=["last-try", "tries-left"])
def test_an_error_written_apart_from_its_tasks_later_result_is_outranked_by_it(
    adc: Protocol, attempts: int
) -> None:
    """A post written in several transactions (``FLUSH_WEIGHT``): the worker's error for a task
    comes before a result heavy enough to be written alone, and the task's own result after
    that. The error waits for the post's last write, so the result is stored and the worker is
    told so (docs/jobs.md); written first, it failed the task (for good on its last try, and
    the result was turned away)."""
    changed = adc.client.patch(
        f"{API}/projects/{adc.project_id}", json={"keep_full_scores": True}, headers=adc.headers
    )
    assert changed.status_code == 200, changed.text
    adc.images(2)
    job_id = adc.job_that_runs(params={"max_attempts": attempts})["id"]
    first, heavy = adc.claim(job_id, 2)
    rng = random.Random(11)
    items = [
        failure(first),
        success(heavy, *(adc_detection(heavy, rng) for _ in range(60))),  # ~360,000 values
        success(first, adc_detection(first, rng)),
    ]

    answers = adc.post(job_id, *items)

    assert statuses(answers) == ["duplicate", "saved", "saved"]
    (analysis,) = adc.image(int(first["image_id"]))["analyses"]
    assert [a["label"] for a in analysis["annotations"]] == [
        None,
        items[2]["result"]["detections"][0]["classifications"][0]["classification"],
    ]
    (analysis,) = adc.image(int(heavy["image_id"]))["analyses"]
    assert len(analysis["annotations"]) == 120
    tasks = adc.tasks(job_id)["results"]
    assert {t["status"] for t in tasks} == {"succeeded"}
    assert [t["attempts"] for t in tasks] == [1, 1]
