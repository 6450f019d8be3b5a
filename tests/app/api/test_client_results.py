"""``Client.results``: the rows docs/client.md shows, from a job a worker ran with the
documented moth chain (both databases): a row per box, with the detector's score as its
confidence, and a row per classification of it; the pipeline's version in a column."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.onnx_models import moth_chain
from tests.support.protocol_client import Protocol
from tests.support.worker_runs import python_client, run_as_worker
from trapline.pipelines.onnx_pipeline import OnnxPipeline
from trapline.pipelines.spec import PipelineSpec

DOC = Path(__file__).parents[3] / "docs" / "client.md"


def test_result_rows_are_the_documented_ones(proto: Protocol, tmp_path: Path) -> None:
    spec = {**moth_chain(tmp_path), "version": 2}
    pipeline = OnnxPipeline(PipelineSpec.model_validate(spec))
    pipeline.load()
    image = run_as_worker(proto, pipeline)
    (analysis,) = image["analyses"]
    with python_client(proto) as api:
        rows = api.results(analysis["job_id"])

    columns = [
        "image_id", "filename", "captured_at", "deployment_id", "pipeline", "pipeline_version",
        "annotation_id", "type", "label", "confidence", "x1", "y1", "x2", "y2", "parent_id",
    ]  # fmt: skip
    assert all(list(row) == columns for row in rows)
    assert {(r["pipeline"], r["pipeline_version"]) for r in rows} == {("chain", 2)}
    boxes = {r["annotation_id"]: r for r in rows if r["type"] == "bounding_box"}
    assert [(b["label"], b["x1"], b["y1"], b["x2"], b["y2"]) for b in boxes.values()] == [
        (None, 8.0, 8.0, 24.0, 24.0),
        (None, 40.0, 40.0, 56.0, 56.0),
    ]
    assert [b["confidence"] for b in boxes.values()] == [pytest.approx(0.9), pytest.approx(0.8)]
    said = {
        box: [r["label"] for r in rows if r["parent_id"] == box and r["type"] == "classification"]
        for box in boxes
    }
    assert list(said.values()) == [
        ["insect", "moth", "Agrotis exclamationis"],
        ["insect", "nonmoth"],
    ]

    # The page's example rows have these columns, in this order.
    text = DOC.read_text(encoding="utf-8")
    example = text[text.index("rows = api.results(") :]
    example = example[: example.index("```")]
    places = [example.find(f"'{name}':") for name in columns]
    assert -1 not in places, [n for n, at in zip(columns, places, strict=True) if at == -1]
    assert places == sorted(places)
