"""The registry: built-ins, entry points of installed packages, spec files, and its errors."""

from __future__ import annotations

from collections.abc import Sequence
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

from tests.support.onnx_models import write_spec
from trapline.errors import InvalidInput
from trapline.pipelines import (
    Pipeline,
    SourceImage,
    available_pipelines,
    registry,
    resolve_pipelines,
)
from trapline.pipelines.onnx_pipeline import OnnxPipeline
from trapline.protocol.pipelines import PipelineConfig
from trapline.protocol.results import PipelineResultsResponse

BUILT_IN = ["trapline-constant", "trapline-random", "moth-blobs"]
HERE = __name__


class PluginPipeline(Pipeline):
    """What a third-party package might offer."""

    slug = "plugin"

    @property
    def config(self) -> PipelineConfig:
        return PipelineConfig(name="Plugin", slug=self.slug)

    def process(self, batch: Sequence[SourceImage]) -> list[PipelineResultsResponse]:
        return [PipelineResultsResponse(pipeline=self.slug) for _ in batch]


def make_plugin() -> Pipeline:
    return PluginPipeline()


def make_something_else() -> object:
    return "not a pipeline"


def use_entry_points(monkeypatch: pytest.MonkeyPatch, **targets: str) -> None:
    points = [
        EntryPoint(name=name, value=value, group=registry.ENTRY_POINT_GROUP)
        for name, value in targets.items()
    ]

    def entry_points(*, group: str) -> list[EntryPoint]:
        assert group == "trapline.pipelines"
        return points

    monkeypatch.setattr(registry, "entry_points", entry_points)


@pytest.fixture(autouse=True)
def no_installed_pipelines(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever packages this machine has, the tests see only the entry points they set."""
    use_entry_points(monkeypatch)


def spec_file(tmp_path: Path, slug: str = "camera") -> Path:
    (tmp_path / "detector.onnx").write_bytes(b"weights, not read before load")
    detector = {
        "weights": "detector.onnx",
        "input_size": 640,
        "layout": "yolov5",
        "labels": ["animal", "person", "vehicle"],
    }
    return write_spec(tmp_path / "spec.yaml", [{"slug": slug, "name": "C", "detector": detector}])


def test_the_built_ins_are_available() -> None:
    pipelines = available_pipelines()
    assert list(pipelines) == BUILT_IN
    assert all(slug == pipeline.slug for slug, pipeline in pipelines.items())
    assert [pipeline.slug for pipeline in resolve_pipelines([])] == BUILT_IN


def test_resolve_keeps_the_order_asked_for_and_drops_repeats() -> None:
    pipelines = resolve_pipelines(["moth-blobs", "trapline-constant", "moth-blobs"])
    assert [pipeline.slug for pipeline in pipelines] == ["moth-blobs", "trapline-constant"]


def test_an_unknown_slug_is_named_with_what_is_available() -> None:
    with pytest.raises(InvalidInput) as caught:
        resolve_pipelines(["trapline-constant", "mothz"])
    assert caught.value.detail.startswith(
        "unknown pipeline 'mothz'; available pipelines: megadetector, moth-blobs, "
        "trapline-constant, trapline-random"
    )
    assert caught.value.code == "unknown_pipeline"


def test_spec_file_pipelines_join_without_loading_anything(tmp_path: Path) -> None:
    pipelines = available_pipelines([spec_file(tmp_path)], cache_dir=tmp_path / "cache")
    assert list(pipelines) == [*BUILT_IN, "camera"]
    assert isinstance(pipelines["camera"], OnnxPipeline)
    assert pipelines["camera"].config.algorithms[0].key == "camera-detector"
    assert not (tmp_path / "cache").exists()


def test_a_bad_spec_file_is_reported_not_raised_as_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("pipelines: [{slug: x}]")
    with pytest.raises(InvalidInput, match=r"pipeline file .*broken\.yaml: pipelines\[0\]\.name"):
        resolve_pipelines(["trapline-constant"], [path])


def test_a_slug_offered_twice_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="'trapline-constant' is offered twice: by trapline"):
        available_pipelines([spec_file(tmp_path, "trapline-constant")])


@pytest.mark.parametrize("target", ["PluginPipeline", "make_plugin"])
def test_entry_points_add_pipelines(monkeypatch: pytest.MonkeyPatch, target: str) -> None:
    use_entry_points(monkeypatch, plugin=f"{HERE}:{target}")
    (pipeline,) = resolve_pipelines(["plugin"])
    assert isinstance(pipeline, PluginPipeline)
    assert list(available_pipelines()) == [*BUILT_IN, "plugin"]


def test_a_broken_entry_point_fails_only_when_asked_for(monkeypatch: pytest.MonkeyPatch) -> None:
    use_entry_points(monkeypatch, broken="no_such_package.pipelines:Thing")
    assert [pipeline.slug for pipeline in resolve_pipelines(["trapline-constant"])] == [
        "trapline-constant"
    ]
    with pytest.raises(InvalidInput) as caught:
        resolve_pipelines(["broken"])
    assert caught.value.detail.startswith(
        "entry point broken = no_such_package.pipelines:Thing could not be loaded: "
        "ModuleNotFoundError"
    )


def test_an_entry_point_must_give_a_pipeline(monkeypatch: pytest.MonkeyPatch) -> None:
    use_entry_points(monkeypatch, odd=f"{HERE}:make_something_else")
    with pytest.raises(InvalidInput, match="gave a str, not a trapline Pipeline"):
        resolve_pipelines(["odd"])


def test_an_entry_point_name_must_be_its_pipelines_slug(monkeypatch: pytest.MonkeyPatch) -> None:
    use_entry_points(monkeypatch, other=f"{HERE}:PluginPipeline")
    with pytest.raises(InvalidInput, match="registered as 'other' but its pipeline's slug is"):
        resolve_pipelines(["other"])
