"""COCO, MegaDetector and Camtrap DP exports: each parses back to the same boxes and labels,
and each passes its format's own checks (pycocotools, the documented MegaDetector schema, the
official Camtrap DP 1.0.2 schemas)."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path

import jsonschema
import pytest

from tests.support.exports import Seeded
from tests.support.protocol_client import HEIGHT, WIDTH
from tests.support.standards import CAMTRAP, megadetector_schema, validate_camtrap_dp


def _want(seeded: Seeded) -> list[tuple[int, tuple[float, ...], str, float]]:
    return sorted((b.image_id, b.box, b.label, b.score) for b in seeded.boxes)


def test_coco_loads_with_pycocotools_and_round_trips(seeded: Seeded, tmp_path: Path) -> None:
    from pycocotools.coco import COCO

    done = seeded.export(format="coco")
    assert done["status"] == "succeeded", done
    path = tmp_path / "export.json"
    path.write_bytes(seeded.download(done["id"]))
    coco = COCO(str(path))
    assert sorted(coco.getImgIds()) == sorted(str(i) for i in seeded.images)
    names = {c["id"]: c["name"] for c in coco.loadCats(coco.getCatIds())}
    got = []
    for a in coco.loadAnns(coco.getAnnIds()):
        x, y, w, h = a["bbox"]
        assert a["iscrowd"] == 0
        assert a["area"] == pytest.approx(w * h, rel=1e-3)
        box = (round(x, 3), round(y, 3), round(x + w, 3), round(y + h, 3))
        got.append((int(a["image_id"]), box, names[a["category_id"]], round(a["score"], 6)))
    assert sorted(got) == _want(seeded)
    image = coco.loadImgs(str(seeded.empty[0]))[0]
    assert (image["width"], image["height"]) == (WIDTH, HEIGHT)
    assert image["file_name"].endswith(seeded.images[seeded.empty[0]])


def test_megadetector_output_follows_the_format_and_round_trips(seeded: Seeded) -> None:
    done = seeded.export(format="megadetector")
    assert done["status"] == "succeeded", done
    data = json.loads(seeded.download(done["id"]))
    jsonschema.validate(data, megadetector_schema())
    assert data["info"]["format_version"] == "1.4"
    assert data["info"]["detector"] == "Blob detector"
    assert data["info"]["classifier"] == "Order classifier"
    classes = data["classification_categories"]
    by_name = {seeded.images[i]: i for i in seeded.images}
    got = []
    failures = {}
    for entry in data["images"]:
        folder, name = entry["file"].split("/")
        image_id = by_name[name]
        assert folder == (
            "Trap A"
            if seeded.image_deployment[image_id] == seeded.deployments["Trap A"]
            else "Trap B"
        )
        if "failure" in entry:
            failures[image_id] = entry["failure"]
            continue
        for d in entry["detections"]:
            x, y, w, h = d["bbox"]
            box = (
                round(x * WIDTH, 3),
                round(y * HEIGHT, 3),
                round((x + w) * WIDTH, 3),
                round((y + h) * HEIGHT, 3),
            )
            scores = [s for _, s in d["classifications"]]
            assert scores == sorted(scores, reverse=True)
            top, score = d["classifications"][0]
            got.append((image_id, box, classes[top], score))
    assert failures == {seeded.failed[0]: "could not read the file"}
    want = [
        (i, tuple(round(v, 3) for v in box), label, score) for i, box, label, score in _want(seeded)
    ]
    assert sorted(got) == want


def test_megadetector_schema_fixture_can_fail() -> None:
    """The fixture rejects what the format forbids (it is no rubber stamp)."""
    schema = megadetector_schema()
    good = {
        "info": {"format_version": "1.4", "detector": "md_v5a.0.0.pt"},
        "detection_categories": {"1": "animal"},
        "images": [
            {
                "file": "a/b.jpg",
                "detections": [{"category": "1", "conf": 0.5, "bbox": [0.1, 0.1, 0.2, 0.2]}],
            }
        ],
    }
    jsonschema.validate(good, schema)
    for broken in (
        {**good, "info": {"detector": "x"}},
        {
            **good,
            "images": [
                {
                    "file": "a.jpg",
                    "detections": [{"category": "1", "conf": 0.5, "bbox": [0.1, 0.1]}],
                }
            ],
        },
        {
            **good,
            "images": [
                {
                    "file": "a.jpg",
                    "detections": [{"category": "1", "conf": 1.5, "bbox": [0, 0, 1, 1]}],
                }
            ],
        },
        {**good, "detection_categories": {"animal": "1"}},
    ):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(broken, schema)


def test_the_standards_own_example_validates() -> None:
    """The validator above passes the standard's example package (so a failure is ours)."""
    assert validate_camtrap_dp(CAMTRAP / "example") == []


def _tables(archive: zipfile.ZipFile, name: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(archive.read(name).decode())))


def test_camtrap_dp_validates_and_round_trips(seeded: Seeded, tmp_path: Path) -> None:
    done = seeded.export(format="camtrap-dp")
    assert done["status"] == "succeeded", done
    archive = zipfile.ZipFile(io.BytesIO(seeded.download(done["id"])))
    assert sorted(archive.namelist()) == [
        "datapackage.json",
        "deployments.csv",
        "media.csv",
        "observations.csv",
    ]
    archive.extractall(tmp_path)
    assert validate_camtrap_dp(tmp_path) == []
    media = _tables(archive, "media.csv")
    assert sorted(int(m["mediaID"]) for m in media) == sorted(seeded.images)
    observations = _tables(archive, "observations.csv")
    boxes = [o for o in observations if o["bboxX"]]
    got = sorted(
        (
            int(o["mediaID"]),
            tuple(round(v, 3) for v in (
                float(o["bboxX"]) * WIDTH, float(o["bboxY"]) * HEIGHT,
                (float(o["bboxX"]) + float(o["bboxWidth"])) * WIDTH,
                (float(o["bboxY"]) + float(o["bboxHeight"])) * HEIGHT,
            )),
            o["observationTags"].removeprefix("label:"),
            float(o["classificationProbability"]),
        )
        for o in boxes
    )  # fmt: skip
    want = [
        (i, tuple(round(v, 3) for v in box), label, score) for i, box, label, score in _want(seeded)
    ]
    assert got == want
    assert {o["classificationMethod"] for o in boxes} == {"machine"}
    assert {o["classifiedBy"] for o in boxes} == {"moth-test v1"}
    kinds = {int(o["mediaID"]): o["observationType"] for o in observations if not o["bboxX"]}
    assert kinds == {
        **dict.fromkeys(seeded.empty, "blank"),
        seeded.failed[0]: "unclassified",
    }
    deployments = _tables(archive, "deployments.csv")
    assert {d["locationName"] for d in deployments} == {"Trap A", "Trap B"}


def test_camtrap_dp_names_taxa_from_category_maps(proto, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Labels whose category-map entry is a taxon give scientificName and the taxonomic list."""
    from tests.support import protocol
    from tests.support.exports import seed_project

    taxa = {
        "moth": {
            "label": "moth",
            "taxon_rank": "ORDER",
            "gbif_key": 797,
            "scientific_name": "Lepidoptera",
        },
        "beetle": {
            "label": "beetle",
            "taxon_rank": "ORDER",
            "gbif_key": 1470,
            "scientific_name": "Coleoptera",
        },
        "fly": {
            "label": "fly",
            "taxon_rank": "ORDER",
            "gbif_key": 811,
            "scientific_name": "Diptera",
        },
    }
    config = protocol.pipeline_config()
    config["algorithms"][1]["category_map"]["data"] = [taxa[x] for x in protocol.LABELS]
    seeded = seed_project(proto, config=config)
    done = seeded.export(format="camtrap-dp")
    archive = zipfile.ZipFile(io.BytesIO(seeded.download(done["id"])))
    archive.extractall(tmp_path)
    assert validate_camtrap_dp(tmp_path) == []
    descriptor = json.loads(archive.read("datapackage.json"))
    names = {t["scientificName"]: t for t in descriptor["taxonomic"]}
    used = {taxa[b.label]["scientific_name"] for b in seeded.boxes}
    assert set(names) == used
    assert names["Lepidoptera"]["taxonID"] == "https://www.gbif.org/species/797"
    assert names["Lepidoptera"]["taxonRank"] == "order"
    observations = _tables(archive, "observations.csv")
    animals = [o for o in observations if o["bboxX"]]
    assert {o["observationType"] for o in animals} == {"animal"}
    assert {o["scientificName"] for o in animals} == used


def test_camtrap_dp_cells_never_read_as_formulas(proto) -> None:  # type: ignore[no-untyped-def]
    """The package's CSVs escape a leading formula character as the plain CSV does."""
    from tests.support.exports import seed_project

    seeded = seed_project(proto, names=[f"=HYPERLINK(x{n})-2024062{n}220000.jpg" for n in range(9)])
    done = seeded.export(format="camtrap-dp")
    archive = zipfile.ZipFile(io.BytesIO(seeded.download(done["id"])))
    names = [row["fileName"] for row in _tables(archive, "media.csv")]
    assert names
    assert all(name.startswith("'=HYPERLINK(") for name in names)
