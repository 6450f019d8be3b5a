"""docs/pipelines.md's custom pipeline, run as it is written: its config registers, and a
worker's result of it reaches the platform (both databases) with the box's score as the box's
confidence and the classifier's vector stored with its classification."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageStat
from sqlalchemy import select

from tests.support.onnx_models import moth_and_leaf
from tests.support.protocol_client import Protocol
from tests.support.worker_runs import run_as_worker
from trapline.db.tables import AnnotationRow
from trapline.domain.processing.features import unpacked

DOC = Path(__file__).parents[3] / "docs" / "pipelines.md"


def _example() -> str:
    text = DOC.read_text(encoding="utf-8")
    section = text[text.index("The pipeline below finds one box per photo") :]
    (block, *_) = re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)
    return block


def test_the_documented_custom_pipeline_runs_as_written(proto: Protocol) -> None:
    names: dict[str, Any] = {}
    exec(compile(_example(), str(DOC), "exec"), names)  # noqa: S102 - our own documentation
    pipeline = names["WaspFinder"]()
    pipeline.load()
    image = run_as_worker(proto, pipeline)
    (analysis,) = image["analyses"]
    assert analysis["pipeline_slug"] == "wasp-finder"
    (box, verdict) = analysis["annotations"]
    assert (box["type"], box["confidence"]) == ("bounding_box", pytest.approx(0.8))
    assert box["bbox"] == {"x1": 16.0, "y1": 16.0, "x2": 48.0, "y2": 48.0}
    assert (verdict["label"], verdict["parent_id"]) == ("wasp", box["id"])
    assert verdict["confidence"] == pytest.approx(0.7)

    photo = io.BytesIO()
    moth_and_leaf().save(photo, "JPEG", quality=95)
    crop = Image.open(io.BytesIO(photo.getvalue())).convert("RGB").crop((16, 16, 48, 48))
    expected = [value / 255 for value in ImageStat.Stat(crop).mean]
    with proto.platform.db.write() as repos:
        row = repos.session.scalars(
            select(AnnotationRow).where(AnnotationRow.id == verdict["id"])
        ).one()
        stored = list(unpacked(row.features or b"") or [])
    assert stored == pytest.approx(expected, abs=1e-6)
