"""An annotation's ``data`` is read by the formats that write from it (MegaDetector's ranked
labels, COCO's masks) and by no other: it was a tenth of the annotations' statement of the
rest, a fifth on PostgreSQL."""

from __future__ import annotations

import json

from tests.support.exports import LABELS, Seeded
from trapline.db.repositories.exports.export_reads import ExportScope
from trapline.domain.exports.exports import ExportFilters, ExportFormat


def test_megadetector_ranks_every_label_its_classifier_scored(seeded: Seeded) -> None:
    done = seeded.export(format="megadetector")
    assert done["status"] == "succeeded", done
    entries = json.loads(seeded.download(done["id"]))["images"]
    ranked = [d["classifications"] for e in entries for d in e.get("detections") or []]
    assert ranked
    assert all(len(r) == len(LABELS) for r in ranked)


def test_only_the_formats_that_write_from_it_read_the_data() -> None:
    filters = ExportFilters()
    asking = {f for f in ExportFormat if f.reads(filters).annotation_data}
    assert asking == {ExportFormat.COCO, ExportFormat.MEGADETECTOR}


def test_annotations_are_read_with_their_data_only_when_asked(seeded: Seeded) -> None:
    images = sorted(seeded.images)
    scope = ExportScope(
        seeded.project_id, ExportFilters(), pipeline_ids=None, collection_id=None,
        collection_filter=None, max_image_id=images[-1],
    )  # fmt: skip
    with seeded.proto.platform.db.read() as repos:
        reads = repos.exports.export_reads
        analyses = [a.id for a in reads.analyses_of(scope, images) if a.status == "completed"]
        both = {data: list(reads.annotations_of(images, analyses, data)) for data in (True, False)}
    with_data, without = both[True], both[False]
    assert [a._replace(data=None) for a in with_data] == without
    assert any(a.data for a in with_data)
    assert [(a.image_id, a.id) for a in without] == sorted((a.image_id, a.id) for a in without)
