"""A big export written by several processes (``TRAPLINE_EXPORT_PROCESSES``, decision 081).

One Python process makes an export's rows at some 20 µs of CPU each, so a project of a million
photos and ten million detections keeps one core busy for minutes whatever else the machine
has. A format whose rows can be written in pieces (``ExportWriter.in_parts``) is written so
from ``PARTS_FROM`` photos: the export's photos are cut by id into segments that split no
event (an event's observations are written with its first photo), processes of their own
(started afresh: a fork of a server with threads could inherit a held lock) write each
segment's rows into part files, and the writer in the server's process adopts the parts in
the photos' order and finishes the file as it would have.
"""

from __future__ import annotations

import copy
import multiprocessing
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.pool import AsyncResult, Pool
from multiprocessing.sharedctypes import Synchronized
from pathlib import Path

from trapline.db.engine import Database
from trapline.db.export_batches import event_spans, image_id_at, read_batches
from trapline.db.repositories.exports.export_reads import ExportScope
from trapline.exports.base import ExportWriter, Part
from trapline.exports.reader import ExportContext, results

#: Photos from which an export is written in parts: below, starting the processes (a second
#: or two each) costs more than they save.
PARTS_FROM = 50_000
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
    """The segments of one export being written by a pool of processes, each into part files
    in ``folder``."""

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
        self._pool: Pool = spawn.Pool(
            min(processes, len(chosen)), initializer=_start, initargs=(self._done,)
        )
        self._pending: list[AsyncResult[Part]] = [
            self._pool.apply_async(
                _write_segment, (url, writer, context, scope, s, folder, batch_size)
            )
            for s in chosen
        ]

    @property
    def photos_done(self) -> int:
        """The photos the processes have written so far."""
        return int(self._done.value)

    def wait(self, seconds: float) -> bool:
        """Wait up to ``seconds`` for every segment; whether all are written (a process's
        error is raised by ``parts``)."""
        for pending in self._pending:
            pending.wait(seconds)
            if not pending.ready():
                return False
            if not pending.successful():
                return True
        return True

    def parts(self) -> list[Part]:
        """Each segment's part, in order (raising the error a process met)."""
        return [pending.get() for pending in self._pending]

    def close(self) -> None:
        """Stop the processes, whether or not they finished."""
        self._pool.terminate()
        self._pool.join()


#: The count of photos written, shared by the export's processes (set in each by ``_start``).
_photos_done: Synchronized[int] | None = None


def _start(done: Synchronized[int]) -> None:
    global _photos_done
    _photos_done = done


def _write_segment(
    url: str,
    writer_class: type[ExportWriter],
    context: ExportContext,
    scope: ExportScope,
    segment: Segment,
    folder: Path,
    batch_size: int,
) -> Part:
    """Write one segment's rows into part files (in a process of the pool)."""
    db = Database.from_url(url, pool_size=2, max_overflow=0)
    try:
        part_scope = copy.copy(scope)
        part_scope.max_image_id = segment.up_to
        writer = writer_class.for_part(folder / f"part-{segment.index}", context)
        reads = writer.format.reads(context.filters)
        batches = read_batches(
            db, part_scope, reads=reads, after_id=segment.after_id, batch_size=batch_size
        )
        for batch in batches:
            writer.write(results(batch, context, detections=reads.detections))
            if _photos_done is not None:
                with _photos_done.get_lock():
                    _photos_done.value += len(batch.images)
        return writer.close_part()
    finally:
        db.engine.dispose()
