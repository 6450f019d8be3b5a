"""People's identifications reach every per-detection format, as reviews do: the birds scene's
egret (three photos, the model's ``animal``) identified by Olive as Ardea alba is, in each of
its detections, the CSV's ``determined_by``/``identified_taxon``, COCO's category and
MegaDetector output's first classification; the heron the models determined is none of
these; the filters on results keep a person's determination as a reviewed detection."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from tests.support.birds import Birds, birds
from tests.support.protocol_client import Protocol


def _file(scene: Birds, fmt: str, **filters: Any) -> bytes:
    done = scene.seeded.export(format=fmt, **filters)
    assert done["status"] == "succeeded", done
    return scene.seeded.download(done["id"])


def _csv(scene: Birds, **filters: Any) -> list[dict[str, str]]:
    text = _file(scene, "csv", **filters).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def _by_occurrence(rows: list[dict[str, str]], scene: Birds) -> dict[str, list[dict[str, str]]]:
    names = {
        str(scene.heron["id"]): "heron",
        str(scene.walker["id"]): "walker",
        str(scene.egret["id"]): "egret",
    }
    found: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        found.setdefault(names[row["occurrence_id"]], []).append(row)
    return found


def test_the_csv_names_who_determined_a_detections_occurrence(proto: Protocol) -> None:
    scene = birds(proto)
    rows = _by_occurrence(_csv(scene), scene)
    assert [len(rows[k]) for k in ("heron", "walker", "egret")] == [10, 1, 3]
    assert {(r["determined_by"], r["identified_taxon"]) for r in rows["egret"]} == {
        ("Olive", "Ardea alba")
    }
    # The detections' own labels stay the model's; nobody reviewed them.
    assert {(r["label"], r["classification_method"]) for r in rows["egret"]} == {
        ("animal", "machine")
    }
    machine = rows["heron"] + rows["walker"]
    assert {(r["determined_by"], r["identified_taxon"]) for r in machine} == {("", "")}


def test_the_filters_keep_what_a_person_determined(proto: Protocol) -> None:
    scene = birds(proto)
    reviewed = _by_occurrence(_csv(scene, reviewed_only=True), scene)
    assert sorted(reviewed) == ["egret"]
    assert len(reviewed["egret"]) == 3
    # The egret's boxes scored 0.6 to 0.8: the person's word keeps them above any threshold.
    strict = _by_occurrence(_csv(scene, min_confidence=0.95), scene)
    assert sorted(strict) == ["egret"]


def test_coco_and_megadetector_output_name_the_persons_taxon(proto: Protocol) -> None:
    scene = birds(proto)
    egret_files = {f"Marsh/frame-{i:02d}.jpg" for i in range(3)}

    coco = json.loads(_file(scene, "coco"))
    names = {c["id"]: c["name"] for c in coco["categories"]}
    files = {i["id"]: i["file_name"] for i in coco["images"]}
    got = {
        (files[a["image_id"]] in egret_files, names[a["category_id"]]) for a in coco["annotations"]
    }
    assert got == {(True, "Ardea alba"), (False, "animal"), (False, "person")}

    md = json.loads(_file(scene, "megadetector"))
    classes = md["classification_categories"]
    for entry in md["images"]:
        for d in entry["detections"]:
            first = [classes[c] for c, _ in d.get("classifications", [])[:1]]
            if entry["file"] in egret_files:
                assert first == ["Ardea alba"]
                assert d["classifications"][0][1] == 1.0
            else:
                assert first == [], entry  # the detector's own boxes carry no classification
