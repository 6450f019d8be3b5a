"""Lease expiry: a worker that claims and vanishes; its tasks go to another, stored once."""

from __future__ import annotations

from tests.support.protocol import detection, success
from tests.support.protocol_client import PAST_LEASE, Protocol, statuses
from trapline.clock import FakeClock


def _vanish_and_redeliver(proto: Protocol, clock: FakeClock) -> tuple[int, dict, dict]:
    """A job whose only task worker A claims and abandons, then worker B claims it again."""
    proto.images(1)
    job_id = proto.job_that_runs(params={"lease_seconds": 1})["id"]
    (lost,) = proto.claim(job_id, 1, client_info={"hostname": "worker-a"})
    proto.reap()  # the lease has not expired yet
    assert proto.claim(job_id, 1, client_info={"hostname": "worker-b"}) == []

    clock.advance(PAST_LEASE)
    proto.reap()
    (again,) = proto.claim(job_id, 1, client_info={"hostname": "worker-b"})
    assert again["id"] == lost["id"]
    assert again["reply_subject"] != lost["reply_subject"]
    (info,) = proto.tasks(job_id)["results"]
    assert info["attempts"] == 2
    assert info["status"] == "leased"
    assert info["lease_holder"] == "worker-b"
    return job_id, lost, again


def test_the_vanished_workers_late_result_is_saved_if_the_other_has_not_finished(
    registered: Protocol, fake_clock: FakeClock
) -> None:
    job_id, lost, again = _vanish_and_redeliver(registered, fake_clock)
    assert statuses(registered.post(job_id, success(lost, detection(lost)))) == ["saved"]
    assert statuses(registered.post(job_id, success(again, detection(again)))) == ["duplicate"]
    assert len(registered.image(int(lost["image_id"]))["analyses"]) == 1
    assert registered.wait(job_id, {"succeeded"})["counts"]["succeeded"] == 1


def test_the_vanished_workers_late_result_is_a_duplicate_if_the_other_finished_first(
    registered: Protocol, fake_clock: FakeClock
) -> None:
    job_id, lost, again = _vanish_and_redeliver(registered, fake_clock)
    assert statuses(registered.post(job_id, success(again, detection(again)))) == ["saved"]
    assert statuses(registered.post(job_id, success(lost, detection(lost)))) == ["duplicate"]
    (analysis,) = registered.image(int(lost["image_id"]))["analyses"]
    assert len(analysis["annotations"]) == 2
    assert registered.wait(job_id, {"succeeded"})["counts"]["succeeded"] == 1


def test_a_task_whose_lease_expires_on_every_try_is_dead_lettered(
    registered: Protocol, fake_clock: FakeClock
) -> None:
    registered.images(1)
    job_id = registered.job_that_runs(params={"lease_seconds": 1, "max_attempts": 2})["id"]
    for attempt in (1, 2):
        (_,) = registered.claim(job_id, 1, client_info={"hostname": f"doomed-{attempt}"})
        fake_clock.advance(PAST_LEASE)
        registered.reap()

    (dead,) = registered.tasks(job_id, "failed")["results"]
    assert dead["attempts"] == 2
    assert "lease" in (dead["last_error"] or "")
    assert registered.claim(job_id, 1) == []
    job = registered.wait(job_id, {"failed", "completed_with_errors"})
    assert job["status"] == "failed"
    assert job["counts"]["failed"] == 1
