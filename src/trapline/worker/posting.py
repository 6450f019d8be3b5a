"""Posting results in the background: bounded in flight, retried until they land."""

from __future__ import annotations

import json
import logging
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from trapline.protocol.results import DELIVERED
from trapline.worker.client import ApiError, PlatformClient, Stopped, Task

log = logging.getLogger(__name__)

#: Largest encoded body of one result post; bigger batches are split.
MAX_POST_BYTES = 8 * 1024 * 1024
#: Distinct reasons for rejected results logged per post, the commonest first.
MAX_REASONS_LOGGED = 3


class ResultPoster:
    """Sends each job's results with a few posts in flight; ``submit`` blocks when full.

    A post that fails for a transient reason is retried by the client until it lands or the
    worker is aborted: results are never dropped on the floor. A final refusal (the job was
    deleted, say) is logged with the server's message.
    """

    def __init__(
        self,
        client: PlatformClient,
        *,
        in_flight: int = 4,
        posted: Callable[[list[Task]], None] = lambda tasks: None,
    ) -> None:
        self._client = client
        self._slots = threading.BoundedSemaphore(in_flight)
        self._pool = ThreadPoolExecutor(max_workers=in_flight, thread_name_prefix="post")
        self._pending: set[Future[None]] = set()
        self._lock = threading.Lock()
        self._posted = posted
        self.statuses: Counter[str] = Counter()
        self.refused = 0

    def submit(self, job_id: int, entries: list[tuple[Task, dict[str, Any]]]) -> None:
        """Post one job's ``(task, result item)`` pairs, in as many bodies as their size needs."""
        for chunk in _chunks(entries):
            self._slots.acquire()
            future = self._pool.submit(self._post, job_id, chunk)
            with self._lock:
                self._pending.add(future)
            future.add_done_callback(self._done)

    def flush(self, timeout: float | None = None) -> bool:
        """Wait for every post; ``False`` if some are still going after ``timeout``."""
        with self._lock:
            pending = list(self._pending)
        for future in pending:
            try:
                future.result(timeout=timeout)
            except TimeoutError:
                return False
        return True

    def close(self) -> None:
        """Stop the posting threads (after ``flush``)."""
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _done(self, future: Future[None]) -> None:
        with self._lock:
            self._pending.discard(future)
        self._slots.release()

    def _post(self, job_id: int, chunk: list[tuple[Task, dict[str, Any]]]) -> None:
        items = [item for _, item in chunk]
        try:
            answer = self._client.post_results(job_id, items)
        except Stopped:
            log.warning("aborted with %d results of job %d unposted", len(items), job_id)
            return
        except ApiError as exc:
            if exc.status == 413 and len(chunk) > 1:
                half = len(chunk) // 2
                self._post(job_id, chunk[:half])
                self._post(job_id, chunk[half:])
                return
            self.refused += len(items)
            log.error("job %d refused %d results: %s", job_id, len(items), exc.detail)
            self._posted([task for task, _ in chunk])
            return
        except Exception:
            # Anything else (a malformed answer) must not kill the posting thread silently.
            log.exception("posting %d results of job %d failed", len(items), job_id)
            self.refused += len(items)
            return
        counts = answer.statuses(len(items))
        with self._lock:
            self.statuses.update(counts)
        if set(counts) - DELIVERED:
            log.info("job %d: %s", job_id, counts)
        reasons = Counter(
            t.detail or "no reason given" for t in answer.tasks if t.status == "rejected"
        )
        for reason, n in reasons.most_common(MAX_REASONS_LOGGED):
            log.warning("job %d: %d result%s rejected: %s", job_id, n, "s" * (n > 1), reason)
        self._posted([task for task, _ in chunk])


def _chunks(
    entries: list[tuple[Task, dict[str, Any]]],
) -> list[list[tuple[Task, dict[str, Any]]]]:
    chunks: list[list[tuple[Task, dict[str, Any]]]] = [[]]
    size = 0
    for entry in entries:
        item_size = len(json.dumps(entry[1], separators=(",", ":")))
        if chunks[-1] and size + item_size > MAX_POST_BYTES:
            chunks.append([])
            size = 0
        chunks[-1].append(entry)
        size += item_size
    return [c for c in chunks if c]
