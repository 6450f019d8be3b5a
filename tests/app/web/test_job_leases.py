"""A job names who holds its leased tasks: a worker that vanished (kill -9) is seen waiting
out its leases, on the API and the job's page, and the history says when its tasks went back."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from tests.support.accounts import Account
from tests.support.protocol_client import Protocol
from tests.support.web import Browser
from trapline.clock import FakeClock


def test_a_job_names_who_holds_its_tasks_and_says_when_a_silent_workers_go_back(
    registered: Protocol, fake_clock: FakeClock, sign_in: Callable[[Account], Browser]
) -> None:
    """A worker that vanished (kill -9) holds its tasks until their leases run out: the job
    says which worker holds how many, when it was last heard from and when they go back to
    the queue, and its history says when they went."""
    registered.images(3)
    job_id = registered.job_that_runs(params={"lease_seconds": 30})["id"]
    claimed = registered.claim(job_id, 2, client_info={"hostname": "gpu-1", "pid": 7})
    assert len(claimed) == 2
    detail = registered.job(job_id)
    ((holding),) = detail["leased_by"]
    assert (holding["worker"], holding["tasks"]) == ("gpu-1:7", 2)
    assert holding["last_seen_at"] is not None
    free_at = datetime.fromisoformat(holding["free_again_at"])
    assert free_at - fake_clock.now() == timedelta(seconds=30)
    page = sign_in(registered.account).page(f"/jobs/{job_id}")
    assert 'id="leased-by"' in page
    assert "gpu-1:7" in page

    fake_clock.advance(31)  # the worker never came back
    registered.reap()
    detail = registered.job(job_id)
    assert detail["leased_by"] == []
    history = [e["message"] for e in detail["events"]]
    assert (
        "2 tasks held by gpu-1:7 went back to the queue: the worker said nothing before its "
        "lease ran out"
    ) in history
