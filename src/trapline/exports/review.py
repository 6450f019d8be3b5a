"""Human labels: the one place exports learn what a person decided about a machine result.

Every format takes a detection's human label from ``HumanLabel`` when there is one (the label
a reviewer gave, who, when) and reports it as a person's classification; ``reviewed_only``
keeps only reviewed detections. Reviews are not stored by the platform yet, so
``human_labels`` finds none and ``REVIEWS_STORED`` is False: an export asked for reviewed
results only is refused with a message saying so, instead of quietly writing nothing. When
reviews land, ``human_labels`` reads them and the flag turns True; nothing else changes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple

from trapline.db.repositories import Repos

#: Whether the platform stores human reviews of machine results.
REVIEWS_STORED = False


class HumanLabel(NamedTuple):
    """What a person decided about a machine annotation."""

    label: str | None
    reviewer: str
    reviewed_at: datetime | None


def human_labels(repos: Repos, annotation_ids: Sequence[int]) -> dict[int, HumanLabel]:
    """The human labels of these machine annotations, by annotation id (none stored yet)."""
    del repos, annotation_ids
    return {}
