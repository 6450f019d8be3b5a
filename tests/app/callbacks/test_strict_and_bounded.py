"""The callback API takes what its contract says and no more: the keys of an analysis's
``parameters`` and ``provenance`` are checked as its values are, integers are strict (text
and booleans are not numbers), an analysis's upload links are bounded, and a pipeline is never
registered under the name of an external model whose results the project holds (the two would
be counted as one pipeline)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.support.accounts import Account
from tests.support.app_client import AppClient
from tests.support.callbacks import Pipeline, box, create_analysis, fresh_timestamp
from tests.support.protocol import PIPELINE_SLUG, pipeline_config
from tests.support.protocol_client import Protocol
from tests.support.scenes import add_frames, new_deployment


def bulk(pipeline: Pipeline, aid: int, items: list[Any]) -> Any:
    return pipeline.call(
        "POST",
        f"/analyses/{aid}/annotations:bulk",
        {"annotations": items},
        timestamp=fresh_timestamp(),
    )


def test_analysis_parameters_and_provenance_keys_are_checked(
    client: AppClient, owner: Account, image_id: int
) -> None:
    """``parameters`` and ``provenance`` are ``JsonObject`` (``dict[str, JsonValue]``): the
    values are checked by ``_plain_json`` but the top-level keys are plain ``str``, and this
    body is parsed by FastAPI (json.loads takes lone surrogates). A lone surrogate key is
    taken (201) and stored/echoed as other characters; it should be 400 naming the field,
    as it is one level down."""
    nested = client.post(
        f"/api/images/{image_id}/analyses",
        content=b'{"model_name": "m", "parameters": {"k": {"\\udc00": 1}}}',
        headers={**owner.headers, "Content-Type": "application/json"},
    )
    assert nested.status_code == 400, nested.text
    for field in ("parameters", "provenance"):
        raw = b'{"model_name": "m", "' + field.encode() + b'": {"\\udc00": 1}}'
        answer = client.post(
            f"/api/images/{image_id}/analyses",
            content=raw,
            headers={**owner.headers, "Content-Type": "application/json"},
        )
        assert answer.status_code == 400, (field, answer.status_code, answer.text[:300])
        assert field in answer.json()["detail"]


@pytest.mark.parametrize(
    ("item", "field"),
    [
        ({**box(), "ordering": "3"}, "annotations[0].ordering"),
        ({**box(), "ordering": True}, "annotations[0].ordering"),
        (box() | {"data": box()["data"] | {"image_width": "320"}}, "annotations[0].data"),
        (
            {"type": "keypoint", "data": {"keypoints": [{"name": "a", "x": 1, "y": 1}],
                                          "skeleton": [["0", "0"]]}},
            "annotations[0].data.skeleton",
        ),
    ],
)  # fmt: skip
def test_integers_are_strict_as_the_protocol_says(
    client: AppClient, analysis: int, pipeline: Pipeline, item: dict[str, Any], field: str
) -> None:
    """protocol/base.py: "Numbers and booleans are strict: "3" or true is not taken for 3".
    The callback items' integers (ordering, image sides, skeleton indices) are lax, and the
    items are validated in Python mode, so text and booleans pass as integers."""
    answer = bulk(pipeline, analysis, [item])
    assert answer.status_code == 400, answer.text[:300]
    assert answer.json()["detail"].startswith(field), answer.text


@pytest.mark.settings(ml_max_artifacts_per_analysis=3)
def test_upload_links_of_one_analysis_are_bounded(analysis: int, pipeline: Pipeline) -> None:
    def ask(n: int) -> Any:
        return pipeline.call(
            "POST",
            f"/analyses/{analysis}/artifacts/presign",
            {"artifact_type": "log", "filename": f"log-{n}.txt"},
            timestamp=fresh_timestamp(),
        )

    assert [ask(n).status_code for n in range(3)] == [200, 200, 200]
    refused = ask(3)
    assert refused.status_code == 429, refused.text
    assert refused.json()["code"] == "too_many_artifacts"
    assert "ML_MAX_ARTIFACTS_PER_ANALYSIS" in refused.json()["detail"]
    assert "upload_url" not in refused.json()


def test_a_pipeline_is_not_registered_under_an_external_models_name(proto: Protocol) -> None:
    """An analysis posted through the callback API as model ``moth-test``, then a worker
    registering pipeline ``moth-test``: results are counted by the name of what made them, so
    the pipeline's boxes and the model's would be one pipeline's count. The pipeline is refused
    with the reason; under another slug it registers."""
    pond = new_deployment(proto, "Pond")
    (image,) = add_frames(proto, pond, 1, timedelta(seconds=1), size=(320, 240))
    early = create_analysis(proto.client, proto.account, image, model_name=PIPELINE_SLUG)
    assert early.status_code == 201, early.text
    refused = proto.register(pipeline_config())
    assert refused.status_code == 409, refused.text
    assert "callback API" in refused.text
    assert f"model {PIPELINE_SLUG!r}" in refused.text
    assert proto.register(pipeline_config("moth-test-worker")).status_code == 201
