"""A PyTorch checkpoint (``.pt``) read without PyTorch, for ``yolov5_onnx``.

A ``.pt`` file is a zip archive: a pickle of the module tree, and one file per tensor storage.
A pickle can run any code it names, so the file is read by a restricted unpickler: PyTorch's
and YOLOv5's module classes become inert records of their attributes (``Record``), tensors
become ``Tensor`` references into the archive, a few harmless helpers (ordered dicts, numpy
scalars and dtypes, paths) are allowed, and any other name refuses the file before anything
runs. A tensor's numbers are read from the archive only when ``Tensor.array`` asks for them, so
converting a checkpoint holds one layer's weights at a time, not the whole file
(``open_checkpoint``).
"""

from __future__ import annotations

import io
import math
import pickle
import zipfile
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
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
#: Kinds of numpy dtype a pickled number may have (booleans, integers, floats, complex).
_NUMBER_KINDS = "biufc"


@dataclass
class _Storage:
    """One storage file of the archive: where it is and what its elements are."""

    archive: zipfile.ZipFile
    name: str
    dtype: np.dtype[Any]
    length: int


@dataclass
class Tensor:
    """A tensor of the checkpoint: its shape now, its numbers from the archive on demand."""

    storage: _Storage
    offset: int
    shape: tuple[int, ...]
    stride: tuple[int, ...]
    _array: NDArray[Any] | None = field(default=None, repr=False)

    def array(self) -> NDArray[Any]:
        """The tensor's numbers (read from the archive unless ``keep`` read them already)."""
        if self._array is not None:
            return self._array
        try:
            raw = self.storage.archive.read(self.storage.name)
        except ValueError as exc:  # the archive was closed
            raise InvalidInput(f"checkpoint: {self.storage.name} read after closing") from exc
        storage = np.frombuffer(raw, dtype=self.storage.dtype)
        view = np.lib.stride_tricks.as_strided(
            storage[self.offset :],
            shape=self.shape,
            strides=[step * storage.itemsize for step in self.stride],
        )
        return np.array(view)

    def keep(self) -> None:
        """Read the numbers now and keep them (the archive may be closed afterwards)."""
        self._array = self.array()


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

    def tensor_ref(self, name: str) -> Tensor | None:
        """A parameter, buffer or tensor attribute by name, not read yet, or None."""
        for place in ("_parameters", "_buffers"):
            value = self.__dict__.get(place, {}).get(name)
            if isinstance(value, Tensor):
                return value
        value = self.__dict__.get(name)
        return value if isinstance(value, Tensor) else None

    def tensor(self, name: str) -> NDArray[np.float32] | None:
        """A parameter, buffer or tensor attribute by name, read as float32, or None."""
        found = self.tensor_ref(name)
        return None if found is None else np.asarray(found.array(), dtype=np.float32)


_RECORDS: dict[str, type[Record]] = {}


def _record_class(name: str) -> type[Record]:
    if name not in _RECORDS:
        _RECORDS[name] = type(name, (Record,), {"kind": name})
    return _RECORDS[name]


def _rebuild_tensor(
    storage: _Storage, offset: int, size: tuple[int, ...], stride: tuple[int, ...], *_: Any
) -> Tensor:
    """A tensor's window of ``storage``, checked to lie inside it."""
    if not isinstance(storage, _Storage):
        raise InvalidInput("checkpoint: a tensor without a storage")
    if offset < 0 or any(n < 0 for n in size) or any(step < 0 for step in stride):
        raise InvalidInput("checkpoint: a tensor has a negative size, stride or offset")
    if len(size) != len(stride):
        raise InvalidInput("checkpoint: a tensor's size and stride do not match")
    last = offset + sum((n - 1) * step for n, step in zip(size, stride, strict=True))
    if 0 not in size and last >= storage.length:
        raise InvalidInput("checkpoint: a tensor reaches past its storage")
    # A stride of 0 (or windows that overlap) repeats numbers: read, such a tensor could take
    # any memory. YOLOv5 saves none; it is refused before anything is read.
    if (numbers := math.prod(size)) > storage.length:
        raise InvalidInput(
            f"checkpoint: a tensor of shape {tuple(size)} has {numbers:,} numbers, more than "
            f"its storage's {storage.length:,}: not read"
        )
    return Tensor(storage, int(offset), tuple(int(n) for n in size), tuple(stride))


def _rebuild_parameter(data: Tensor, *_: Any) -> Tensor:
    return data


def _dtype(spec: Any, *_: Any) -> np.dtype[Any]:
    """A numpy dtype of a number (YOLOv5 pickles its best score as a numpy float)."""
    found = np.dtype(spec) if isinstance(spec, str) else None
    if found is None or found.kind not in _NUMBER_KINDS:
        raise InvalidInput(f"checkpoint names a numpy dtype {spec!r}, not a number's")
    return found


def _encode(text: str, encoding: str = "utf-8") -> bytes:
    """Bytes as protocol 2 pickles them (``_codecs.encode(text, "latin1")``)."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise InvalidInput("checkpoint: bytes encoded other than as pickles encode them")
    return text.encode("latin-1")


def _scalar(dtype: np.dtype[Any], data: bytes | str) -> Any:
    """A numpy scalar (YOLOv5 keeps its best score as one), from its dtype and bytes."""
    if not isinstance(dtype, np.dtype) or dtype.kind not in _NUMBER_KINDS:
        raise InvalidInput("checkpoint: a numpy scalar that is not a number")
    raw = data.encode("latin-1") if isinstance(data, str) else bytes(data)
    if len(raw) != dtype.itemsize:
        raise InvalidInput("checkpoint: a number of the wrong size")
    return np.frombuffer(raw, dtype=dtype)[0]


def _reconstructor(cls: type, base: type, state: Any) -> Any:
    if not isinstance(cls, type) or not issubclass(cls, Record):
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
    ("numpy", "dtype"): _dtype,
    ("_codecs", "encode"): _encode,
}


class _Unpickler(pickle.Unpickler):
    def __init__(self, data: bytes, archive: zipfile.ZipFile, folder: str) -> None:
        super().__init__(io.BytesIO(data))
        self.archive, self.folder = archive, folder
        self.storages: dict[str, _Storage] = {}

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

    def persistent_load(self, pid: Any) -> _Storage:
        if not (isinstance(pid, tuple) and len(pid) >= 3 and pid[0] == "storage"):
            raise InvalidInput("checkpoint: unknown persistent object")
        kind, key = pid[1], str(pid[2])
        kind = kind if isinstance(kind, str) else getattr(kind, "kind", str(kind))
        kind = kind.rsplit(".", 1)[-1]
        if kind not in _STORAGES:
            raise InvalidInput(f"checkpoint: tensors of {kind} are not read")
        if key not in self.storages:
            name = f"{self.folder}/data/{key}"
            try:
                size = self.archive.getinfo(name).file_size
            except KeyError:
                raise InvalidInput(f"checkpoint: storage {key} is missing") from None
            dtype = np.dtype(_STORAGES[kind]).newbyteorder("<")
            self.storages[key] = _Storage(self.archive, name, dtype, size // dtype.itemsize)
        return self.storages[key]


@contextmanager
def open_checkpoint(path: Path) -> Iterator[Any]:
    """The pickled object of a PyTorch zip checkpoint, with records for modules and ``Tensor``
    references for tensors, readable while the block runs.

    Raises:
        InvalidInput: not a zip checkpoint, too large, or naming anything not allowed.
    """
    if path.stat().st_size > MAX_CHECKPOINT_BYTES:
        raise InvalidInput(f"{path} is larger than a checkpoint trapline reads (1 GiB)")
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise InvalidInput(f"{path} is not a readable PyTorch checkpoint: {exc}") from exc
    with archive:
        yield _unpickled(path, archive)


def _unpickled(path: Path, archive: zipfile.ZipFile) -> Any:
    if sum(member.file_size for member in archive.infolist()) > MAX_CHECKPOINT_BYTES:
        raise InvalidInput(f"{path} unpacks to more than a checkpoint holds (1 GiB)")
    pickles = [n for n in archive.namelist() if n.endswith("/data.pkl")]
    if len(pickles) != 1:
        raise InvalidInput(f"{path} is not a PyTorch checkpoint (no data.pkl)")
    folder = pickles[0].rsplit("/", 1)[0]
    try:
        return _Unpickler(archive.read(pickles[0]), archive, folder).load()
    except InvalidInput as exc:  # said of "checkpoint" where it was found; named here
        raise InvalidInput(f"{path}: {exc.detail.removeprefix('checkpoint: ')}") from None
    except (zipfile.BadZipFile, pickle.UnpicklingError, EOFError) as exc:
        raise InvalidInput(f"{path} is not a readable PyTorch checkpoint: {exc}") from exc
    except (TypeError, ValueError, AttributeError, IndexError, KeyError) as exc:
        # Allowed names called with arguments they do not take: a malformed file.
        raise InvalidInput(f"{path} is not a well-formed checkpoint: {exc}") from exc


def read_checkpoint(path: Path) -> Any:
    """As ``open_checkpoint``, every tensor read into memory (usable after the file closes)."""
    with open_checkpoint(path) as loaded:
        for tensor in _tensors(loaded, set()):
            tensor.keep()
        return loaded


def _tensors(value: Any, seen: set[int]) -> Iterator[Tensor]:
    if id(value) in seen:
        return
    seen.add(id(value))
    if isinstance(value, Tensor):
        yield value
    elif isinstance(value, Record):
        yield from _tensors(value.__dict__, seen)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _tensors(item, seen)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            yield from _tensors(item, seen)
