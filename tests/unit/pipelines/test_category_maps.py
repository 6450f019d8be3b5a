"""Category maps carry one data entry per label (index, label, taxon fields when known), as
Antenna reads them, on every path a pipeline is described: built-ins, spec files, registration
and a processing service's /info."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.onnx_models import write_spec
from tests.support.scripted import Script, scripted_server
from trapline.errors import InvalidInput
from trapline.pipelines.registry import BUILTIN_PIPELINES
from trapline.pipelines.spec import load_spec_file
from trapline.protocol.pipelines import CategoryMap, PipelineConfig
from trapline.worker.client import PlatformClient, client_info


def maps(config: PipelineConfig) -> list[CategoryMap]:
    return [a.category_map for a in config.algorithms if a.category_map is not None]


@pytest.mark.parametrize("slug", sorted(BUILTIN_PIPELINES))
def test_every_builtin_map_has_an_entry_per_label(slug: str) -> None:
    found = maps(BUILTIN_PIPELINES[slug]().config)
    assert found, f"{slug} describes no category map"
    for category_map in found:
        assert category_map.data == [
            {"index": i, "label": label} for i, label in enumerate(category_map.labels)
        ]


def test_known_taxon_fields_join_index_and_label() -> None:
    made = CategoryMap.of_labels(
        ["Noctua pronuba", "Lepidoptera"],
        [{"taxon_rank": "SPECIES", "gbif_key": 1}, {"taxon_rank": "ORDER", "index": 7}],
    )
    assert made.data == [
        {"taxon_rank": "SPECIES", "gbif_key": 1, "index": 0, "label": "Noctua pronuba"},
        {"taxon_rank": "ORDER", "index": 1, "label": "Lepidoptera"},
    ]
    with pytest.raises(ValueError, match="1 data entries for 2 labels"):
        CategoryMap.of_labels(["a", "b"], [{}])


def spec_with_labels(tmp_path: Path, content: Any) -> Path:
    (tmp_path / "detector.onnx").write_bytes(b"weights")
    (tmp_path / "labels.json").write_text(json.dumps(content))
    stage = {
        "type": "onnx-detector",
        "weights": "detector.onnx",
        "input_size": 64,
        "layout": "yolov8",
        "labels_file": "labels.json",
    }
    return write_spec(
        tmp_path / "spec.yaml", [{"slug": "traps", "name": "Traps", "detector": stage}]
    )


def test_a_spec_labels_file_of_objects_gives_the_map_its_taxon_fields(tmp_path: Path) -> None:
    from trapline.pipelines.onnx_pipeline import OnnxPipeline

    path = spec_with_labels(
        tmp_path,
        [
            {"label": "Noctua pronuba", "taxon_rank": "SPECIES", "gbif_key": 1789},
            {"label": "Insecta", "taxon_rank": "CLASS", "index": 1},
        ],
    )
    (spec,) = load_spec_file(path)
    assert spec.detector.labels == ["Noctua pronuba", "Insecta"]
    (category_map,) = maps(OnnxPipeline(spec).config)
    assert category_map.data == [
        {"taxon_rank": "SPECIES", "gbif_key": 1789, "index": 0, "label": "Noctua pronuba"},
        {"taxon_rank": "CLASS", "index": 1, "label": "Insecta"},
    ]


def test_a_labels_file_of_objects_needs_a_label_in_each(tmp_path: Path) -> None:
    path = spec_with_labels(tmp_path, [{"label": "a"}, {"taxon_rank": "ORDER"}])
    with pytest.raises(InvalidInput, match='every object needs a "label" string'):
        load_spec_file(path)


def test_registration_sends_the_data_entries() -> None:
    script = Script()
    script.add("/api/v2/projects/3/pipelines/", 201, {"pipelines_created": ["trapline-constant"]})
    config = BUILTIN_PIPELINES["trapline-constant"]().config
    with scripted_server(script) as url:
        client = PlatformClient(url, "t", info=client_info(None, ["trapline-constant"]))
        client.register(3, "gpu box", [config])
        client.close()
    (sent,) = json.loads(script.seen[0].body)["pipelines"]
    (classifier,) = [a for a in sent["algorithms"] if a.get("category_map")]
    assert classifier["category_map"]["data"] == [
        {"index": 0, "label": "moth"},
        {"index": 1, "label": "nonmoth"},
    ]
