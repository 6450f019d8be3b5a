"""The pure step of storing results: each posted item judged from the tasks as read."""

from __future__ import annotations

from datetime import UTC, datetime

from trapline.domain.core.records import Project
from trapline.domain.pipelines.pipelines import Algorithm, Pipeline
from trapline.domain.processing.lease_tokens import LeaseClaim, sign_lease
from trapline.domain.processing.results import AnnotationType, Box, ResultTarget
from trapline.protocol.results import (
    PipelineResultsResponse,
    ResultError,
    ResultItem,
    TypedResultItem,
)
from trapline.services.processing.result_body import Refusal
from trapline.services.processing.result_items import Posted, read_items
from trapline.services.processing.results import (
    Fail,
    Settled,
    Store,
    Verdict,
    judge,
)

SECRET = b"k" * 32
JOB = 7
DETECTOR = Algorithm(1, "detector", 1, "Detector", "detection", None)
CLASSIFIER = Algorithm(2, "species", 1, "Species", "classification", ("moth", "beetle"))
PIPELINE = Pipeline(3, "moths", 1, "Moths", None, (DETECTOR, CLASSIFIER))
PROJECT = Project(1, "p", "", 0, datetime(2026, 1, 1, tzinfo=UTC))


def target(task_id: int, job_id: int = JOB) -> ResultTarget:
    return ResultTarget(task_id, job_id, image_id=100 + task_id, width=640, height=480)


def result(task_id: int, **box: float) -> PipelineResultsResponse:
    bbox = {"x1": 10.0, "y1": 20.0, "x2": 110.0, "y2": 220.0, **box}
    return PipelineResultsResponse.model_validate(
        {
            "pipeline": "moths",
            "detections": [
                {
                    "source_image_id": str(100 + task_id),
                    "bbox": bbox,
                    "algorithm": {"name": "Detector", "key": "detector"},
                    "classifications": [
                        {
                            "classification": "moth",
                            "labels": ["moth", "beetle"],
                            "scores": [0.8, 0.2],
                            "algorithm": {"name": "Species", "key": "species"},
                        }
                    ],
                }
            ],
        }
    )


def posted(task_id: int, outcome: PipelineResultsResponse | ResultError | Refusal) -> Posted:
    return Posted(f"t{task_id}", LeaseClaim(JOB, task_id, 1, f"lease-{task_id}"), outcome)


def run(*items: Posted, targets: dict[int, ResultTarget] | None = None) -> list[object]:
    known = targets if targets is not None else {t: target(t) for t in range(1, 10)}
    return list(judge(items, known, PIPELINE, PROJECT, JOB, "worker-1"))


def test_a_valid_result_is_stored_with_its_annotations() -> None:
    [judged] = run(posted(1, result(1)))
    assert isinstance(judged, Store)
    assert judged.claim.task_id == 1
    [box] = judged.draft.annotations
    assert box.type is AnnotationType.BOUNDING_BOX
    assert box.box == Box(10.0, 20.0, 110.0, 220.0)
    [label] = box.children
    assert (label.label, label.confidence) == ("moth", 0.8)
    assert judged.draft.worker == "worker-1"


def test_an_error_report_fails_its_task() -> None:
    [judged] = run(posted(2, ResultError(error="out of memory", image_id="102")))
    assert judged == Fail(LeaseClaim(JOB, 2, 1, "lease-2"), "out of memory")


def test_an_unreadable_item_fails_its_task_with_its_reason() -> None:
    [judged] = run(posted(3, Refusal("result is not valid: pipeline is missing")))
    assert isinstance(judged, Fail)
    assert (judged.error, judged.refused) == ("result is not valid: pipeline is missing", True)


def test_an_unreadable_item_of_no_task_of_the_job_is_rejected_with_its_reason() -> None:
    [judged] = run(posted(3, Refusal("result is not valid: pipeline is missing")), targets={})
    assert judged == Settled(Verdict.REJECTED, "result is not valid: pipeline is missing")


def test_a_task_that_is_gone_or_of_another_job_is_rejected() -> None:
    gone, foreign = run(
        posted(4, result(4)), posted(5, result(5)), targets={5: target(5, job_id=JOB + 1)}
    )
    assert gone == foreign == Settled(Verdict.REJECTED, "this task no longer exists")


def test_the_second_item_for_one_task_is_a_duplicate() -> None:
    first, second = run(posted(6, result(6)), posted(6, result(6)))
    assert isinstance(first, Store)
    assert second == Settled(Verdict.DUPLICATE, "the same task appears earlier in this request")


def test_a_refused_item_does_not_speak_for_its_task() -> None:
    """A refused result fails its task (``refused``), unless a later item of the same post
    is right: that one is stored, and the store answers the refused one ``rejected``."""
    bad, good = run(posted(6, result(6, x2=5000.0)), posted(6, result(6)))
    assert isinstance(bad, Fail)
    assert bad.refused
    assert "lies outside the 640x480 image" in bad.error
    assert isinstance(good, Store)


def test_a_label_outside_the_category_map_is_rejected() -> None:
    wrong = result(1)
    wrong.detections[0].classifications[0].classification = "wasp"
    [judged] = run(posted(1, wrong))
    assert isinstance(judged, Fail)
    assert judged.refused
    assert judged.error == (
        "detections[0].classifications[0]: label 'wasp' is not in the category map of species"
    )


def test_reading_items_checks_leases_and_types_each_result() -> None:
    token = sign_lease(SECRET, LeaseClaim(JOB, 1, 1, "lease-1"))
    other_job = sign_lease(SECRET, LeaseClaim(JOB + 1, 2, 1, "lease-2"))
    items = [
        TypedResultItem.model_validate({"reply_subject": token, "result": result(1).model_dump()}),
        ResultItem(reply_subject=token, result={"error": "disk full", "image_id": "101"}),
        ResultItem(reply_subject=None, result={}),
        ResultItem(reply_subject="forged", result={}),
        ResultItem(reply_subject=other_job, result={}),
        ResultItem(reply_subject=token, result=[1, 2]),
        ResultItem(reply_subject=token, result={"pipeline": 3}),
    ]
    read = read_items(items, SECRET, JOB)
    assert isinstance(read[0].outcome, PipelineResultsResponse)
    assert read[1].outcome == ResultError(error="disk full", image_id="101")
    reasons = [p.outcome.reason for p in read[2:] if isinstance(p.outcome, Refusal)]
    assert len(reasons) == 5
    assert reasons[0].startswith("reply_subject is missing")
    assert reasons[1].startswith("reply_subject is not valid")
    assert reasons[2] == f"this reply_subject belongs to job {JOB + 1}, not {JOB}"
    assert reasons[3].startswith("result must be an object")
    assert reasons[4].startswith("result is not valid: pipeline")
