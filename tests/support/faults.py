"""After a fault: did the job keep its promises? One checker shared by every fault scenario.

``check_job_integrity`` reads what became of a job, straight from the database (read-only SQL)
or through the API, and fails with every broken promise it finds:

- the job reached a final status and none of its tasks is still queued or leased;
- it has exactly one task per expected image;
- every succeeded task has exactly one completed analysis, and no other task has any
  (a result is stored exactly once, and nothing is stored for a failed or canceled task);
- no task was delivered more than its ``max_attempts`` times;
- the job's counters (as the API shows them) equal a count of its task rows;
- every result the workers were told ``saved`` (their WorkLogs) is stored, no task was told
  ``saved`` twice, and a task told ``duplicate`` does have its stored result.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import create_engine, text

from tests.support.waiting import wait_until
from tests.support.workers import WorkLog

#: Statuses a job ends in, and those of its tasks that are final.
FINAL_JOB = frozenset({"succeeded", "completed_with_errors", "failed", "canceled"})
FINAL_TASK = frozenset({"succeeded", "failed", "canceled"})
TASK_STATUSES = ("queued", "leased", "succeeded", "failed", "canceled")


@dataclass(frozen=True)
class TaskFact:
    """One task row as the checker needs it."""

    id: int
    image_id: int
    status: str
    attempt: int
    max_attempts: int


@dataclass(frozen=True)
class AnalysisFact:
    """One stored analysis of the job (``task_id`` is None when read through the API)."""

    image_id: int
    task_id: int | None
    status: str
    detections: int


@dataclass
class JobFacts:
    """What a job left behind: its status, tasks and analyses."""

    status: str
    tasks: list[TaskFact]
    analyses: list[AnalysisFact]
    #: Counters as the API shows them (None when read from the database alone).
    counters: dict[str, int] | None = None
    #: The job row's count of open tasks (None when read through the API).
    open_count: int | None = None


@dataclass
class Integrity:
    """The figures of a job that passed every check, for the scenario's report."""

    status: str
    counts: dict[str, int]
    #: Tasks delivered more than once, and the most deliveries any task had.
    redelivered: int
    most_attempts: int
    #: Result statuses the workers' logs recorded, summed over every worker.
    told: dict[str, int] = field(default_factory=dict)


def check_job_integrity(
    source: str | httpx.Client,
    job_id: int,
    expected_images: Iterable[int],
    *,
    api: httpx.Client | None = None,
    work: Iterable[WorkLog] = (),
    status: str | Iterable[str] | None = None,
    detections: int | None = None,
) -> Integrity:
    """Check a finished job's promises; returns its figures or raises AssertionError.

    ``source`` is the database URL (facts are read with plain SELECTs) or an API client;
    ``api`` adds the API's view of the counters when ``source`` is the database. ``status``
    is the final status (or statuses) expected; ``detections`` the top-level detections each
    stored analysis must hold.
    """
    images = list(expected_images)
    if isinstance(source, str):
        facts = read_database_facts(source, job_id)
        if api is not None:
            facts.counters, api_status = _api_counters(api, job_id)
            assert api_status == facts.status, (
                f"job {job_id}: the API says {api_status}, the database {facts.status}"
            )
    else:
        facts = read_api_facts(source, job_id, images)
    problems = find_problems(facts, set(images), work, detections)
    wanted = {status} if isinstance(status, str) else set(status or ())
    if wanted and facts.status not in wanted:
        problems.append(f"job ended {facts.status}, expected {' or '.join(sorted(wanted))}")
    assert not problems, f"job {job_id} broke its promises:\n- " + "\n- ".join(problems)
    attempts = [t.attempt for t in facts.tasks]
    return Integrity(
        status=facts.status,
        counts=_counts(facts.tasks),
        redelivered=sum(1 for a in attempts if a > 1),
        most_attempts=max(attempts, default=0),
        told=dict(Counter(s for log in work for v in log.statuses.values() for s in v)),
    )


def find_problems(
    facts: JobFacts,
    expected_images: set[int],
    work: Iterable[WorkLog] = (),
    detections: int | None = None,
) -> list[str]:
    """Every broken promise in ``facts``, one sentence each (empty when all is well)."""
    problems: list[str] = []
    if facts.status not in FINAL_JOB:
        problems.append(f"the job is still {facts.status}")
    open_tasks = sorted(t.id for t in facts.tasks if t.status not in FINAL_TASK)
    if open_tasks:
        problems.append(f"tasks not in a final state: {_few(open_tasks)}")
    if facts.open_count is not None and facts.open_count != len(open_tasks):
        problems.append(f"the job counts {facts.open_count} open tasks, its rows {len(open_tasks)}")
    images = Counter(t.image_id for t in facts.tasks)
    if set(images) != expected_images:
        missing = sorted(expected_images - set(images))
        extra = sorted(set(images) - expected_images)
        problems.append(f"tasks do not match the images: missing {_few(missing)}, extra {extra}")
    twice = sorted(i for i, n in images.items() if n > 1)
    if twice:
        problems.append(f"images with more than one task: {_few(twice)}")
    over = sorted(
        (t.id, t.attempt, t.max_attempts) for t in facts.tasks if t.attempt > t.max_attempts
    )
    if over:
        problems.append(f"tasks delivered more than max_attempts (id, attempt, max): {over[:10]}")
    unleased = sorted(
        t.id for t in facts.tasks if t.status in ("succeeded", "failed") and t.attempt < 1
    )
    if unleased:
        problems.append(f"tasks settled without ever being delivered: {_few(unleased)}")
    problems += _analysis_problems(facts, detections)
    if facts.counters is not None:
        counted = _counts(facts.tasks)
        if facts.counters != counted:
            problems.append(f"job counters {facts.counters} differ from the task rows {counted}")
    problems += _work_problems(facts, list(work))
    return problems


def _analysis_problems(facts: JobFacts, detections: int | None) -> list[str]:
    problems = []
    by_image: dict[int, list[AnalysisFact]] = {}
    for analysis in facts.analyses:
        by_image.setdefault(analysis.image_id, []).append(analysis)
    for task in facts.tasks:
        stored = by_image.pop(task.image_id, [])
        if task.status == "succeeded":
            if len(stored) != 1:
                problems.append(f"task {task.id} succeeded with {len(stored)} stored analyses")
                continue
            (analysis,) = stored
            if analysis.task_id is not None and analysis.task_id != task.id:
                problems.append(f"task {task.id}'s analysis names task {analysis.task_id}")
            if analysis.status != "completed":
                problems.append(f"task {task.id}'s analysis is {analysis.status}")
            if detections is not None and analysis.detections != detections:
                problems.append(
                    f"task {task.id}'s analysis has {analysis.detections} detections, "
                    f"expected {detections}"
                )
        elif stored:
            problems.append(f"task {task.id} is {task.status} yet has {len(stored)} analyses")
    if by_image:
        problems.append(f"analyses of the job for images without a task: {_few(sorted(by_image))}")
    return problems


def _work_problems(facts: JobFacts, work: list[WorkLog]) -> list[str]:
    problems = []
    tasks = {t.id: t for t in facts.tasks}
    stored = {t.id for t in facts.tasks if t.status == "succeeded"}
    told: dict[int, list[str]] = {}
    for log in work:
        for task_id, statuses in log.statuses.items():
            told.setdefault(task_id, []).extend(statuses)
    saved_twice = sorted(t for t, s in told.items() if s.count("saved") > 1)
    if saved_twice:
        problems.append(f"tasks told 'saved' more than once: {_few(saved_twice)}")
    lost = sorted(
        t for t, s in told.items() if ("saved" in s or "duplicate" in s) and t not in stored
    )
    if lost:
        shown = {t: (tasks[t].status if t in tasks else "missing") for t in lost[:10]}
        problems.append(f"results told saved/duplicate but not stored (task: status): {shown}")
    return problems


def read_database_facts(url: str, job_id: int) -> JobFacts:
    """A job's facts, read with SELECTs only."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            status, open_count = connection.execute(
                text("SELECT status, open_tasks FROM jobs WHERE id = :job"), {"job": job_id}
            ).one()
            tasks = [
                TaskFact(*row)
                for row in connection.execute(
                    text(
                        "SELECT id, image_id, status, attempt, max_attempts FROM tasks"
                        " WHERE job_id = :job ORDER BY id"
                    ),
                    {"job": job_id},
                )
            ]
            analyses = [
                AnalysisFact(*row)
                for row in connection.execute(
                    text(
                        "SELECT a.image_id, a.task_id, a.status,"
                        " (SELECT count(*) FROM annotations n"
                        "  WHERE n.analysis_id = a.id AND n.parent_id IS NULL)"
                        " FROM analyses a WHERE a.job_id = :job"
                        " OR a.task_id IN (SELECT id FROM tasks WHERE job_id = :job)"
                    ),
                    {"job": job_id},
                )
            ]
    finally:
        engine.dispose()
    return JobFacts(status, tasks, analyses, open_count=open_count)


def read_api_facts(client: httpx.Client, job_id: int, image_ids: list[int]) -> JobFacts:
    """A job's facts as the API shows them (analyses found through each image)."""
    counters, status = _api_counters(client, job_id)
    tasks: list[TaskFact] = []
    offset = 0
    while True:
        page = client.get(f"/api/v2/jobs/{job_id}/tasks", params={"limit": 1000, "offset": offset})
        assert page.status_code == 200, page.text
        results = page.json()["results"]
        tasks += [
            TaskFact(t["id"], t["image_id"], t["status"], t["attempts"], t["max_attempts"])
            for t in results
        ]
        offset += len(results)
        if not results or offset >= page.json()["count"]:
            break
    analyses = []
    for image_id in image_ids:
        answer = client.get(f"/api/v2/images/{image_id}")
        assert answer.status_code == 200, answer.text
        for analysis in answer.json()["analyses"]:
            if analysis["job_id"] == job_id:
                boxes = [n for n in analysis["annotations"] if n["type"] == "bounding_box"]
                analyses.append(AnalysisFact(image_id, None, analysis["status"], len(boxes)))
    return JobFacts(status, tasks, analyses, counters)


def wait_for_final(client: httpx.Client, job_id: int, timeout: float) -> dict[str, Any]:
    """Poll the job until it ends; fails with its last state after ``timeout`` seconds."""
    seen: list[str] = []

    def ended() -> dict[str, Any] | None:
        answer = client.get(f"/api/v2/jobs/{job_id}")
        seen[:] = [answer.text]
        final = answer.status_code == 200 and answer.json()["status"] in FINAL_JOB
        return dict(answer.json()) if final else None

    return wait_until(ended, lambda: f"job {job_id} did not end: {seen}", timeout=timeout)


def _api_counters(client: httpx.Client, job_id: int) -> tuple[dict[str, int], str]:
    answer = client.get(f"/api/v2/jobs/{job_id}")
    assert answer.status_code == 200, answer.text
    job = answer.json()
    return dict(job["counts"]), str(job["status"])


def _counts(tasks: list[TaskFact]) -> dict[str, int]:
    found = Counter(t.status for t in tasks)
    return {"total": len(tasks), **{s: found.get(s, 0) for s in TASK_STATUSES}}


def _few(ids: list[int]) -> str:
    return ", ".join(map(str, ids[:10])) + (f" … ({len(ids)} in all)" if len(ids) > 10 else "")
