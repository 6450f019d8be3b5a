"""A person's word and the copies partings make of it are one word (docs/counting.md): a heron
seen in two bursts of one night, rejected by Olive, is parted by a switch to one-minute
sequences and joined again by a switch back to nights; Undo (withdrawing her rejection)
counts it again, however often the rules were switched, and its history holds her word once.
The copy stayed live on the rejoined heron and kept it rejected, and each switch added one."""

from __future__ import annotations

from typing import Any

from tests.support.protocol_client import Protocol, api_get, api_post
from tests.support.scenes import API, heron_in_two_bursts, occurrences_of, regroup, track_all
from tests.support.tallies import assert_counts_kept


def _history(proto: Protocol, occurrence: int) -> list[dict[str, Any]]:
    return list(api_get(proto, f"/occurrences/{occurrence}/identifications"))


def _rejected_heron(proto: Protocol) -> tuple[dict[str, Any], dict[str, Any]]:
    """The two-burst heron grouped by night, and Olive's rejection of it, tracked."""
    heron_in_two_bursts(proto)
    (night,) = regroup(proto, "night")
    (heron,) = occurrences_of(proto, night)
    made = api_post(
        proto, f"/occurrences/{heron['id']}/identifications", {"rejected": "nothing_there"}, 201
    )
    track_all(proto)
    return heron, made


def _undo(proto: Protocol, made: dict[str, Any]) -> None:
    """Undo: the rejection withdrawn, the events tracked again."""
    undone = proto.client.post(
        f"{API}/identifications/{made['id']}/withdraw", headers=proto.headers
    )
    assert undone.status_code == 200, undone.text
    track_all(proto)


def test_undo_counts_the_heron_again_after_the_rules_were_switched_back_and_forth(
    proto: Protocol,
) -> None:
    heron, made = _rejected_heron(proto)
    for _ in range(2):
        regroup(proto, "sequence", 60)
        assert_counts_kept(proto.platform.db)
        (night,) = regroup(proto, "night")
        (again,) = occurrences_of(proto, night)
        assert again["id"] == heron["id"]
        assert again["determination"]["rejected"] == "nothing_there"
        assert len(_history(proto, heron["id"])) <= 2  # her word, and at most one copy
        assert_counts_kept(proto.platform.db)
    _undo(proto, made)
    (counted,) = occurrences_of(proto, night)
    assert counted["determination"]["rejected"] is None, counted["determination"]
    assert all(i["withdrawn"] for i in _history(proto, heron["id"]))
    assert_counts_kept(proto.platform.db)


def test_undo_while_parted_counts_both_parts_again(proto: Protocol) -> None:
    """Withdrawn while the heron is parted across two events: the copy on the other part is
    withdrawn with her word, and both parts count again."""
    _, made = _rejected_heron(proto)
    parted = regroup(proto, "sequence", 60)
    assert len(parted) == 2
    rejected = [o for e in parted for o in occurrences_of(proto, e)]
    assert [o["determination"]["rejected"] for o in rejected] == ["nothing_there"] * 2
    _undo(proto, made)
    counted = [o for e in parted for o in occurrences_of(proto, e)]
    assert [o["determination"]["rejected"] for o in counted] == [None, None]
    assert_counts_kept(proto.platform.db)
