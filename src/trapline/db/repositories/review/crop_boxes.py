"""What a refit on crops (decision 074) reads of boxes: which identified detections are boxes
of a pipeline, and where each box is (its photo's stored file and its pixels)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from trapline.db.tables import AnalysisRow, AnnotationRow, ImageRow, PipelineRow
from trapline.db.types import chunks


@dataclass(frozen=True)
class CropBox:
    """A box to describe: its annotation, its photo (id and stored file) and its pixels."""

    annotation_id: int
    image_id: int
    storage_key: str
    box: tuple[float, float, float, float]


class CropBoxRepo:
    """Boxes of a pipeline, and where they are."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def of_pipeline(
        self, detections: Sequence[int], slug: str, version: int | None
    ) -> dict[int, int]:
        """Of ``detections``, the boxes the pipeline ``slug`` (of ``version`` only, when given)
        drew, and the version of each."""
        a = AnnotationRow
        where = [a.x1.is_not(None), a.y2.is_not(None), PipelineRow.slug == slug]
        if version is not None:
            where.append(PipelineRow.version == version)
        found: dict[int, int] = {}
        for chunk in chunks(sorted(set(detections))):
            rows = self.session.execute(
                select(a.id, PipelineRow.version)
                .join(AnalysisRow, AnalysisRow.id == a.analysis_id)
                .join(PipelineRow, PipelineRow.id == AnalysisRow.pipeline_id)
                .where(a.id.in_(chunk), *where)
            )
            found.update((int(box), int(v)) for box, v in rows)
        return found

    def places(self, boxes: Sequence[int]) -> list[CropBox]:
        """Where each of ``boxes`` is (those with pixels), by photo, then box."""
        a = AnnotationRow
        found: list[CropBox] = []
        for chunk in chunks(sorted(set(boxes))):
            rows = self.session.execute(
                select(a.id, a.image_id, ImageRow.storage_key, a.x1, a.y1, a.x2, a.y2)
                .join(ImageRow, ImageRow.id == a.image_id)
                .where(a.id.in_(chunk), a.x1.is_not(None), a.y2.is_not(None))
            )
            for box, image, key, *corners in rows:
                x1, y1, x2, y2 = (float(c or 0.0) for c in corners)  # not null: filtered
                found.append(CropBox(int(box), int(image), key, (x1, y1, x2, y2)))
        return sorted(found, key=lambda b: (b.image_id, b.annotation_id))
