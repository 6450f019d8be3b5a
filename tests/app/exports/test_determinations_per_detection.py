"""The formats with a row per detection (CSV, COCO, MegaDetector output) carry the
determination of each detection's occurrence, the models' as well as a person's: counting their
distinct occurrences by it gives the species view's numbers, although the detections' own labels
say otherwise."""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from datetime import timedelta

from tests.support.exports import Seeded
from tests.support.protocol_client import Protocol, api_post
from tests.support.scenes import (
    TAXA_CSV,
    add_frames,
    event_of,
    find_taxon,
    import_md,
    import_taxa,
    new_deployment,
    occurrences_of,
    species_rows,
    track_all,
)


def _two_birds(proto: Protocol) -> tuple[Seeded, int, int]:
    """Two birds walking through ten frames at the pond. The classifier calls the first a grey
    heron seven times (0.81) and an egret three times (0.6): it is a grey heron. It calls the
    second an egret (0.7), and a person identifies it as a grey heron. The export's scene and
    the two occurrences."""
    assert import_taxa(proto, TAXA_CSV).status_code == 200
    pond = new_deployment(proto, "Pond")
    add_frames(proto, pond, 10, timedelta(seconds=1), size=(640, 480))

    def box(x: float, species: str, score: float) -> dict[str, object]:
        return {
            "category": "1",
            "conf": 0.9,
            "bbox": [x, 0.3, 0.15, 0.2],
            "classifications": [[species, score]],
        }

    import_md(
        proto,
        {
            f"Pond/frame-{i:02d}.jpg": [
                box(0.05 + i * 0.005, "1" if i < 7 else "2", 0.81 if i < 7 else 0.6),
                box(0.6 + i * 0.005, "2", 0.7),
            ]
            for i in range(10)
        },
        classes={"1": "Ardea cinerea", "2": "Ardea alba"},
    )
    track_all(proto)
    found = sorted(occurrences_of(proto, event_of(proto, pond)), key=lambda o: o["id"])
    heron, named = (o["id"] for o in found)
    api_post(
        proto,
        f"/occurrences/{named}/identifications",
        {"taxon_id": find_taxon(proto, "Ardea cinerea")},
        201,
    )
    track_all(proto)
    return Seeded(proto, proto.project_id, {"Pond": pond}, {}, {}), heron, named


def _counted(pairs: list[tuple[object, str | None]]) -> dict[str | None, int]:
    """Distinct occurrences by the taxon their determination names."""
    by_taxon: dict[str | None, set[object]] = defaultdict(set)
    for occurrence, taxon in pairs:
        by_taxon[taxon].add(occurrence)
    return {taxon: len(found) for taxon, found in by_taxon.items()}


def test_counting_a_detection_export_by_occurrence_gives_the_species_view(
    proto: Protocol,
) -> None:
    seeded, heron, named = _two_birds(proto)
    assert species_rows(proto) == [("Ardea cinerea", 2, 20)]
    want = {"Ardea cinerea": 2}

    done = seeded.export(format="csv")
    rows = list(csv.DictReader(io.StringIO(seeded.download(done["id"]).decode("utf-8-sig"))))
    assert len(rows) == 20
    assert {r["label"] for r in rows} == {"Ardea cinerea", "Ardea alba"}
    assert _counted([(r["occurrence_id"], r["occurrence_taxon"]) for r in rows]) == want
    who = {
        (r["occurrence_id"], r["determination_method"], r["determined_by"], r["occurrence_label"])
        for r in rows
    }
    assert who == {
        (str(heron), "machine", "", "Ardea cinerea"),
        (str(named), "human", "Olive", "Ardea cinerea"),
    }

    coco = json.loads(seeded.download(seeded.export(format="coco")["id"]))
    annotations = coco["annotations"]
    assert len(annotations) == 20
    assert (
        _counted(
            [
                (a["trapline_occurrence_id"], a["trapline_determination"]["taxon"])
                for a in annotations
            ]
        )
        == want
    )

    md = json.loads(seeded.download(seeded.export(format="megadetector")["id"]))
    detections = [d for image in md["images"] for d in image["detections"]]
    assert len(detections) == 20
    assert _counted([(d["occurrence_id"], d["determination"]["taxon"]) for d in detections]) == want
    assert {
        (d["occurrence_id"], d["determination"]["method"], d["determination"]["person"])
        for d in detections
    } == {(heron, "machine", None), (named, "human", "Olive")}
