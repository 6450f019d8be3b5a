"""A big export written by several processes (``TRAPLINE_EXPORT_PROCESSES``, decision 082).

One Python process makes an export's rows at some 20 µs of CPU each, so a project of a million
photos and ten million detections keeps one core busy for minutes whatever else the machine
has. A format whose rows can be written in pieces is written so from its ``parts_from``
photos (``ExportWriter.parts_from``): the export's photos are cut by id into segments that split no
event (an event's observations are written with its first photo), processes of their own
(started afresh: a fork of a server with threads could inherit a held lock) write each
segment's rows into part files, and the writer in the server's process adopts the parts in
the photos' order and finishes the file as it would have.
"""

from __future__ import annotations

import copy
import multiprocessing
import pickle
import queue
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.queues import Queue
from multiprocessing.sharedctypes import Synchronized
from pathlib import Path

from trapline.db.engine import Database
from trapline.db.export_batches import event_spans, image_id_at, read_batches
from trapline.db.repositories.exports.export_reads import ExportScope
from trapline.exports.base import ExportWriter, Part
from trapline.exports.reader import ExportContext, results

#: Segments per process: the processes take them in turn, so that a segment of crowded nights
#: does not keep one process busy while the others wait.
SEGMENTS_PER_PROCESS = 4


@dataclass(frozen=True)
class Segment:
    """The export's photos after ``after_id`` up to ``up_to`` (ids), the ``index``-th."""

    index: int
    after_id: int
    up_to: int


def segments(db: Database, scope: ExportScope, photos: int, count: int) -> list[Segment]:
    """The export's photos (``photos`` of them) cut into about ``count`` segments of as many
    photos, each cut moved on past any event that has photos on both sides of it."""
    with db.read() as repos:
        cuts = [image_id_at(repos, scope, photos * k // count) for k in range(1, count)]
        spans = event_spans(repos, scope.project_id)
    found: list[Segment] = []
    after = 0
    for cut in sorted({c for c in cuts if c is not None}):
        cut = _past_events(max(cut, after), spans)
        if after < cut < scope.max_image_id:
            found.append(Segment(len(found), after, cut))
            after = cut
    found.append(Segment(len(found), after, scope.max_image_id))
    return found


def _past_events(cut: int, spans: Sequence[tuple[int, int]]) -> int:
    """The first id from ``cut`` on that no event's photos (``spans``: each event's lowest and
    highest photo id) lie on both sides of."""
    while True:
        beyond = max((high for low, high in spans if low <= cut < high), default=None)
        if beyond is None:
            return cut
        cut = beyond


class PartsRun:
    """The segments of one export being written by processes of their own, each segment into
    part files in ``folder``; the processes take the segments in turn."""

    def __init__(
        self,
        url: str,
        writer: type[ExportWriter],
        context: ExportContext,
        scope: ExportScope,
        chosen: list[Segment],
        folder: Path,
        *,
        processes: int,
        batch_size: int,
    ) -> None:
        spawn = multiprocessing.get_context("spawn")
        self._done: Synchronized[int] = spawn.Value("q", 0)
        self._segments: Queue[Segment | None] = spawn.Queue()
        self._results: Queue[tuple[int, Part | BaseException]] = spawn.Queue()
        count = min(processes, len(chosen))
        for segment in [*chosen, *[None] * count]:  # a None ends a process
            self._segments.put(segment)
        work = (url, writer, context, scope, folder, batch_size)
        channels = (self._segments, self._results, self._done)
        self._processes = [
            spawn.Process(target=_write_segments, args=(*work, *channels), daemon=True)
            for _ in range(count)
        ]
        for process in self._processes:
            process.start()
        self._expected = len(chosen)
        self._parts: dict[int, Part] = {}

    @property
    def photos_done(self) -> int:
        """The photos the processes have written so far."""
        return int(self._done.value)

    def wait(self, seconds: float) -> bool:
        """Wait up to ``seconds`` for the next part; whether every part is in. A process's
        error is raised here, and so is the end of a process that died (killed, out of
        memory) before its segments were written."""
        try:
            index, found = self._results.get(timeout=seconds)
        except queue.Empty:
            for process in self._processes:
                if process.exitcode not in (None, 0):
                    raise RuntimeError(
                        f"an export process ended with exit code {process.exitcode}"
                    ) from None
            return False
        if isinstance(found, BaseException):
            raise found
        self._parts[index] = found
        return len(self._parts) == self._expected

    def parts(self) -> list[Part]:
        """Each segment's part, in order (once ``wait`` said all are in)."""
        return [self._parts[index] for index in range(self._expected)]

    def close(self) -> None:
        """Stop the processes, whether or not they finished."""
        for process in self._processes:
            if process.is_alive():
                process.terminate()
        for process in self._processes:
            process.join()
        for channel in (self._segments, self._results):
            channel.cancel_join_thread()
            channel.close()


def _write_segments(
    url: str,
    writer_class: type[ExportWriter],
    context: ExportContext,
    scope: ExportScope,
    folder: Path,
    batch_size: int,
    segments: Queue[Segment | None],
    results: Queue[tuple[int, Part | BaseException]],
    done: Synchronized[int],
) -> None:
    """Write segments into part files until told to stop (a process of the export's own)."""
    db = Database.from_url(url, pool_size=2, max_overflow=0)
    try:
        while (segment := segments.get()) is not None:
            try:
                part: Part | BaseException = _write_segment(
                    db, writer_class, context, scope, segment, folder, batch_size, done
                )
            except Exception as exc:
                part = _sendable(exc)
            results.put((segment.index, part))
    finally:
        db.engine.dispose()


def _write_segment(
    db: Database,
    writer_class: type[ExportWriter],
    context: ExportContext,
    scope: ExportScope,
    segment: Segment,
    folder: Path,
    batch_size: int,
    done: Synchronized[int],
) -> Part:
    """Write one segment's rows into part files."""
    part_scope = copy.copy(scope)
    part_scope.max_image_id = segment.up_to
    writer = writer_class.for_part(folder / f"part-{segment.index}", copy.deepcopy(context))
    reads = writer.format.reads(context.filters)
    batches = read_batches(
        db, part_scope, reads=reads, after_id=segment.after_id, batch_size=batch_size
    )
    for batch in batches:
        writer.write(results(batch, writer.context, detections=reads.detections))
        with done.get_lock():
            done.value += len(batch.images)
    return writer.close_part()


def _sendable(exc: Exception) -> BaseException:
    """An error as the export's process can be handed it (one that does not pickle, told)."""
    try:
        pickle.dumps(exc)
    except Exception:
        return RuntimeError(f"{type(exc).__name__}: {exc}")
    return exc
