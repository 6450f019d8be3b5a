"""Groupings of the refit scene's nine nights (``refit_scene.py``) through the API: nobody
identified the moths, so the four grey herons (vectors near (1, 0, 0, 0)), the four great
egrets (near (0, 1, 0, 0)) and the one little egret (near (0, 0, 1, 0)) are unknown."""

from __future__ import annotations

from typing import Any

from tests.support.protocol import PIPELINE_SLUG
from tests.support.protocol_client import Protocol, api_get
from tests.support.refit_scene import NIGHTS, night_taxon
from tests.support.scenes import API

#: Seconds a grouping of the scene may take.
GROUP_WAIT = 60


def ask_grouping(proto: Protocol, features_from: str = PIPELINE_SLUG, **scope: Any) -> Any:
    """POST a grouping through the API; the response."""
    return proto.client.post(
        f"{API}/projects/{proto.project_id}/groupings",
        json={"features_from": features_from, **scope},
        headers=proto.headers,
    )


def grouped(proto: Protocol, grouping_id: int) -> dict[str, Any]:
    """The grouping once the platform's groupings are done with it."""
    assert proto.platform.groupings.wait_idle(GROUP_WAIT), f"grouping {grouping_id} went on"
    return dict(api_get(proto, f"/groupings/{grouping_id}"))


def taxa_of_groups(found: dict[str, Any], detections: list[int]) -> list[list[str]]:
    """Each group's members as the taxa the scene made them (by night), in group order."""
    night = {d: n for n, d in enumerate(detections)}
    return [
        sorted(night_taxon(night[m["best_annotation_id"]]) for m in g["sample"])
        for g in found["groups"]
    ]


#: The taxa of the nights, as the groups should hold them.
HERONS = ["Ardea cinerea"] * 4
EGRETS = ["Ardea alba"] * 4
__all__ = ["EGRETS", "HERONS", "NIGHTS"]
