"""What a pull worker posts reaches the platform whole (issue "The second pass", item 18): the
box's own score, stored as the box's confidence, and a spec classifier's feature vector.

The worker's part is its own code: the pipeline's ``process`` and the runner's result item,
posted to the app of the test (both databases) as the worker posts it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tests.support.onnx_models import embedding_model, moth_chain
from tests.support.protocol import detection, success
from tests.support.protocol_client import Protocol
from tests.support.worker_runs import run_as_worker
from trapline.db.tables import AnnotationRow
from trapline.domain.processing.features import unpacked
from trapline.pipelines.onnx_pipeline import OnnxPipeline
from trapline.pipelines.spec import PipelineSpec


def test_the_detectors_score_is_the_boxs_confidence(proto: Protocol, tmp_path: Path) -> None:
    """The documented moth chain's detector scores the moth 0.9 and the leaf 0.8; its filter
    is surer of neither (scores of a channel mean): the boxes keep the detector's word."""
    pipeline = OnnxPipeline(PipelineSpec.model_validate(moth_chain(tmp_path)))
    pipeline.load()
    image = run_as_worker(proto, pipeline)
    (analysis,) = image["analyses"]
    boxes = [a for a in analysis["annotations"] if a["type"] == "bounding_box"]
    assert sorted(b["confidence"] for b in boxes) == [pytest.approx(0.8), pytest.approx(0.9)]
    assert all(b["label"] is None for b in boxes)


def test_a_box_score_outside_0_to_1_is_refused_by_name(proto: Protocol) -> None:
    proto.register()
    proto.images(1)
    job = proto.job_that_runs(params={"max_attempts": 1})
    (task,) = proto.claim(job["id"], 1)
    found = {**detection(task), "score": 1.5}
    (answer,) = proto.post(job["id"], success(task, found))
    assert answer["status"] == "rejected", answer
    assert answer["detail"] == "detections[0].score 1.5 is outside [0, 1]"


def _embedding_spec(folder: Path) -> dict[str, Any]:
    """The moth chain's detector, then one classifier that gives each crop's channel means as
    its features (output ``embedding``) besides its scores (output ``logits``)."""
    chain = moth_chain(folder, slug="embedded")
    weights = embedding_model(folder / "embed.onnx", [2.0, 0.0], input_shape=["N", 3, 8, 8])
    classifier = {
        "key": "embedder", "weights": str(weights), "input_size": 8,
        "labels": ["moth", "nonmoth"], "mean": [0, 0, 0], "std": [1, 1, 1],
        "features": "embedding",
    }  # fmt: skip
    return {**chain, "classifiers": [classifier]}


def test_a_spec_classifier_posts_its_features(proto: Protocol, tmp_path: Path) -> None:
    """Each crop's vector reaches the platform and is stored with its classification: the red
    moth's channel means, the blue leaf's."""
    pipeline = OnnxPipeline(PipelineSpec.model_validate(_embedding_spec(tmp_path)))
    pipeline.load()
    image = run_as_worker(proto, pipeline)
    (analysis,) = image["analyses"]
    ids = [
        a["id"]
        for a in analysis["annotations"]
        if a["type"] == "classification" and a["label"] == "moth"
    ]
    assert len(ids) == 2
    a = AnnotationRow
    with proto.platform.db.write() as repos:
        rows = repos.session.scalars(select(a).where(a.id.in_(ids)).order_by(a.id)).all()
        vectors = sorted(list(unpacked(r.features or b"") or []) for r in rows)
    blue, red = vectors
    assert blue == pytest.approx([0.08, 0.08, 0.9], abs=0.06)
    assert red == pytest.approx([0.9, 0.08, 0.08], abs=0.06)
