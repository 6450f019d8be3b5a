"""An ONNX Runtime session over one model file, imported lazily with an install hint.

onnxruntime is an optional dependency (``trapline[onnx]``): nothing imports it until a pipeline
that needs it is loaded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from trapline.errors import InvalidInput, MissingDependency

#: Execution providers in order of preference; the first ones onnxruntime has are used.
PREFERRED_PROVIDERS = ("CUDAExecutionProvider", "CPUExecutionProvider")
_DTYPES: dict[str, type[np.floating[Any]]] = {
    "tensor(float)": np.float32,
    "tensor(float16)": np.float16,
}


@dataclass
class OnnxSession:
    """A loaded model with one image-like input; runs a batch, in chunks if the model's batch
    size is fixed."""

    path: Path
    session: Any
    input_name: str
    input_shape: tuple[int | None, ...]
    input_dtype: type[np.floating[Any]]
    #: The model's outputs by name, in its order.
    output_names: tuple[str, ...] = ()

    @property
    def fixed_batch(self) -> int | None:
        """The batch size the model was exported with, or ``None`` when it takes any."""
        return self.input_shape[0] if self.input_shape else None

    def run(self, batch: NDArray[np.float32]) -> NDArray[np.float32]:
        """The model's first output for ``batch``, as float32, one row per input."""
        (output,) = self.run_outputs(batch, None)
        return output

    def run_outputs(
        self, batch: NDArray[np.float32], names: Sequence[str] | None
    ) -> list[NDArray[np.float32]]:
        """The outputs ``names`` (``None``: the first) for ``batch``, each as float32 with one
        row per input."""
        step = self.fixed_batch or len(batch)
        wanted = list(names) if names is not None else None
        parts: list[list[NDArray[np.float32]]] = []
        for start in range(0, len(batch), step):
            chunk = batch[start : start + step].astype(self.input_dtype, copy=False)
            try:
                answer = self.session.run(wanted, {self.input_name: chunk})
            except Exception as exc:
                # onnxruntime's errors derive from Exception only; say which model failed.
                raise InvalidInput(
                    f"model {self.path.name} failed on a batch of shape {chunk.shape}: {exc}"
                ) from exc
            kept = answer if wanted is not None else answer[:1]
            parts.append([np.asarray(output, dtype=np.float32) for output in kept])
        if not parts:
            return [np.empty((0,), dtype=np.float32) for _ in range(len(wanted or [0]))]
        return [np.concatenate(outputs) for outputs in zip(*parts, strict=True)]

    def check_outputs(self, names: Sequence[str]) -> None:
        """Refuse ``names`` the model has no output of (InvalidInput naming those it has)."""
        missing = [name for name in names if name not in self.output_names]
        if missing:
            raise InvalidInput(
                f"model {self.path.name} has no output {missing[0]!r} "
                f"(its outputs: {', '.join(self.output_names)})"
            )


def open_session(path: Path) -> OnnxSession:
    """An inference session for the model at ``path``.

    Raises:
        MissingDependency: onnxruntime is not installed.
        InvalidInput: the file is not a model onnxruntime can run, or it has not exactly one
            floating-point input.
    """
    try:
        import onnxruntime
    except ImportError as exc:
        raise MissingDependency(
            "ONNX pipelines need onnxruntime: pip install 'trapline[onnx]'"
        ) from exc
    available = onnxruntime.get_available_providers()
    providers = [name for name in PREFERRED_PROVIDERS if name in available]
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    try:
        session = onnxruntime.InferenceSession(str(path), options, providers=providers)
    except Exception as exc:
        raise InvalidInput(f"{path} is not a model onnxruntime can run: {exc}") from exc
    inputs = session.get_inputs()
    if len(inputs) != 1 or inputs[0].type not in _DTYPES:
        found = ", ".join(f"{item.name} {item.type}" for item in inputs)
        raise InvalidInput(f"{path} must take exactly one float image tensor (it takes {found})")
    (image_input,) = inputs
    shape = tuple(dim if isinstance(dim, int) and dim > 0 else None for dim in image_input.shape)
    outputs = tuple(item.name for item in session.get_outputs())
    return OnnxSession(path, session, image_input.name, shape, _DTYPES[image_input.type], outputs)
