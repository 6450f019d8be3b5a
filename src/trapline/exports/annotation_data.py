"""What an annotation's JSON ``data`` says that exports write: a classification's top labels,
a box's mask (whether a classification is the terminal one is read by the database:
``export_statements.ANNOTATIONS``). Read only where the text can say so: the data holds
feature vectors and scores besides."""

from __future__ import annotations

from typing import Any

from pydantic_core import from_json


def data_of(text: str | None) -> dict[str, Any]:
    """An annotation's data as a dict (empty when it has none, or is not an object)."""
    if not text:
        return {}
    found = from_json(text)
    return found if isinstance(found, dict) else {}


def rle_of(text: str | None) -> dict[str, Any] | None:
    """The COCO run-length encoding of a box's mask, when its data holds one."""
    if not text or '"segmentation"' not in text:
        return None
    found = data_of(text).get("segmentation")
    if isinstance(found, dict) and "counts" in found and "size" in found:
        return found
    return None
