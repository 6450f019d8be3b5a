"""What an annotation's JSON ``data`` says that exports write: whether a classification is the
terminal one, its top labels, a box's mask. Read only where the text can say so: the data holds
feature vectors and scores besides."""

from __future__ import annotations

import re
from typing import Any

from pydantic_core import from_json

from trapline.domain.exports.facts import AnnotationFacts

#: What a classification's data says when it is the terminal one, as JSON writes it.
_TERMINAL = re.compile(r'"terminal"\s*:\s*true')


def terminal(c: AnnotationFacts) -> bool:
    """Whether a classification is the terminal one (the species classifier's)."""
    return bool(c.data and _TERMINAL.search(c.data) and data_of(c.data).get("terminal") is True)


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
