"""A stage that says there is nothing keeps a box out of every count, whatever the detector
scored (issue 59, item 5, for tracking): the documented moth pipeline's filter calling a box
``nonmoth`` 0.8 while its detector named it ``insect`` 0.95."""

from __future__ import annotations

from tests.support.moth_filter import filtered_photo
from tests.support.protocol_client import Protocol, api_get
from tests.support.scenes import track_all


def test_a_box_the_moth_filter_rejects_is_counted_nowhere(proto: Protocol) -> None:
    filtered_photo(proto)
    assert track_all(proto) == 1

    (deployment,) = api_get(proto, f"/projects/{proto.project_id}/deployments")["results"]
    (event,) = api_get(proto, f"/deployments/{deployment['id']}/events")["results"]
    found = api_get(proto, f"/events/{event['id']}/occurrences")["results"]
    assert [o["determination"]["label"] for o in found] == ["beetle"]
