"""Running exports in the background: stream rows to a temporary file, store it, record it.

An export is claimed with a guarded update that names this process as its runner (its
lease, ``ExportLease``); every later write names the runner too, so an export canceled,
deleted or taken over meanwhile stops at its next progress write (a second apart) and never
stores its file. The runner's heartbeat (the lease's renewal) says it is alive; an export
whose runner went silent (a crashed or killed server) is claimed again by the ``exports``
duty of any replica and run from the start, a few times at most.
"""

from __future__ import annotations

import importlib
import logging
import tempfile
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import BinaryIO

from trapline.background.export_parts import (
    SEGMENTS_PER_PROCESS,
    PartsRun,
    Segment,
    segments,
)
from trapline.background.lease import Leased
from trapline.background.leased_runs import LeasedRuns
from trapline.clock import Clock, SystemClock
from trapline.db.engine import Database
from trapline.db.export_batches import BATCH_SIZE, read_batches
from trapline.db.repositories import Repos
from trapline.db.repositories.exports.export_reads import ExportScope
from trapline.domain.exports.exports import Export, ExportCounts, ExportFormat
from trapline.errors import TraplineError
from trapline.exports.base import ExportWriter
from trapline.exports.read_ahead import prefetched
from trapline.exports.reader import ExportContext, results
from trapline.services.exports.camtrap_exports import Rows, table_file
from trapline.services.exports.plans import plan
from trapline.storage.base import BlobStore

log = logging.getLogger(__name__)

#: Seconds between writes of a running export's progress (a write after every batch was a
#: twentieth of an export); a canceled export stops at the first write after it.
PROGRESS_SECONDS = 1.0
#: Seconds between a running export's heartbeats.
HEARTBEAT_SECONDS = 15.0
#: A running export whose runner has been silent this long is taken over.
STALE_AFTER = timedelta(seconds=90)
#: Runs an export gets (a crash of its server each time) before it fails.
MAX_ATTEMPTS = 3
#: Seconds between runs of the ``exports`` duty.
DUTY_INTERVAL = 10.0


class Stopped(Exception):
    """The export is no longer this runner's: canceled, deleted or taken over."""


class Released(Exception):
    """This server is stopping: the export goes back to the queue for another run."""


#: The writer of each format: module and class, imported when first used.
WRITERS = {
    ExportFormat.CSV: ("trapline.exports.csv", "CsvWriter"),
    ExportFormat.COCO: ("trapline.exports.coco", "CocoWriter"),
    ExportFormat.MEGADETECTOR: ("trapline.exports.megadetector", "MegaDetectorWriter"),
    ExportFormat.CAMTRAP_DP: ("trapline.exports.camtrap_dp", "CamtrapDpWriter"),
    ExportFormat.DWCA: ("trapline.exports.dwca", "DwcaWriter"),
    ExportFormat.OCCURRENCES_CSV: ("trapline.exports.antenna", "OccurrencesCsvWriter"),
    ExportFormat.OCCURRENCES_JSON: ("trapline.exports.antenna", "OccurrencesJsonWriter"),
}


def writer_for(fmt: ExportFormat) -> Callable[[BinaryIO, ExportContext], ExportWriter]:
    """The writer class of a format (imported here so each format loads when used)."""
    module, name = WRITERS[fmt]
    writer: type[ExportWriter] = getattr(importlib.import_module(module), name)
    return writer


def export_key(export: Export) -> str:
    """Where an export's file is stored: under its project's prefix, so it goes with it."""
    return f"exports/{export.project_id}/{export.id}/{file_name(export)}"


def file_name(export: Export) -> str:
    """The name the file downloads as."""
    return f"trapline-project{export.project_id}-export{export.id}.{export.format.extension}"


class ExportLease(Leased):
    """An export's runner and heartbeat: claimed when queued or when its runner went silent,
    renewed by a heartbeat, handed back to the queue when this server stops."""

    seconds = STALE_AFTER.total_seconds()

    def __init__(self, export_id: int) -> None:
        self.export_id = export_id
        self.name = f"export {export_id}"
        #: The export as ``take`` claimed it.
        self.export: Export | None = None

    @property
    def every(self) -> float:
        return HEARTBEAT_SECONDS

    def take(self, repos: Repos, holder: str, now: datetime, until: datetime) -> bool:
        stale = now - STALE_AFTER
        if not repos.exports.exports.claim(self.export_id, holder, now, stale, MAX_ATTEMPTS):
            return False
        self.export = repos.exports.exports.get(self.export_id)
        return self.export is not None

    def renew(self, repos: Repos, holder: str, now: datetime, until: datetime) -> bool:
        return repos.exports.exports.heartbeat(self.export_id, holder, now)

    def give_back(self, repos: Repos, holder: str, now: datetime) -> None:
        repos.exports.exports.release(self.export_id, holder)


class ExportRunner(LeasedRuns):
    """Runs exports on a small thread pool of this process."""

    what = "export"
    thread = "export"

    def __init__(
        self,
        db: Database,
        store: BlobStore,
        *,
        name: str,
        ttl: timedelta,
        workers: int = 1,
        batch_size: int = BATCH_SIZE,
        clock: Clock | None = None,
        base_url: str | None = None,
        processes: int = 1,
        parts_from: int | None = None,
    ) -> None:
        super().__init__(db, name=name, clock=clock or SystemClock(), workers=workers)
        self.store = store
        self.ttl = ttl
        #: The server's public URL (``TRAPLINE_PUBLIC_URL``): links to photos and crops in
        #: the occurrence formats start with it. None: they are paths, and the export says so.
        self.base_url = base_url
        self.batch_size = batch_size
        #: Processes that write an export in a format that can be written in parts, from its
        #: ``ExportWriter.parts_from`` photos (or this runner's ``parts_from``), in parts
        #: (``export_parts.py``); 1: each export in this process.
        self.processes = processes
        self.parts_from = parts_from
        #: Called after each batch is written (tests pause or cancel an export there).
        self.after_batch: Callable[[int], None] | None = None

    def resume(self) -> None:
        """The duty: fail exports out of tries, run queued exports and those whose runner went
        silent, remove expired files."""
        now = self.clock.now()
        stale = now - STALE_AFTER
        with self.db.read() as repos:  # most of the time there is nothing to do: no write
            if not repos.exports.exports.any_to_tend(now):
                return
        with self.db.write() as repos:
            repos.exports.exports.fail_exhausted(stale, MAX_ATTEMPTS, now)
            found = repos.exports.exports.claimable(stale)
            expired = repos.exports.exports.expired(now)
        for export_id, key in expired:
            if key:
                try:
                    self.store.delete(key)
                except TraplineError as exc:
                    log.warning("could not delete expired export %s: %s", export_id, exc.detail)
                    continue
            with self.db.write() as repos:
                repos.exports.exports.mark_expired(export_id)
        for export_id in found:
            self.submit(export_id)

    def run(self, export_id: int) -> bool:
        """Claim and run the export here; False when it was not there to claim."""
        lease = ExportLease(export_id)
        if not self.keeper.acquire(lease):
            return False
        assert lease.export is not None
        try:
            with self.keeper.kept(lease) as lost:
                self._execute(lease.export, lost.is_set)
        except Stopped:
            log.info("export %s stopped: canceled, deleted or taken over", export_id)
        except Released:
            self.keeper.release(lease)
            log.info("export %s handed back to the queue: this server is stopping", export_id)
        except TraplineError as exc:
            self.fail(export_id, exc.detail)
        except Exception as exc:
            log.exception("export %s failed", export_id)
            self.fail(export_id, f"internal error ({type(exc).__name__}); see the server log")
        return True

    def record_failure(self, repos: Repos, run_id: int, reason: str, now: datetime) -> None:
        repos.exports.exports.fail(run_id, self.name, now, reason)

    def _execute(self, export: Export, lost: Callable[[], bool]) -> None:
        counted = self._state_counted(export)
        if export.format.tabled:
            self._execute_table(export, lost)
            return
        planned = plan(self.db, export, self.base_url)
        if planned is None:  # the project was deleted
            raise Stopped
        context, scope, total = planned
        context.counted = counted
        self._progress(export.id, 0, context, None, total=total)
        key = export_key(export)
        with (
            tempfile.TemporaryFile(prefix="trapline-export-") as out,
            tempfile.TemporaryDirectory(prefix="trapline-export-parts-") as folder,
        ):
            writer = writer_for(export.format)(out, context)
            try:
                chosen = self._segments(writer, scope, total)
                if chosen is not None:
                    parts = Path(folder)
                    done = self._write_parts(export, writer, context, scope, chosen, parts, lost)
                else:
                    done = self._write(export, writer, context, scope, lost)
            except BaseException:
                writer.discard()
                raise
            writer.close()
            empty = writer.tally.emptiness()
            if empty:
                context.problem(empty)
            out.flush()
            size = out.tell()
            out.seek(0)
            self._check_mine(export.id)
            self.store.put(key, out, content_type=export.format.content_type)
        counts = writer.tally.frozen().as_json()
        self._finish(export, key, size, done, counts, _errors(context))

    def _write(
        self,
        export: Export,
        writer: ExportWriter,
        context: ExportContext,
        scope: ExportScope,
        lost: Callable[[], bool],
    ) -> int:
        """Write the export's images in this process, a batch at a time; how many."""
        done, reported = 0, self.clock.monotonic()
        reads = export.format.reads(export.filters)
        batches = read_batches(self.db, scope, reads=reads, batch_size=self.batch_size)
        if not self.db.is_sqlite:  # SQLite reads in this process: see ``read_ahead.py``
            batches = prefetched(batches)
        for batch in batches:
            writer.write(results(batch, context, detections=reads.detections))
            done += len(batch.images)
            self._going_on(lost)
            if self.clock.monotonic() - reported >= PROGRESS_SECONDS:
                self._progress(export.id, done, context, writer)
                reported = self.clock.monotonic()
            if self.after_batch is not None:
                self.after_batch(export.id)
        return done

    def _segments(
        self, writer: ExportWriter, scope: ExportScope, total: int
    ) -> list[Segment] | None:
        """The segments other processes write the export in; None: this process writes it
        (a format written whole, a small export, or one event holding most photos)."""
        if self.processes < 2 or writer.parts_from is None:
            return None
        if total < (writer.parts_from if self.parts_from is None else self.parts_from):
            return None
        chosen = segments(self.db, scope, total, self.processes * SEGMENTS_PER_PROCESS)
        return chosen if len(chosen) > 1 else None

    def _write_parts(
        self,
        export: Export,
        writer: ExportWriter,
        context: ExportContext,
        scope: ExportScope,
        chosen: list[Segment],
        folder: Path,
        lost: Callable[[], bool],
    ) -> int:
        """Have ``processes`` processes write the export's segments into part files in
        ``folder``, and adopt the parts in order; how many images they wrote."""
        url = self.db.engine.url.render_as_string(hide_password=False)
        run = PartsRun(
            url, type(writer), context, scope, chosen, folder,
            processes=self.processes, batch_size=self.batch_size,
        )  # fmt: skip
        try:
            while not run.wait(PROGRESS_SECONDS):
                self._going_on(lost)
                self._progress(export.id, run.photos_done, context, None)
            for part in run.parts():
                writer.adopt(part)
        finally:
            run.close()
        return run.photos_done

    def _going_on(self, lost: Callable[[], bool]) -> None:
        """Stop if the export is no longer this runner's, or this server is stopping."""
        if lost():  # the heartbeat found the export no longer this runner's
            raise Stopped
        if self.closing:
            raise Released

    def _state_counted(self, export: Export) -> tuple[str, ...]:
        """What a counting export counts (``ExportFormat.counts``), recorded on it: the
        pipeline its filters name, else each deployment's own, with the versions of it its
        photos' results are of."""
        if not export.format.counts:
            return ()
        f = export.filters
        with self.db.write() as repos:
            if f.pipeline is not None:
                counted: tuple[str, ...] = (f"every deployment: {f.pipeline}, as filtered",)
            else:
                counted = repos.ecology.choices.stated(export.project_id, f.deployment_id)
            if not repos.exports.exports.state_counted(export.id, self.name, list(counted)):
                raise Stopped
        return counted

    def _execute_table(self, export: Export, lost: Callable[[], bool]) -> None:
        """Write a table of the project's counts (``ExportFormat.tabled``): the record table
        streams from one read, piece by piece; no walk over the images."""
        key = export_key(export)
        rows = Rows()
        with tempfile.TemporaryFile(prefix="trapline-export-") as out:
            for piece in table_file(self.db, export, rows):
                out.write(piece)
                self._going_on(lost)
            out.flush()
            size = out.tell()
            out.seek(0)
            self._check_mine(export.id)
            self.store.put(key, out, content_type=export.format.content_type)
        said = rows.warnings or ([] if rows.count else ["no rows: nothing counted matched"])
        self._finish(export, key, size, 0, ExportCounts(rows=rows.count).as_json(), said)

    def _finish(
        self,
        export: Export,
        key: str,
        size: int,
        done: int,
        counts: dict[str, int],
        errors: list[str],
    ) -> None:
        now = self.clock.now()
        with self.db.write() as repos:
            finished = repos.exports.exports.finish(
                export.id,
                self.name,
                now,
                blob_key=key,
                file_name=file_name(export),
                size_bytes=size,
                expires_at=now + self.ttl,
                images_done=done,
                counts=counts,
                errors=errors,
            )
        if not finished:  # canceled or deleted while the file was stored
            self.store.delete(key)
            raise Stopped

    def _progress(
        self,
        export_id: int,
        done: int,
        context: ExportContext,
        writer: ExportWriter | None,
        *,
        total: int | None = None,
    ) -> None:
        counts = writer.tally.frozen().as_json() if writer else {}
        with self.db.write() as repos:
            mine = repos.exports.exports.progress(
                export_id,
                self.name,
                self.clock.now(),
                images_total=total,
                images_done=done,
                counts=counts,
                errors=_errors(context),
            )
        if not mine:
            raise Stopped
        if self.closing:
            raise Released

    def _check_mine(self, export_id: int) -> None:
        with self.db.read() as repos:
            export = repos.exports.exports.get(export_id)
        if export is None or export.status.value != "running":
            raise Stopped


def _errors(context: ExportContext) -> list[str]:
    problems = list(context.problems)
    if context.problem_count > len(problems):
        problems.append(f"... and {context.problem_count - len(problems)} more")
    return problems
