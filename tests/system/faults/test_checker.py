"""The fault checker itself: it must see each broken promise, or the fault tests prove nothing."""

from __future__ import annotations

import pytest

from tests.support.faults import AnalysisFact, JobFacts, TaskFact, find_problems
from tests.support.workers import WorkLog

IMAGES = {10, 11, 12}


def whole_job() -> JobFacts:
    """A job of three images that kept every promise: one task retried once."""
    return JobFacts(
        status="succeeded",
        tasks=[
            TaskFact(1, 10, "succeeded", 1, 3),
            TaskFact(2, 11, "succeeded", 2, 3),
            TaskFact(3, 12, "succeeded", 1, 3),
        ],
        analyses=[
            AnalysisFact(10, 1, "completed", 1),
            AnalysisFact(11, 2, "completed", 1),
            AnalysisFact(12, 3, "completed", 1),
        ],
        counters={
            "total": 3,
            "queued": 0,
            "leased": 0,
            "succeeded": 3,
            "failed": 0,
            "canceled": 0,
        },
        open_count=0,
    )


def test_a_whole_job_passes() -> None:
    told = WorkLog(statuses={1: ["saved"], 2: ["saved", "duplicate"], 3: ["duplicate"]})
    assert find_problems(whole_job(), IMAGES, [told], detections=1) == []


def _broken(change: str) -> JobFacts:
    facts = whole_job()
    if change == "still running":
        facts.status = "running"
    elif change == "task left leased":
        facts.tasks[2] = TaskFact(3, 12, "leased", 1, 3)
    elif change == "result stored twice":
        facts.analyses.append(AnalysisFact(11, None, "completed", 1))
    elif change == "result lost":
        facts.analyses.pop(0)
    elif change == "image without a task":
        facts.tasks.pop()
        facts.analyses.pop()
    elif change == "too many attempts":
        facts.tasks[1] = TaskFact(2, 11, "succeeded", 4, 3)
    elif change == "failed task with a result":
        facts.tasks[0] = TaskFact(1, 10, "failed", 3, 3)
    elif change == "counters off":
        assert facts.counters is not None
        facts.counters["succeeded"] = 2
    elif change == "open count off":
        facts.open_count = 1
    elif change == "wrong detections":
        facts.analyses[1] = AnalysisFact(11, 2, "completed", 2)
    return facts


@pytest.mark.parametrize(
    "change",
    [
        "still running",
        "task left leased",
        "result stored twice",
        "result lost",
        "image without a task",
        "too many attempts",
        "failed task with a result",
        "counters off",
        "open count off",
        "wrong detections",
    ],
)
def test_each_broken_promise_is_reported(change: str) -> None:
    assert find_problems(_broken(change), IMAGES, detections=1) != []


def test_results_told_saved_must_be_stored_once() -> None:
    facts = whole_job()
    facts.tasks[0] = TaskFact(1, 10, "canceled", 1, 3)
    facts.analyses.pop(0)
    told_saved = WorkLog(statuses={1: ["saved"]})
    assert any("not stored" in p for p in find_problems(facts, IMAGES, [told_saved]))
    twice = [WorkLog(statuses={2: ["saved"]}), WorkLog(statuses={2: ["saved"]})]
    assert any("more than once" in p for p in find_problems(whole_job(), IMAGES, twice))
