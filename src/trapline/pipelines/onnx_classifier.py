"""An ONNX classifier stage: each detection's crop is resized, normalised and classified.

Crops come from the decoded image (``SourceImage.image``), so boxes in original pixels are mapped
back by the image's scale first. Scores are a softmax of the model's output unless the spec says
the output already is probabilities; the classification is the best label, and the labels and
scores reported are the best ``top_k`` or, without it, all of them in label order. A spec
that names a ``features`` output sends that output's row for each crop as the
classification's features.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from trapline.errors import InvalidInput
from trapline.pipelines.base import Box, SourceImage, classification
from trapline.pipelines.onnx_session import OnnxSession, open_session
from trapline.pipelines.spec import ClassifierSpec
from trapline.pipelines.weights import weights_file
from trapline.protocol.base import MAX_FEATURES
from trapline.protocol.results import AlgorithmReference, ClassificationResponse

FloatArray = NDArray[np.float32]
# Boxes computed in floating point land a hair off whole pixels; this much is not a pixel.
_EPSILON = 1e-6


def crop(image: SourceImage, box: Box) -> Image.Image:
    """The part of ``image.image`` under ``box`` (original pixels), at least one pixel big."""
    scale_x, scale_y = image.scale
    width, height = image.image.size
    left = min(max(math.floor(box.x1 / scale_x + _EPSILON), 0), width - 1)
    top = min(max(math.floor(box.y1 / scale_y + _EPSILON), 0), height - 1)
    right = min(max(math.ceil(box.x2 / scale_x - _EPSILON), left + 1), width)
    bottom = min(max(math.ceil(box.y2 / scale_y - _EPSILON), top + 1), height)
    return image.image.crop((left, top, right, bottom))


def preprocess(crops: Sequence[Image.Image], spec: ClassifierSpec) -> FloatArray:
    """The model's input for ``crops``: resized, scaled to 0 to 1, normalised, in its layout."""
    pixels = np.stack(
        [
            np.asarray(
                piece.convert("RGB").resize(spec.input_size, Image.Resampling.BILINEAR),
                dtype=np.float32,
            )
            for piece in crops
        ]
    )
    if spec.channels == "bgr":
        pixels = pixels[..., ::-1]
    mean = np.asarray(spec.mean, dtype=np.float32)
    std = np.asarray(spec.std, dtype=np.float32)
    tensor = (pixels / 255.0 - mean) / std
    if spec.layout == "nchw":
        tensor = tensor.transpose(0, 3, 1, 2)
    return np.ascontiguousarray(tensor, dtype=np.float32)


def softmax(logits: FloatArray) -> FloatArray:
    """Probabilities from logits, along the last axis."""
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return np.asarray(shifted / shifted.sum(axis=-1, keepdims=True), dtype=np.float32)


class OnnxClassifier:
    """A classifier stage of a spec pipeline; ``load`` opens its session."""

    def __init__(
        self, spec: ClassifierSpec, algorithm: AlgorithmReference, cache_dir: Path | None = None
    ) -> None:
        self.spec = spec
        self.algorithm = algorithm
        self.cache_dir = cache_dir
        self._session: OnnxSession | None = None

    def load(self) -> None:
        """Fetch the weights (downloading them once) and open the inference session."""
        self._ready()

    def classify(
        self, detections: Sequence[tuple[SourceImage, Box]]
    ) -> list[ClassificationResponse]:
        """One classification per ``(image, box)``, in order."""
        session = self._ready()
        results: list[ClassificationResponse] = []
        for start in range(0, len(detections), self.spec.batch_size):
            chunk = detections[start : start + self.spec.batch_size]
            started = time.perf_counter()
            tensor = preprocess([crop(image, box) for image, box in chunk], self.spec)
            outputs, vectors = self._run(session, tensor, len(chunk))
            each = (time.perf_counter() - started) / len(chunk)
            results.extend(
                self._response(row, each, None if vectors is None else vectors[n])
                for n, row in enumerate(outputs)
            )
        return results

    def _ready(self) -> OnnxSession:
        if self._session is None:
            path = weights_file(self.spec.weights, self.spec.sha256, self.cache_dir)
            session = open_session(path)
            if self.spec.features is not None:
                session.check_outputs([self.spec.features])
                _scores_output(session, self.spec.features)
            self._session = session
        return self._session

    def _run(
        self, session: OnnxSession, tensor: FloatArray, crops: int
    ) -> tuple[FloatArray, FloatArray | None]:
        """Each crop's scores (a row per crop) and, when the spec names them, its features."""
        name = self.spec.features
        if name is None:
            outputs, vectors = session.run(tensor).reshape(crops, -1), None
        else:
            scores, features = session.run_outputs(tensor, [_scores_output(session, name), name])
            outputs, vectors = scores.reshape(crops, -1), features.reshape(crops, -1)
            if vectors.shape[1] > MAX_FEATURES:
                raise InvalidInput(
                    f"classifier {session.path.name} gives {vectors.shape[1]} features per "
                    f"crop (output {name!r}); at most {MAX_FEATURES} can be sent"
                )
        if outputs.shape[1] != len(self.spec.labels):
            raise InvalidInput(
                f"classifier {session.path.name} gives {outputs.shape[1]} scores per crop "
                f"but its spec lists {len(self.spec.labels)} labels"
            )
        return outputs, vectors

    def _response(
        self, output: FloatArray, inference_time: float, vector: FloatArray | None
    ) -> ClassificationResponse:
        spec = self.spec
        logits = output if spec.output == "logits" else None
        scores = softmax(output) if logits is not None else output
        chosen = np.arange(len(scores))
        if spec.top_k is not None:
            chosen = np.argsort(-scores, kind="stable")[: spec.top_k]
        return classification(
            spec.labels[int(scores.argmax())],
            self.algorithm,
            labels=[spec.labels[index] for index in chosen],
            scores=[float(value) for value in scores[chosen]],
            logits=None if logits is None else [float(value) for value in logits[chosen]],
            terminal=spec.is_terminal,
            inference_time=inference_time,
            features=None if vector is None else [float(value) for value in vector],
        )


def _scores_output(session: OnnxSession, features: str) -> str:
    """The output holding the scores of a model whose output ``features`` is its vectors: the
    first other one."""
    others = [name for name in session.output_names if name != features]
    if not others:
        raise InvalidInput(
            f"model {session.path.name} has only its features output {features!r}; "
            "it needs one for the scores too"
        )
    return others[0]
