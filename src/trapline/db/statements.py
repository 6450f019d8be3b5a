"""The statements of the dispatch hot path, written in SQL and sent through ``Plain``.

Only what a benchmark showed to matter is here: claiming tasks, reading what a batch of
results is checked against, completing the tasks and counting down the job's open tasks (each
worker batch does all four; through Core, with a 64-id ``IN`` rendered anew each time, the
targets read and the count cost the SQLite dispatch benchmark about 7% of its rate). The
bulk inserts of results are ``Plain.insert``; everything else goes through SQLAlchemy Core.
Status values come from the enums.

SQL is written with ``?`` placeholders (``Plain`` turns them into the driver's).
"""

from __future__ import annotations

from trapline.domain.processing.jobs import TaskStatus

_QUEUED = TaskStatus.QUEUED.value
_LEASED = TaskStatus.LEASED.value
_SUCCEEDED = TaskStatus.SUCCEEDED.value

#: The one claim: lease the offered tasks (``{offered}``: a query answering task id and attempt)
#: that are still queued at that attempt and past their backoff; answers each with its image's
#: storage key. The offers are a WITH query so that they are worked out once: as a subquery
#: they may be read again for each row, and a locking one then answers other rows each time.
#: Parameters: the offers' own, lease id, holder, expiry, now, job id, now.
CLAIM = f"""
WITH offer (id, attempt) AS ({{offered}})
UPDATE tasks SET status = '{_LEASED}', attempt = tasks.attempt + 1, lease_id = ?,
    lease_holder = ?, lease_expires_at = ?, updated_at = ?
FROM offer
WHERE tasks.id = offer.id AND tasks.attempt = offer.attempt AND tasks.job_id = ?
    AND tasks.status = '{_QUEUED}' AND tasks.available_at <= ?
RETURNING tasks.id, tasks.image_id, tasks.attempt,
    (SELECT storage_key FROM images WHERE images.id = tasks.image_id)
"""

#: Offers for ``CLAIM``: the job's oldest deliverable tasks (the SQL queue). On PostgreSQL
#: concurrent claimers skip each other's locked rows instead of queueing; SQLite has no FOR
#: UPDATE, and its write transaction (BEGIN IMMEDIATE) serialises them.
#: Parameters: job id, now, limit.
OLDEST_QUEUED = f"""
SELECT id, attempt FROM tasks WHERE job_id = ? AND status = '{_QUEUED}' AND available_at <= ?
ORDER BY available_at, id LIMIT ?{{lock}}
"""

#: Offers for ``CLAIM`` from a dispatch channel's messages on PostgreSQL: two arrays.
OFFERED_POSTGRES = "SELECT * FROM unnest(?::bigint[], ?::int[])"
#: The same on SQLite: ``{values}`` is one ``(?, ?)`` per offer.
OFFERED_SQLITE = "VALUES {values}"

#: Mark open tasks of a job succeeded; answers the ids that were open (the first result wins).
#: Parameters: now, now, job id, then the task ids of ``IN ({among})``.
COMPLETE = f"""
UPDATE tasks SET status = '{_SUCCEEDED}', lease_id = NULL, lease_expires_at = NULL,
    finished_at = ?, updated_at = ?
WHERE job_id = ? AND status IN ('{_QUEUED}', '{_LEASED}') AND id IN ({{among}})
RETURNING id
"""

#: What a batch of results is checked against: each task's job and its image's id and size.
#: Parameters: the task ids of ``IN ({among})``.
RESULT_TARGETS = """
SELECT tasks.id, tasks.job_id, images.id, images.width, images.height
FROM tasks JOIN images ON images.id = tasks.image_id
WHERE tasks.id IN ({among})
"""

#: Add to a job's count of open tasks; answers the new count. Holds the job's row until the
#: transaction ends. Parameters: delta, job id.
SHIFT_OPEN = "UPDATE jobs SET open_tasks = open_tasks + ? WHERE id = ? RETURNING open_tasks"
