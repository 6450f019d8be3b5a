"""The worker loop: claim → download and decode → infer in batches → post in the background.

Three kinds of threads keep the model busy:

- the **claimer** leases tasks while fewer than two batches are in hand and memory allows,
  and hands each task to the download pool;
- the **download pool** fetches and decodes images (bounded by thread count and by the byte
  budget), putting each finished image, or its error, on the ready queue;
- the **inference loop** (the caller's thread) takes up to a batch of ready images, runs their
  pipeline, and gives the results to the poster, which posts them in the background.

So the next batch downloads while the current one is inferred. ``drain()`` stops claiming and
lets everything in hand finish and post; ``abort()`` gives up at once.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

import httpx

from trapline.pipelines.base import Pipeline, SourceImage
from trapline.protocol.results import PipelineResultsResponse
from trapline.settings import WorkerSettings
from trapline.worker.client import ApiError, PlatformClient, Stopped, Task
from trapline.worker.images import (
    DEFAULT_MAX_DECODE_PIXELS,
    ImageError,
    decode,
    decode_limit,
    decoded_bytes,
    fetch_bytes,
)
from trapline.worker.leases import PROBE_EVERY, TaskLeases
from trapline.worker.memory import ByteBudget, MemoryGuard
from trapline.worker.posting import ResultPoster

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunnerOptions:
    """How the loop behaves; the CLI fills it from settings."""

    batch_size: int = 16
    burst: bool = False
    max_image_bytes: int = 200 * 1024 * 1024
    max_decode_pixels: int = DEFAULT_MAX_DECODE_PIXELS
    download_threads: int = 8
    max_memory: int | None = None
    #: Seconds between claims when there was no work (doubling up to ``idle_max``).
    idle_min: float = 0.5
    idle_max: float = 5.0
    posts_in_flight: int = 4
    progress_every: float = 10.0
    #: Seconds between checks that the tasks in hand are still this worker's.
    lease_probe: float = PROBE_EVERY

    @classmethod
    def from_settings(cls, settings: WorkerSettings) -> RunnerOptions:
        """The options the ``TRAPLINE_*`` settings (and CLI flags) give."""
        return cls(
            batch_size=settings.batch_size,
            burst=settings.burst,
            max_image_bytes=settings.max_image_bytes,
            max_decode_pixels=settings.max_decode_pixels,
            download_threads=settings.download_threads,
            max_memory=settings.max_memory,
        )


@dataclass
class Ready:
    """A task whose image is decoded (``image``) or could not be (``error``)."""

    task: Task
    image: SourceImage | None
    error: str | None
    size: int
    #: The platform no longer holds the task for us (its job was canceled): skip it.
    dropped: bool = False


class WorkLoop:
    """Runs pipelines for the tasks a platform hands out until drained or out of work."""

    def __init__(
        self,
        client: PlatformClient,
        pipelines: Sequence[Pipeline],
        images: httpx.Client,
        options: RunnerOptions,
    ) -> None:
        self.client = client
        self.pipelines = {p.slug: p for p in pipelines}
        self.options = options
        self._images = images
        self._draining = threading.Event()
        self._aborted = threading.Event()
        self._claims_done = threading.Event()
        self._ready: queue.Queue[Ready] = queue.Queue()
        self._in_hand = 0
        self._lock = threading.Lock()
        self._room = threading.Condition(self._lock)
        self._memory = MemoryGuard(options.max_memory)
        self._budget = ByteBudget(self._memory.budget())
        self._max_pixels = decode_limit(options.max_decode_pixels, self._budget.limit)
        self._guess = 0
        self._measured = False
        self._downloads = ThreadPoolExecutor(options.download_threads, thread_name_prefix="fetch")
        #: Reply subjects of tasks the platform no longer holds for this worker.
        self._dropped: set[str] = set()
        self.leases = TaskLeases(client, probe_every=options.lease_probe, lost=self._drop)
        self.poster = ResultPoster(
            client, in_flight=options.posts_in_flight, posted=self.leases.release
        )
        self.processed = 0
        self.failed_images = 0
        self.dropped = 0
        #: Why the worker stopped on its own: the platform refused its token, or (burst mode)
        #: refused to list or hand out work. None while it works or when it ran out of work.
        self.refusal: ApiError | None = None

    # -- control -----------------------------------------------------------------------------

    def drain(self) -> None:
        """Stop claiming; finish and post what is in hand."""
        self._draining.set()
        with self._room:
            self._room.notify_all()

    def abort(self) -> None:
        """Give up now: leases in hand will expire and their tasks be handed out again."""
        self._aborted.set()
        self.drain()

    def stopping(self) -> bool:
        """``True`` once draining began."""
        return self._draining.is_set()

    def aborted(self) -> bool:
        """``True`` once aborted."""
        return self._aborted.is_set()

    # -- the loop ----------------------------------------------------------------------------

    def run(self) -> None:
        """Load the pipelines, then work until drained (or, in burst mode, out of work)."""
        log.info("loading pipelines %s", ", ".join(self.pipelines))
        for pipeline in self.pipelines.values():
            pipeline.load()
        self.leases.start()
        claimer = threading.Thread(target=self._claim_loop, name="claimer", daemon=True)
        claimer.start()
        started = last_report = time.monotonic()
        try:
            while not self._aborted.is_set():
                batch = self._next_batch()
                if batch:
                    self._infer(batch)
                elif self._claims_done.is_set() and self._idle():
                    break
                if batch and time.monotonic() - last_report > self.options.progress_every:
                    last_report = time.monotonic()
                    self._report(last_report - started)
        finally:
            self._downloads.shutdown(wait=False, cancel_futures=True)
        self._report(time.monotonic() - started)

    def finish(self, timeout: float | None) -> bool:
        """Wait for posts in flight; ``False`` if some did not land in time."""
        done = self.poster.flush(timeout)
        self.poster.close()
        self.leases.stop()
        return done

    def _idle(self) -> bool:
        with self._lock:
            return self._in_hand == 0 and self._ready.empty()

    def unposted(self) -> int:
        """Tasks claimed whose results were not handed to the poster."""
        with self._lock:
            return self._in_hand

    def _report(self, elapsed: float) -> None:
        rate = self.processed / elapsed if elapsed > 0 else 0.0
        log.info(
            "%d images processed (%.1f/s), %d failed, %d dropped, %d in hand, results %s",
            self.processed,
            rate,
            self.failed_images,
            self.dropped,
            self._in_hand,
            dict(self.poster.statuses) or "none yet",
        )

    # -- claiming ----------------------------------------------------------------------------

    def _claim_loop(self) -> None:
        idle = self.options.idle_min
        slugs = list(self.pipelines)
        turn = 0
        try:
            while not self._draining.is_set():
                if not self._wait_for_room():
                    break
                try:
                    tasks = self._claim(slugs[turn % len(slugs)], slugs)
                except Stopped:
                    break
                except ApiError as exc:
                    if exc.status in (401, 403):
                        self.refusal = exc  # nothing in hand can be posted either
                        self.abort()
                        break
                    if self.options.burst and exc.status >= 400:
                        self.refusal = exc  # a listing the platform will never take
                        self.drain()
                        break
                    log.error("claiming failed: %s", exc)
                    tasks = []
                turn += 1
                if tasks:
                    idle = self.options.idle_min
                    self._take(tasks)
                    continue
                if turn % len(slugs):
                    continue  # try the other pipelines before idling
                if self.options.burst and self._idle() and not self._jobs_left(slugs):
                    log.info("no work left (burst mode)")
                    break
                self._draining.wait(idle)
                # In burst mode the end of the work is near; look again soon.
                ceiling = self.options.idle_min if self.options.burst else self.options.idle_max
                idle = min(idle * 2, ceiling)
        finally:
            self._claims_done.set()

    def _jobs_left(self, slugs: list[str]) -> bool:
        """Whether started jobs of these pipelines are unfinished: failed tasks waiting out
        their retry delay, or leases of a lost worker running out, still bring work.

        On Antenna, as for ADC, a job whose claim answers no tasks is drained; the pass that
        just ended claimed from every listed job, so nothing is left.
        """
        if self.client.antenna:
            return False
        try:
            return bool(self.client.incomplete_jobs(slugs, self.stopping, started_only=True))
        except ApiError as exc:
            log.warning("could not list jobs: %s", exc.detail)
            return False

    def _wait_for_room(self) -> bool:
        limit = 2 * self.options.batch_size
        with self._room:
            while self._in_hand >= limit or not self._memory.room():
                if self._draining.is_set():
                    return False
                self._room.wait(0.2)
        return not self._draining.is_set()

    def _claim(self, slug: str, slugs: list[str]) -> list[Task]:
        size = self.options.batch_size
        if self.client.has_next:
            tasks = self.client.next_tasks(slug, size, until=self.stopping)
            if self.client.has_next:
                return tasks
        for job_id, job_slug in self.client.incomplete_jobs(slugs, until=self.stopping):
            if job_slug not in self.pipelines:
                continue
            try:
                tasks = self.client.claim(job_id, job_slug, size, until=self.stopping)
            except ApiError as exc:
                if exc.status in (401, 403):
                    raise
                log.warning("job %d: %s", job_id, exc.detail)
                continue
            if tasks:
                return tasks
        return []

    def _take(self, tasks: list[Task]) -> None:
        self.leases.hold(tasks)
        with self._lock:
            self._in_hand += len(tasks)
        for task in tasks:
            self._downloads.submit(self._fetch, task)

    # -- downloading -------------------------------------------------------------------------

    def _drop(self, tasks: list[Task]) -> None:
        """Stop working on tasks whose leases the platform no longer holds (the job was
        canceled, or the leases ran out): they are not downloaded, run or posted."""
        with self._lock:
            self._dropped.update(t.reply_subject for t in tasks)
        jobs = sorted({t.job_id for t in tasks})
        log.info(
            "%d tasks of job %s are no longer this worker's (canceled, or their leases ran "
            "out); dropping them",
            len(tasks),
            ", ".join(map(str, jobs)),
        )

    def _is_dropped(self, task: Task) -> bool:
        with self._lock:
            return task.reply_subject in self._dropped

    def _fetch(self, task: Task) -> None:
        if self._is_dropped(task):
            self._ready.put(Ready(task, None, None, 0, dropped=True))
            return
        # Until one image was measured, each download takes the whole budget: guessing low
        # would let every download thread hold a huge photo at once.
        guess = self._guess if self._measured else self._budget.limit
        if not self._budget.reserve(guess, self._aborted.is_set):
            return
        try:
            data = fetch_bytes(self._images, task.image_url, max_bytes=self.options.max_image_bytes)
            image = decode(data, task.image_id, url=task.image_url, max_pixels=self._max_pixels)
        except ImageError as exc:
            self._budget.release(guess)
            self._ready.put(Ready(task, None, str(exc), 0))
            return
        except Exception as exc:  # a bug must fail this image, not kill the pool silently
            log.exception("image %s of task %s", task.image_id, task.id)
            self._budget.release(guess)
            self._ready.put(Ready(task, None, f"worker error: {exc}", 0))
            return
        size = decoded_bytes(image)
        self._guess = (
            max(self._guess // 2, size + len(data)) if self._measured else size + len(data)
        )
        self._measured = True
        del data
        self._budget.adjust(guess, size)
        if task.given is not None:
            image = replace(image, given=task.given)
        self._ready.put(Ready(task, image, None, size))

    # -- inference ---------------------------------------------------------------------------

    def _next_batch(self) -> list[Ready]:
        try:
            first = self._ready.get(timeout=0.2)
        except queue.Empty:
            return []
        batch = [first]
        while len(batch) < self.options.batch_size:
            try:
                batch.append(self._ready.get_nowait())
            except queue.Empty:
                break
        return batch

    def _infer(self, everything: list[Ready]) -> None:
        batch = [r for r in everything if not (r.dropped or self._is_dropped(r.task))]
        by_job: dict[int, list[tuple[Task, dict[str, Any]]]] = {}
        failed = [r for r in batch if r.image is None]
        for ready in failed:
            item = _error_item(ready.task, ready.error or "image could not be loaded")
            by_job.setdefault(ready.task.job_id, []).append((ready.task, item))
        groups: dict[str, list[Ready]] = {}
        for ready in batch:
            if ready.image is not None:
                groups.setdefault(ready.task.pipeline, []).append(ready)
        for slug, group in groups.items():
            for ready, item in zip(group, self._run_pipeline(slug, group), strict=True):
                by_job.setdefault(ready.task.job_id, []).append((ready.task, item))
        for ready in everything:
            self._budget.release(ready.size)
        self.processed += len(batch) - len(failed)
        self.failed_images += len(failed)
        self.dropped += len(everything) - len(batch)
        for job_id, entries in by_job.items():
            kept = [(task, item) for task, item in entries if not self._is_dropped(task)]
            self.dropped += len(entries) - len(kept)
            if kept:
                self.poster.submit(job_id, kept)
        with self._room:
            self._in_hand -= len(everything)
            # Each task passes here once: what was dropped need not be remembered any more.
            self._dropped.difference_update(r.task.reply_subject for r in everything)
            self._room.notify_all()

    def _run_pipeline(self, slug: str, group: list[Ready]) -> list[dict[str, Any]]:
        pipeline = self.pipelines[slug]
        if not pipeline.classifies_boxes and any(r.task.given is not None for r in group):
            # Only a platform that ignored the pipeline's registration sends such tasks.
            why = f"pipeline {slug} does not classify boxes it is given; it only detects"
            able = [r for r in group if r.task.given is None]
            done = dict(zip(map(id, able), self._run_pipeline(slug, able), strict=True))
            return [done.get(id(r)) or _error_item(r.task, why) for r in group]
        images = [r.image for r in group if r.image is not None]
        if not images:
            return []
        try:
            results = pipeline.process(images)
            if len(results) != len(images):
                raise RuntimeError(f"returned {len(results)} results for {len(images)} images")
        except Exception as exc:
            log.exception("pipeline %s failed on a batch of %d images", slug, len(images))
            return [_error_item(r.task, f"Batch processing error: {exc}") for r in group]
        return [_result_item(r.task, result) for r, result in zip(group, results, strict=True)]


def _result_item(task: Task, result: PipelineResultsResponse) -> dict[str, Any]:
    return {
        "reply_subject": task.reply_subject,
        "result": result.model_dump(mode="json", exclude_none=True),
    }


def _error_item(task: Task, error: str) -> dict[str, Any]:
    return {
        "reply_subject": task.reply_subject,
        "result": {"error": error, "image_id": task.image_id},
    }
