"""Inputs at the edge of what a parameter holds answer 200 or a 4xx naming the parameter, on
both databases: the calendar's last night, a NUL in a name's start."""

from __future__ import annotations

import pytest

from tests.support.protocol_client import Protocol
from tests.support.scenes import API, heron


@pytest.mark.parametrize(
    "path",
    [
        "/projects/{p}/occurrences?until=9999-12-31",
        "/projects/{p}/occurrences?since=9999-12-31&until=9999-12-31",
        "/projects/{p}/events?until=9999-12-31",
        "/projects/{p}/events?since=0001-01-01&until=9999-12-31",
        "/projects/{p}/counts?by=hour&until=9999-12-31",
        "/projects/{p}/counts?by=night&since=9999-12-31",
    ],
)
def test_the_calendars_last_night_is_a_night_like_any_other(proto: Protocol, path: str) -> None:
    heron(proto)
    answer = proto.client.get(API + path.format(p=proto.project_id), headers=proto.headers)
    assert answer.status_code == 200, answer.text
    found = answer.json()
    listed = len(found["rows"]) if "rows" in found else found["count"]
    whole = "since=" not in path or "0001" in path  # the heron's night is in the range
    assert (listed > 0) is whole, found


@pytest.mark.parametrize("q", ["A\x00", "\x00"])
def test_a_nul_in_a_type_ahead_is_refused_naming_it(proto: Protocol, q: str) -> None:
    answer = proto.client.get(
        f"{API}/projects/{proto.project_id}/taxa/search", params={"q": q}, headers=proto.headers
    )
    assert answer.status_code in (400, 422), answer.text
    assert "q" in answer.json()["detail"], answer.text
