"""What the viewer draws besides boxes: segmentations, masks, heatmaps and keypoints.

Everything is drawn as SVG in the photo's own pixels. A segmentation's COCO run-length
encoding becomes a path of one-pixel-wide column runs, drawn by the server; masks and heatmaps
are PNG artifacts the browser loads through ``/annotations/{id}/layer`` and tints with an SVG
filter (a mask's bright pixels in one colour, a heatmap's intensities through its colour map),
so the server never decodes them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from trapline.domain.processing.results import Analysis, Annotation, AnnotationType
from trapline.domain.processing.rle import column_runs

#: A segmentation with more column runs than this is drawn as its bounding box.
MAX_RUNS = 20_000

#: Colour maps a heatmap may name, as a few evenly spaced colours (low to high).
HEAT_RAMPS: dict[str, tuple[str, ...]] = {
    "viridis": ("#440154", "#3b528b", "#21918c", "#5ec962", "#fde725"),
    "magma": ("#000004", "#51127c", "#b73779", "#fc8961", "#fcfdbf"),
    "inferno": ("#000004", "#56106e", "#bb3754", "#f98c0a", "#fcffa4"),
    "jet": ("#000080", "#0000ff", "#00ffff", "#ffff00", "#ff0000", "#800000"),
    "hot": ("#000000", "#e60000", "#ffd200", "#ffffff"),
    "gray": ("#000000", "#ffffff"),
}
#: The map a heatmap is drawn with when it names one the viewer does not know.
DEFAULT_RAMP = "viridis"

#: The layer kinds, in the order they are drawn (later ones on top) and listed.
KINDS = {
    AnnotationType.HEATMAP: "Heatmaps",
    AnnotationType.MASK: "Masks",
    AnnotationType.SEGMENTATION: "Segmentations",
    AnnotationType.KEYPOINT: "Keypoints",
}


@dataclass(frozen=True)
class Layer:
    """One annotation drawn over the photo as something other than a box."""

    annotation: Annotation
    analysis: Analysis
    #: A segmentation's path (``d``), or None when it is drawn as its bounding box.
    path: str | None = None
    #: x and y scale from the segmentation's grid to the photo's pixels.
    scale: tuple[float, float] = (1.0, 1.0)

    @property
    def kind(self) -> str:
        """The annotation type's name (a CSS class and a toggle's value)."""
        return self.annotation.type.value

    @property
    def model(self) -> str:
        """What made it, as the viewer's model toggles name it."""
        return self.analysis.pipeline_slug or self.analysis.model_name or self.analysis.source

    @property
    def ramp(self) -> str:
        """The heatmap's colour map, one the viewer knows."""
        name = str((self.annotation.data or {}).get("color_map", "")).lower()
        return name if name in HEAT_RAMPS else DEFAULT_RAMP

    @property
    def bbox(self) -> tuple[float, float, float, float]:
        """A segmentation's COCO ``[x, y, width, height]`` (zeros when it has none)."""
        found = (self.annotation.data or {}).get("bbox") or [0, 0, 0, 0]
        return (float(found[0]), float(found[1]), float(found[2]), float(found[3]))

    @property
    def keypoints(self) -> list[dict[str, Any]]:
        """A keypoint annotation's points."""
        return list((self.annotation.data or {}).get("keypoints", []))

    @property
    def edges(self) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """A keypoint annotation's skeleton, as pairs of points."""
        points = self.keypoints
        return [
            (points[i], points[j])
            for i, j in (self.annotation.data or {}).get("skeleton", [])
            if i < len(points) and j < len(points)
        ]

    @property
    def caption(self) -> str:
        """The annotation's class and confidence, as its tooltip says them."""
        words = [self.annotation.label or self.kind.replace("_", " ")]
        if self.annotation.confidence is not None:
            words.append(f"{self.annotation.confidence:.2f}")
        return " ".join(words) + f" · {self.model}"


def layers_of(found: Sequence[Analysis], width: int, height: int) -> list[Layer]:
    """The image's segmentations, masks, heatmaps and keypoints, in drawing order."""
    layers = []
    for analysis in found:
        for a in analysis.annotations:
            if a.type is AnnotationType.SEGMENTATION:
                layers.append(_segmentation(a, analysis, width, height))
            elif a.type in KINDS and (a.type is AnnotationType.KEYPOINT or a.storage_key):
                layers.append(Layer(a, analysis))
    order = list(KINDS)
    layers.sort(key=lambda layer: order.index(layer.annotation.type))
    return layers


def kinds_of(layers: Sequence[Layer]) -> list[tuple[str, str]]:
    """The layer kinds present, as (value, name) pairs for the viewer's toggles."""
    present = {layer.annotation.type for layer in layers}
    return [(kind.value, name) for kind, name in KINDS.items() if kind in present]


def ramps_of(layers: Sequence[Layer]) -> dict[str, tuple[str, str, str]]:
    """The colour maps the heatmaps use, with their filter tables."""
    used = {layer.ramp for layer in layers if layer.annotation.type is AnnotationType.HEATMAP}
    return {name: heat_tables(name) for name in HEAT_RAMPS if name in used}


def heat_tables(ramp: str) -> tuple[str, str, str]:
    """``tableValues`` for an SVG filter's red, green and blue transfer functions."""
    colours = [c.lstrip("#") for c in HEAT_RAMPS[ramp]]
    return tuple(  # type: ignore[return-value]
        " ".join(f"{int(c[k : k + 2], 16) / 255:.3f}" for c in colours) for k in (0, 2, 4)
    )


def rle_path(counts: str | Sequence[int], height: int, max_runs: int = MAX_RUNS) -> str | None:
    """An SVG path covering the mask's pixels, one rectangle per run within a column; None
    when the mask needs more than ``max_runs`` rectangles. The counts are read only as far as
    that, so a page's cost is bounded whatever was stored."""
    pieces = column_runs(counts, height, max_runs)
    if pieces is None:
        return None
    return "".join(f"M{x} {y}h1v{n}h-1z" for x, y, n in pieces)


def _segmentation(a: Annotation, analysis: Analysis, width: int, height: int) -> Layer:
    data = a.data or {}
    grid_height, grid_width = (data.get("size") or [height, width])[:2]
    scale = (width / grid_width, height / grid_height)
    try:
        path = rle_path(data.get("counts") or [], int(grid_height))
    except ValueError:
        path = None  # stored before its counts were checked: shown as its box
    return Layer(a, analysis, path=path, scale=scale)
