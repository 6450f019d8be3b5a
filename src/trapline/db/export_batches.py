"""An export's images with their results, read a batch at a time for the format writers."""

from __future__ import annotations

from collections.abc import Iterator

from trapline.db.engine import Database
from trapline.db.repositories.export_reads import ExportScope
from trapline.domain.exports import Batch

#: Images read per batch: memory stays flat whatever the project's size.
BATCH_SIZE = 1000


def read_batches(
    db: Database, scope: ExportScope, *, after_id: int = 0, batch_size: int = BATCH_SIZE
) -> Iterator[Batch]:
    """The scope's images with their results, a batch at a time, each batch read in its own
    short transaction (a long export holds no transaction open)."""
    while True:
        with db.read() as repos:
            reads = repos.export_reads
            images = reads.images_after(scope, after_id, batch_size)
            if not images:
                return
            image_ids = [i.id for i in images]
            analyses = reads.analyses_of(scope, image_ids)
            failures = reads.failures_of(scope, image_ids)
            annotations = reads.annotations_of(image_ids)
            reviews = repos.reviews.of_image_span(after_id, image_ids[-1])
            events = reads.events_of(images)
            occurrence_of = reads.occurrence_of(image_ids)
            by_event = (
                reads.occurrences_of(sorted(events))
                if scope.filters.observation_level == "event"
                else {}
            )
        yield Batch(
            images, analyses, annotations, failures, reviews, events, occurrence_of, by_event
        )
        after_id = image_ids[-1]
