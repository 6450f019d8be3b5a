"""A person's word and the copies partings make of it are one word (docs/counting.md): a heron
seen in two bursts of one night, rejected by Olive, is parted by a switch to one-minute
sequences and joined again by a switch back to nights; Undo (withdrawing her rejection)
counts it again, however often the rules were switched, and its history holds her word once.
The copy stayed live on the rejoined heron and kept it rejected, and each switch added one."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.support.accounts import upload
from tests.support.protocol_client import Protocol, api_get, api_post
from tests.support.scenes import API, DAR, T0, import_md, occurrences_of, regroup, track_all
from tests.support.tallies import assert_counts_kept
from trapline.imaging.synthetic import light_trap_jpeg


def _two_bursts(proto: Protocol, name: str = "Pond") -> int:
    """A heron in four frames, then two minutes later in five more, walking right."""
    pond = api_post(
        proto, f"/projects/{proto.project_id}/deployments", {"name": name, "time_zone": DAR}, 201
    )["id"]
    times = [T0 + timedelta(seconds=s) for s in range(4)]
    times += [T0 + timedelta(seconds=120 + s) for s in range(5)]
    frames = [
        (f"frame-{i:02d}.jpg", light_trap_jpeg(7, width=640, height=480, captured_at=at))
        for i, at in enumerate(times)
    ]
    sent = upload(proto.client, proto.account, proto.project_id, *frames, deployment_id=str(pond))
    assert sent["status"] == 201, sent
    boxes = {
        f"{name}/frame-{i:02d}.jpg": [
            {"category": "1", "conf": 0.8, "bbox": [0.1 + i * 0.005, 0.1, 0.2, 0.3]}
        ]
        for i in range(9)
    }
    import_md(proto, boxes)
    return int(pond)


def _history(proto: Protocol, occurrence: int) -> list[dict[str, Any]]:
    return list(api_get(proto, f"/occurrences/{occurrence}/identifications"))


def test_undo_counts_the_heron_again_after_the_rules_were_switched_back_and_forth(
    proto: Protocol,
) -> None:
    _two_bursts(proto)
    (night,) = regroup(proto, "night")
    (heron,) = occurrences_of(proto, night)
    made = api_post(
        proto, f"/occurrences/{heron['id']}/identifications", {"rejected": "nothing_there"}, 201
    )
    track_all(proto)
    for _ in range(2):
        regroup(proto, "sequence", 60)
        assert_counts_kept(proto.platform.db)
        (night,) = regroup(proto, "night")
        (again,) = occurrences_of(proto, night)
        assert again["id"] == heron["id"]
        assert again["determination"]["rejected"] == "nothing_there"
        assert len(_history(proto, heron["id"])) <= 2  # her word, and at most one copy
        assert_counts_kept(proto.platform.db)
    undone = proto.client.post(
        f"{API}/identifications/{made['id']}/withdraw", headers=proto.headers
    )
    assert undone.status_code == 200, undone.text
    track_all(proto)
    (counted,) = occurrences_of(proto, night)
    assert counted["determination"]["rejected"] is None, counted["determination"]
    assert all(i["withdrawn"] for i in _history(proto, heron["id"]))
    assert_counts_kept(proto.platform.db)


def test_undo_while_parted_counts_both_parts_again(proto: Protocol) -> None:
    """Withdrawn while the heron is parted across two events: the copy on the other part is
    withdrawn with her word, and both parts count again."""
    _two_bursts(proto)
    (night,) = regroup(proto, "night")
    (heron,) = occurrences_of(proto, night)
    made = api_post(
        proto, f"/occurrences/{heron['id']}/identifications", {"rejected": "nothing_there"}, 201
    )
    track_all(proto)
    parted = regroup(proto, "sequence", 60)
    assert len(parted) == 2
    rejected = [o for e in parted for o in occurrences_of(proto, e)]
    assert [o["determination"]["rejected"] for o in rejected] == ["nothing_there"] * 2
    undone = proto.client.post(
        f"{API}/identifications/{made['id']}/withdraw", headers=proto.headers
    )
    assert undone.status_code == 200, undone.text
    track_all(proto)
    counted = [o for e in parted for o in occurrences_of(proto, e)]
    assert [o["determination"]["rejected"] for o in counted] == [None, None]
    assert_counts_kept(proto.platform.db)
