"""The file name a photo takes in an export's paths, ``<deployment folder>/<file name>``
(docs/exports.md, "Paths"): its own name as a path part, unless another photo of its
deployment would take the same one, case aside (as Windows and macOS read names), as when a
camera's counter restarts on a second card. Then each of them takes
``<stem>-<image id><ext>``, and so does a photo whose own name is one of those new names: no
two photos of an export share a path, and every other photo keeps its own name.

Which names are shared is read up front (``services/exports/file_names.py``), so that a
writer names each photo as it comes, batch after batch.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_UNSAFE_PATH = re.compile(r"[/\\\x00-\x1f\x7f]")
#: Two dots or more in a row: never a step up a folder (Camtrap DP's ``filePath`` refuses them).
_DOTS = re.compile(r"\.{2,}")
#: What ``name_key`` turns a name's ASCII capitals into.
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
#: A new name's part before its extension: the name's stem, ``-``, the photo's id.
_NEW_STEM = re.compile(r"(.*)-([0-9]+)", re.DOTALL)


def path_part(name: str) -> str:
    """A name as one part of a path: no slash or control character, no run of dots (never a
    step up), and not starting with a dot or ``~`` (hidden, or home, to many tools): those
    become ``_``; "" when nothing is left."""
    part = _DOTS.sub("_", _UNSAFE_PATH.sub("_", name)).strip()
    return f"_{part}" if part.startswith((".", "~")) else part


def own_name(filename: str, image_id: int) -> str:
    """A photo's own file name as a path part (``image-<id>`` when nothing is left)."""
    return path_part(filename) or f"image-{image_id}"


def new_name(name: str, image_id: int) -> str:
    """``<stem>-<image id><ext>``: the id before the name's last ``.`` (past its first
    character), else at its end."""
    dot = name.rfind(".")
    if dot > 0:
        return f"{name[:dot]}-{image_id}{name[dot:]}"
    return f"{name}-{image_id}"


def renamed_from(key: str) -> tuple[str, int] | None:
    """The name (in one case) and photo id whose ``new_name`` ``key`` would be, if any."""
    dot = key.rfind(".")
    stem, ext = (key[:dot], key[dot:]) if dot > 0 else (key, "")
    found = _NEW_STEM.fullmatch(stem)
    if found is None or not found[1]:
        return None
    return found[1] + ext, int(found[2])


def name_key(filename: str) -> str:
    """How the database compares names within a deployment (``SameNameRepo``): slashes as
    ``_``, ASCII capitals in lower case. Names with one key are one file name, case aside;
    the few names that become one otherwise (as path parts, or in case beyond ASCII) are
    found apart."""
    slashes = filename.replace("/", "_").replace("\\", "_")
    return slashes.lower() if slashes.isascii() else slashes.translate(_ASCII_LOWER)


class FileNames:
    """The file names of an export's photos: their own, or ``new_name`` for those whose key
    more than one photo of their deployment has (``shared``: (deployment id, 0 for none, and
    ``name_key``)) and for the ``renamed`` photos (by id) found apart."""

    def __init__(self, shared: Iterable[tuple[int, str]] = (), renamed: Iterable[int] = ()) -> None:
        self.shared = frozenset(shared)
        self.renamed = frozenset(renamed)

    def of(self, image_id: int, deployment_id: int | None, filename: str) -> str:
        """The photo's file name in the export."""
        name = own_name(filename, image_id)
        if self.takes_new_name(image_id, deployment_id, filename):
            return new_name(name, image_id)
        return name

    def takes_new_name(self, image_id: int, deployment_id: int | None, filename: str) -> bool:
        """Whether the photo's file name is ``new_name`` of its own."""
        if image_id in self.renamed:
            return True
        return bool(self.shared) and (deployment_id or 0, name_key(filename)) in self.shared
