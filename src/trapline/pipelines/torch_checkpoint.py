"""A PyTorch checkpoint (``.pt``) read without PyTorch, for ``yolov5_onnx``.

A ``.pt`` file is a zip archive: a pickle of the module tree, and one file per tensor storage.
A pickle can run any code it names, so the file is read by a restricted unpickler: PyTorch's
and YOLOv5's module classes become inert records of their attributes (``Record``), tensors
become numpy arrays, a few harmless helpers (ordered dicts, numpy scalars, paths) are allowed,
and any other name refuses the file before anything runs.
"""

from __future__ import annotations

import io
import pickle
import zipfile
from collections import OrderedDict
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

import numpy as np
from numpy.typing import NDArray

from trapline.errors import InvalidInput

#: Storage classes of a checkpoint and the numpy type of their elements.
_STORAGES = {
    "HalfStorage": np.float16,
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "BFloat16Storage": np.float32,  # refused below: numpy has no bfloat16
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}
#: Modules whose classes are read as inert records.
_MODULE_PREFIXES = ("torch.nn.modules.", "models.", "yolov5.models.", "utils.")
#: Largest checkpoint read: MegaDetector v5 is about 270 MB.
MAX_CHECKPOINT_BYTES = 1 << 30


class Record:
    """An inert stand-in for a pickled class: its name and the attributes it was saved with."""

    kind = "object"

    def __setstate__(self, state: Any) -> None:
        if isinstance(state, tuple) and len(state) == 2:  # (state, slots)
            state = {**(state[0] or {}), **(state[1] or {})}
        if isinstance(state, dict):
            self.__dict__.update(state)

    def child(self, name: str) -> Record:
        """A submodule (``_modules``) by name."""
        found = self.__dict__.get("_modules", {}).get(name)
        if not isinstance(found, Record):
            raise InvalidInput(f"checkpoint: {self.kind} has no submodule {name!r}")
        return found

    def children(self) -> list[Record]:
        """The submodules, in order."""
        return [m for m in self.__dict__.get("_modules", {}).values() if isinstance(m, Record)]

    def tensor(self, name: str) -> NDArray[np.float32] | None:
        """A parameter or buffer by name, as float32, or None."""
        for place in ("_parameters", "_buffers"):
            value = self.__dict__.get(place, {}).get(name)
            if value is not None:
                return np.asarray(value, dtype=np.float32)
        value = self.__dict__.get(name)
        return np.asarray(value, dtype=np.float32) if isinstance(value, np.ndarray) else None


_RECORDS: dict[str, type[Record]] = {}


def _record_class(name: str) -> type[Record]:
    if name not in _RECORDS:
        _RECORDS[name] = type(name, (Record,), {"kind": name})
    return _RECORDS[name]


def _rebuild_tensor(
    storage: NDArray[Any], offset: int, size: tuple[int, ...], stride: tuple[int, ...], *_: Any
) -> NDArray[Any]:
    """A tensor as a copy of its window of ``storage``, checked to lie inside it."""
    if offset < 0 or any(n < 0 for n in size) or any(step < 0 for step in stride):
        raise InvalidInput("checkpoint: a tensor has a negative size, stride or offset")
    if len(size) != len(stride):
        raise InvalidInput("checkpoint: a tensor's size and stride do not match")
    last = offset + sum((n - 1) * step for n, step in zip(size, stride, strict=True))
    if 0 not in size and last >= len(storage):
        raise InvalidInput("checkpoint: a tensor reaches past its storage")
    view = np.lib.stride_tricks.as_strided(
        storage[offset:], shape=size, strides=[step * storage.itemsize for step in stride]
    )
    return np.array(view)


def _rebuild_parameter(data: NDArray[Any], *_: Any) -> NDArray[Any]:
    return data


def _scalar(dtype: np.dtype[Any], data: bytes | str) -> Any:
    """A numpy scalar (YOLOv5 keeps its best score as one), from its dtype and bytes."""
    raw = data.encode("latin-1") if isinstance(data, str) else bytes(data)
    if len(raw) != dtype.itemsize:
        raise InvalidInput("checkpoint: a number of the wrong size")
    return np.frombuffer(raw, dtype=dtype)[0]


def _reconstructor(cls: type, base: type, state: Any) -> Any:
    if not issubclass(cls, Record):
        raise InvalidInput(f"checkpoint names {cls!r}, which trapline does not read")
    return cls()


_ALLOWED: dict[tuple[str, str], Any] = {
    ("collections", "OrderedDict"): OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("copyreg", "_reconstructor"): _reconstructor,
    ("builtins", "object"): object,
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("pathlib", "PosixPath"): PurePosixPath,
    ("pathlib", "WindowsPath"): PureWindowsPath,
    ("numpy.core.multiarray", "scalar"): _scalar,
    ("numpy._core.multiarray", "scalar"): _scalar,
    ("numpy", "dtype"): np.dtype,
}


class _Unpickler(pickle.Unpickler):
    def __init__(self, data: bytes, archive: zipfile.ZipFile, folder: str) -> None:
        super().__init__(io.BytesIO(data))
        self.archive, self.folder = archive, folder
        self.storages: dict[str, NDArray[Any]] = {}

    def find_class(self, module: str, name: str) -> Any:
        module = "builtins" if module == "__builtin__" else module
        if (module, name) in _ALLOWED:
            return _ALLOWED[(module, name)]
        if module == "torch" and name in _STORAGES:
            return name
        if module == "torch" and name in ("Size", "device", "dtype"):
            return _record_class(f"torch.{name}")
        if module.startswith(_MODULE_PREFIXES):
            return _record_class(f"{module}.{name}")
        raise InvalidInput(f"checkpoint names {module}.{name}, which trapline does not read")

    def persistent_load(self, pid: Any) -> NDArray[Any]:
        if not (isinstance(pid, tuple) and len(pid) >= 3 and pid[0] == "storage"):
            raise InvalidInput("checkpoint: unknown persistent object")
        kind, key = pid[1], str(pid[2])
        kind = kind if isinstance(kind, str) else getattr(kind, "kind", str(kind))
        kind = kind.rsplit(".", 1)[-1]
        if kind not in _STORAGES or kind == "BFloat16Storage":
            raise InvalidInput(f"checkpoint: tensors of {kind} are not read")
        if key not in self.storages:
            try:
                raw = self.archive.read(f"{self.folder}/data/{key}")
            except KeyError:
                raise InvalidInput(f"checkpoint: storage {key} is missing") from None
            self.storages[key] = np.frombuffer(
                raw, dtype=np.dtype(_STORAGES[kind]).newbyteorder("<")
            )
        return self.storages[key]


def read_checkpoint(path: Path) -> Any:
    """The pickled object of a PyTorch zip checkpoint, with records for modules and numpy
    arrays for tensors.

    Raises:
        InvalidInput: not a zip checkpoint, too large, or naming anything not allowed.
    """
    if path.stat().st_size > MAX_CHECKPOINT_BYTES:
        raise InvalidInput(f"{path} is larger than a checkpoint trapline reads (1 GiB)")
    try:
        with zipfile.ZipFile(path) as archive:
            if sum(member.file_size for member in archive.infolist()) > MAX_CHECKPOINT_BYTES:
                raise InvalidInput(f"{path} unpacks to more than a checkpoint holds (1 GiB)")
            pickles = [n for n in archive.namelist() if n.endswith("/data.pkl")]
            if len(pickles) != 1:
                raise InvalidInput(f"{path} is not a PyTorch checkpoint (no data.pkl)")
            folder = pickles[0].rsplit("/", 1)[0]
            return _Unpickler(archive.read(pickles[0]), archive, folder).load()
    except (zipfile.BadZipFile, pickle.UnpicklingError, EOFError) as exc:
        raise InvalidInput(f"{path} is not a readable PyTorch checkpoint: {exc}") from exc
    except (TypeError, ValueError, AttributeError, IndexError, KeyError) as exc:
        # Allowed names called with arguments they do not take: a malformed file.
        raise InvalidInput(f"{path} is not a well-formed checkpoint: {exc}") from exc
