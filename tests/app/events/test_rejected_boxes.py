"""A stage that says there is nothing keeps a box out of every count, whatever the detector
scored (issue 59, item 5, for tracking): the documented moth pipeline's filter calling a box
``nonmoth`` 0.8 while its detector named it ``insect`` 0.95."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

from tests.support.accounts import upload
from tests.support.moth_filter import filtered_photo
from tests.support.onnx_models import moth_and_leaf, moth_chain
from tests.support.protocol_client import Protocol, api_get
from tests.support.scenes import event_of, new_deployment, track_all
from trapline.pipelines import SourceImage
from trapline.pipelines.onnx_pipeline import OnnxPipeline
from trapline.pipelines.spec import PipelineSpec


def test_a_box_the_moth_filter_rejects_is_counted_nowhere(proto: Protocol) -> None:
    filtered_photo(proto)
    assert track_all(proto) == 1

    (deployment,) = api_get(proto, f"/projects/{proto.project_id}/deployments")["results"]
    (event,) = api_get(proto, f"/deployments/{deployment['id']}/events")["results"]
    found = api_get(proto, f"/events/{event['id']}/occurrences")["results"]
    assert [o["determination"]["label"] for o in found] == ["beetle"]


def test_the_onnx_moth_pipelines_rejection_is_counted_nowhere(
    proto: Protocol, tmp_path: Path
) -> None:
    """The same with the real three stages run by ONNX Runtime (tiny models): the detector
    finds two insects, the filter calls one ``nonmoth``, and only the moth is an individual."""
    pipeline = OnnxPipeline(PipelineSpec.model_validate(moth_chain(tmp_path)))
    pipeline.load()
    registered = proto.register(pipeline.config.model_dump(mode="json"))
    assert registered.status_code in (200, 201), registered.text
    trap = new_deployment(proto, "Trap")
    photo = io.BytesIO()
    moth_and_leaf().save(photo, "JPEG", quality=95)
    made = upload(
        proto.client, proto.account, proto.project_id,
        ("20240621-220000.jpg", photo.getvalue()), deployment_id=str(trap),
    )  # fmt: skip
    assert made["status"] == 201, made
    job = proto.job_that_runs(pipeline="chain", params={"max_attempts": 1})
    (task,) = proto.claim(job["id"], 10)
    decoded = Image.open(io.BytesIO(photo.getvalue())).convert("RGB")
    (result,) = pipeline.process([SourceImage(str(task["image_id"]), decoded)])
    verdicts = [[c.classification for c in d.classifications] for d in result.detections]
    assert verdicts == [["insect", "moth", "Agrotis exclamationis"], ["insect", "nonmoth"]]
    item = {"reply_subject": task["reply_subject"], "result": result.model_dump(mode="json")}
    assert [a["status"] for a in proto.post(job["id"], item)] == ["saved"]
    assert track_all(proto) == 1
    event = event_of(proto, trap)
    found = api_get(proto, f"/events/{event}/occurrences")["results"]
    assert [o["determination"]["label"] for o in found] == ["Agrotis exclamationis"]
