"""Boxes past the tracking cap: a photo holding more boxes than tracking takes part (a
detector gone wrong, or many models at once) keeps them all, stored and shown, and the event,
its occurrence list and its page say how many were left out of tracking."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import text

from tests.support.accounts import Account
from tests.support.protocol_client import Protocol, api_get
from tests.support.scenes import add_frames, event_of, import_md, new_deployment, track_all
from tests.support.web import Browser
from trapline.domain.ecology.tracking import MAX_BOXES

#: A pipeline's boxes on the busy photo: the cap and three more.
BUSY = MAX_BOXES + 3


def _grid(n: int) -> list[dict[str, object]]:
    """``n`` small boxes in rows across the photo, none overlapping, surest first."""
    return [
        {
            "category": "1",
            "conf": round(0.99 - k * 1e-5, 6),
            "bbox": [(k % 40) / 40, (k // 40) / 40, 0.01, 0.01],
        }
        for k in range(n)
    ]


def test_boxes_past_the_cap_are_stored_and_the_lists_say_how_many_were_left_out(
    proto: Protocol, sign_in: Callable[[Account], Browser]
) -> None:
    pond = new_deployment(proto)
    add_frames(proto, pond, 2, timedelta(seconds=30), size=(640, 480))
    import_md(proto, {"Pond/frame-00.jpg": _grid(BUSY), "Pond/frame-01.jpg": _grid(2)})
    assert track_all(proto) == 1
    event = event_of(proto, pond)

    listed = api_get(proto, f"/events/{event}/occurrences", limit=1)
    assert listed["untracked_boxes"] == 3
    # Every box that took part is in an occurrence: the cap's on the busy photo, two of them
    # continued on the next.
    assert listed["count"] == MAX_BOXES
    assert api_get(proto, f"/events/{event}")["untracked_boxes"] == 3
    image = api_get(proto, f"/events/{event}")["first_image_id"]
    with proto.platform.db.read() as repos:
        stored = repos.session.scalar(
            text("SELECT count(*) FROM annotations a JOIN analyses n ON n.id = a.analysis_id"
                 " WHERE n.image_id = :image"),
            {"image": image},
        )  # fmt: skip
    assert stored == BUSY  # all kept

    page = sign_in(proto.account).page(f"/events/{event}")
    assert "3 boxes left out of tracking" in page
    assert f"more than {MAX_BOXES:,}, counted across every pipeline" in page

    # The cap counts every pipeline's boxes on a photo, those of the pipeline the deployment
    # counts by first (issue 62 item 3: twenty models of a thousand boxes are one photo's
    # thousand): a second detector's boxes on the busy photo take no part, its two on the
    # quiet one do, and the counted pipeline keeps all it had.
    counted_by = api_get(proto, f"/deployments/{pond}")["counting_pipeline"]
    second_boxes = {"Pond/frame-00.jpg": _grid(5), "Pond/frame-01.jpg": _grid(2)}
    import_md(proto, second_boxes, detector="heron-net.pt")
    assert track_all(proto) == 1
    listed = api_get(proto, f"/events/{event}/occurrences", limit=1)
    assert (listed["count"], listed["untracked_boxes"]) == (MAX_BOXES, 3 + 5)
    assert api_get(proto, f"/deployments/{pond}")["counting_pipeline"] == counted_by
    counting = api_get(proto, f"/projects/{proto.project_id}/counting")
    (other,) = [p["pipeline"] for p in counting["pipelines"] if p["pipeline"] != counted_by]
    second = api_get(proto, f"/events/{event}/occurrences", pipeline=other)
    assert second["count"] == 2
