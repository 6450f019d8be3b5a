"""A job that runs a classifier over another pipeline's boxes without detecting again (issue
"The second pass", item 19): the boxes travel with each task, the worker's pipeline classifies
them, and the result is stored as the classifier's own run, boxes and all.

The source pipeline is the test detector (``moth-test``), its results posted as a worker
posts them; the classifier is the documented moth chain (a spec pipeline of tiny ONNX models),
run by the worker's own code on the boxes its task carries."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from tests.support.accounts import upload
from tests.support.onnx_models import moth_and_leaf, moth_chain
from tests.support.protocol import PIPELINE_SLUG, detection, pipeline_config, success
from tests.support.protocol_client import Protocol
from tests.support.scenes import new_deployment
from trapline.pipelines import SourceImage
from trapline.pipelines.onnx_pipeline import OnnxPipeline
from trapline.pipelines.spec import PipelineSpec
from trapline.protocol.tasks import TaskOut
from trapline.worker.client import Task
from trapline.worker.runner import _result_item

#: Where the test detector saw the red "moth" of ``moth_and_leaf`` (the chain's own detector
#: would find it at (8, 8)-(24, 24): a box from elsewhere must be kept as it was drawn).
MOTH_BOX = (7.0, 9.0, 25.0, 23.0)


def _photos(proto: Protocol, count: int) -> list[int]:
    """``count`` photos of ``moth_and_leaf`` (a corner pixel apart: the same bytes twice
    would be one photo)."""
    files = []
    for n in range(count):
        image, photo = moth_and_leaf(), io.BytesIO()
        image.putpixel((63, 63), (255 - n, 255, 255))
        image.save(photo, "PNG")
        files.append((f"20240621-2200{n:02d}.png", photo.getvalue()))
    trap = new_deployment(proto, "Trap")
    made = upload(proto.client, proto.account, proto.project_id, *files, deployment_id=str(trap))
    assert made["status"] == 201, made
    return [r["id"] for r in made["results"]]


@pytest.fixture
def chain(proto: Protocol, tmp_path: Path) -> OnnxPipeline:
    """The moth chain, registered beside the test detector."""
    pipeline = OnnxPipeline(PipelineSpec.model_validate(moth_chain(tmp_path)))
    pipeline.load()
    answer = proto.register(pipeline_config(), pipeline.config.model_dump(mode="json"))
    assert answer.status_code in (200, 201), answer.text
    return pipeline


def _detect(proto: Protocol, boxed: int) -> None:
    """A run of the test detector that finds the moth on photo ``boxed`` and nothing on the
    others."""
    job = proto.job_that_runs(pipeline=PIPELINE_SLUG)
    tasks = proto.claim(job["id"], 10)
    items = [
        success(t, {**detection(t, bbox=MOTH_BOX), "score": 0.75})
        if int(t["image_id"]) == boxed
        else success(t)
        for t in tasks
    ]
    assert {a["status"] for a in proto.post(job["id"], *items)} == {"saved"}


def _classify(proto: Protocol, pipeline: OnnxPipeline, job_id: int) -> dict[str, Any]:
    """Claim the job's one task and answer it as the pull worker does: the boxes the task
    carries go with the decoded photo to the pipeline."""
    (claimed,) = proto.claim(job_id, 10)
    task = Task.from_wire(TaskOut.model_validate(claimed), job_id, pipeline.slug)
    assert task.given is not None
    photo = SourceImage(task.image_id, moth_and_leaf(), given=task.given)
    (result,) = pipeline.process([photo])
    assert [a["status"] for a in proto.post(job_id, _result_item(task, result))] == ["saved"]
    return claimed


def _boxes(image: dict[str, Any], slug: str) -> list[dict[str, Any]]:
    """The boxes of the photo's one run of pipeline ``slug``, each with ``labels``: what its
    classifications say, in order."""
    (analysis,) = [a for a in image["analyses"] if a["pipeline_slug"] == slug]
    found = analysis["annotations"]
    return [
        {**a, "labels": [c["label"] for c in found if c["parent_id"] == a["id"]]}
        for a in found
        if a["type"] == "bounding_box"
    ]


def test_the_classifier_labels_the_detectors_boxes_without_detecting(
    proto: Protocol, chain: OnnxPipeline
) -> None:
    moth, empty = _photos(proto, 2)
    _detect(proto, moth)
    job = proto.job_that_runs(pipeline=chain.slug, params={"boxes_from": PIPELINE_SLUG})
    assert job["params"]["boxes_from"] == PIPELINE_SLUG
    # The photo the detector found nothing on is no task: there is nothing to classify.
    assert job["counts"]["total"] == 1
    messages = [e["message"] for e in job["events"]]
    assert any("1 images skipped: without boxes of moth-test" in m for m in messages), messages

    claimed = _classify(proto, chain, job["id"])
    assert claimed["image_id"] == str(moth)
    (given,) = claimed["detections"]
    assert given["bbox"] == dict(zip(("x1", "y1", "x2", "y2"), MOTH_BOX, strict=True))
    assert given["algorithm"] == {"name": "Blob detector", "key": "moth-test-det"}
    assert given["score"] == 0.75
    assert given["source_image"] == {"id": str(moth), "url": claimed["image_url"]}

    image = proto.image(moth)
    (box,) = _boxes(image, chain.slug)
    assert tuple(box["bbox"].values()) == MOTH_BOX
    assert box["confidence"] == 0.75
    # The moth filter's and the species classifier's verdicts; no verdict of the chain's own
    # detector, which did not run.
    assert box["labels"] == ["moth", "Agrotis exclamationis"]
    # The detector's run is still there, as it was.
    assert len(_boxes(image, PIPELINE_SLUG)) == 1
    assert proto.wait(job["id"], {"succeeded"})["counts"]["succeeded"] == 1
    assert [a["pipeline_slug"] for a in proto.image(empty)["analyses"]] == [PIPELINE_SLUG]


def test_a_plain_job_of_the_classifier_still_detects(proto: Protocol, chain: OnnxPipeline) -> None:
    _photos(proto, 1)
    job = proto.job_that_runs(pipeline=chain.slug)
    (claimed,) = proto.claim(job["id"], 10)
    assert claimed.get("detections") is None
    task = Task.from_wire(TaskOut.model_validate(claimed), job["id"], chain.slug)
    (result,) = chain.process([SourceImage(task.image_id, moth_and_leaf(), given=task.given)])
    assert len(result.detections) == 2  # the chain's detector found both patches


def test_boxes_gone_since_the_job_started_give_an_empty_result(
    proto: Protocol, chain: OnnxPipeline
) -> None:
    """The detector ran again and found nothing before the task was claimed: the task gives
    no box (an empty list, not none: the worker must not detect), and nothing is found."""
    (moth,) = _photos(proto, 1)
    _detect(proto, moth)
    job = proto.job_that_runs(pipeline=chain.slug, params={"boxes_from": PIPELINE_SLUG})
    rerun = proto.job_that_runs(pipeline=PIPELINE_SLUG, params={"reprocess": True})
    (task,) = proto.claim(rerun["id"], 10)
    assert [a["status"] for a in proto.post(rerun["id"], success(task))] == ["saved"]
    claimed = _classify(proto, chain, job["id"])
    assert claimed["detections"] == []
    assert _boxes(proto.image(moth), chain.slug) == []


@pytest.mark.parametrize(
    ("pipeline", "source", "expected"),
    [
        (
            PIPELINE_SLUG,
            "chain",
            "params.boxes_from: pipeline 'moth-test' v1 does not classify boxes it is given",
        ),
        ("chain", "chain", "params.boxes_from: pipeline 'chain' v1 would classify its own boxes"),
        ("chain", "nowhere", "params.boxes_from: project {project} has no pipeline 'nowhere'"),
        (
            "chain",
            PIPELINE_SLUG,
            "params.boxes_from: none of the selected photos has boxes of 'moth-test'",
        ),
    ],
)
def test_a_job_that_cannot_classify_those_boxes_is_refused(
    proto: Protocol, chain: OnnxPipeline, pipeline: str, source: str, expected: str
) -> None:
    _photos(proto, 1)  # analysed by nothing yet
    answer = proto.create_job(pipeline=pipeline, params={"boxes_from": source})
    assert answer.status_code == 400, answer.text
    assert expected.format(project=proto.project_id) in answer.text
