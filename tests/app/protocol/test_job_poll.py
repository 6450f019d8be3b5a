"""A worker's job poll (``GET /jobs/?ids_only=1``) answers ids without counting anyone's tasks."""

from __future__ import annotations

from typing import Any

from tests.support.protocol_client import API, Protocol
from tests.support.statements import statements_sent
from trapline.db.engine import Database

#: What the per-job task count statement says (TasksRepository.counts).
COUNTS_QUERY = "GROUP BY tasks.status"


def test_the_ids_only_poll_counts_no_tasks_and_answers_as_before(
    registered: Protocol, app_db: Database
) -> None:
    registered.images(2)
    made = {registered.job_that_runs()["id"] for _ in range(3)}

    def listing(**params: object) -> dict[str, Any]:
        response = registered.client.get(
            f"{API}/jobs/", params={"limit": 2, **params}, headers=registered.headers
        )
        assert response.status_code == 200, response.text
        return response.json()

    with statements_sent(app_db.engine) as full_run:
        full = listing()
    with statements_sent(app_db.engine) as poll_run:
        poll = listing(ids_only=1)

    # The full listing counts each listed job's tasks; the poll counts none.
    assert len([s for s, _ in full_run if COUNTS_QUERY in s]) == 2
    assert [s for s, _ in poll_run if COUNTS_QUERY in s] == []
    # The answer is the same page of jobs: ids and slugs, the total and the links.
    assert {(j["id"], j["pipeline_slug"]) for j in poll["results"]} == {
        (j["id"], j["pipeline_slug"]) for j in full["results"]
    }
    assert all(set(j) == {"id", "pipeline_slug"} for j in poll["results"])
    assert (poll["count"], poll["previous"]) == (full["count"], full["previous"]) == (3, None)
    assert "ids_only=1" in (poll["next"] or "")
    assert {j["id"] for j in full["results"]} <= made
