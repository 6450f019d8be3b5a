"""An export's images with their results, read a batch at a time for the format writers."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from trapline.db.engine import Database
from trapline.db.plain import Plain
from trapline.db.repositories import Repos
from trapline.db.repositories.exports.export_reads import ExportScope
from trapline.db.repositories.exports.export_statements import annotation_counts
from trapline.db.tables import EventRow, ImageEventRow, ImageRow
from trapline.domain.ecology.species import Scope
from trapline.domain.exports.exports import OccurrenceReads
from trapline.domain.exports.facts import (
    AnnotationFacts,
    Batch,
    BestDetectionFacts,
    EventFacts,
    ImageFacts,
    OccurrenceFacts,
    TopCount,
    TopFacts,
)
from trapline.domain.processing.results import AnalysisStatus
from trapline.domain.taxa.taxa import Taxon

#: Images read per batch: memory stays flat whatever the project's size.
BATCH_SIZE = 1000
#: Annotations (of every run) a batch whose detections are made in full holds, about: a batch
#: of crowded photos, hundreds of boxes each, stops early, so the rows held at once (a batch
#: written, the next ones read ahead) no longer grow with the crowd (a batch of the
#: real-shaped set held up to five times the mean, 120,000 annotations, ~100 MB in Python).
BATCH_ANNOTATIONS = 25_000
#: The status of an analysis whose results an export takes.
_COMPLETED = AnalysisStatus.COMPLETED.value


def read_batches(
    db: Database,
    scope: ExportScope,
    *,
    reads: OccurrenceReads | None = None,
    after_id: int = 0,
    batch_size: int = BATCH_SIZE,
) -> Iterator[Batch]:
    """The scope's images with their results, a batch at a time, each batch read in its own
    short transaction (a long export holds no transaction open); with ``reads``, the
    occurrences the format writes (by default, each event's when the export is event-level).

    An event's occurrences are read once, with the first batch that has one of its photos,
    and a taxon once, with the first batch that names it (or a descendant).
    """
    if reads is None:
        reads = OccurrenceReads(by_event=scope.filters.observation_level == "event")
    with db.read() as repos:
        reader = _BatchReader(repos, scope, reads)
    while True:
        with db.read() as repos:
            batch = reader.read(repos, after_id, batch_size)
        if batch is None:
            return
        yield batch
        after_id = batch.images[-1].id


class _BatchReader:
    """Reads an export's batches, one after another: what the format reads (``reads``) is
    read, and what earlier batches read (events' occurrences, taxa, labels' taxa) is not read
    again."""

    def __init__(self, repos: Repos, scope: ExportScope, reads: OccurrenceReads) -> None:
        self.scope = scope
        self.reads = reads
        #: Occurrences are those of one pipeline, as every count's: the export's, else the
        #: one each deployment counts by (``db/repositories/ecology/choices.py``).
        self.counted = repos.ecology.choices.counted(
            Scope(scope.project_id, scope.filters.deployment_id, pipeline=scope.filters.pipeline)
        )
        #: The category maps' entries, read once: a batch's new labels are resolved with them.
        self.hints = repos.taxa.taxa.category_hints(scope.project_id) if reads.shown else {}
        self.events_read: set[int] = set()
        self.taxa_read: set[int] = set()
        #: The taxon each label of a best detection names, worked out once per label.
        self.label_taxa: dict[str, int | None] = {}

    def read(self, repos: Repos, after_id: int, batch_size: int) -> Batch | None:
        """The batch of images after ``after_id``; None when there are no more."""
        scope, reads, export_reads = self.scope, self.reads, repos.exports.export_reads
        images = export_reads.images_after(scope, after_id, batch_size)
        if not images:
            return None
        image_ids = [i.id for i in images]
        if reads.detections:
            images = _bounded(images, annotation_counts(Plain(repos.session), image_ids))
            image_ids = image_ids[: len(images)]
        analyses = list(export_reads.analyses_of(scope, image_ids))
        # Only a completed analysis has results an export writes or counts (``reader.py``).
        done = [a.id for a in analyses if a.status == _COMPLETED]
        reviews = repos.review.reviews.of_image_span(after_id, image_ids[-1])
        top_counts: Iterator[TopCount] = iter(())
        tops: Iterator[TopFacts] = iter(())
        annotations: Iterator[AnnotationFacts] = iter(())
        if reads.detections:
            annotations = export_reads.annotations_of(image_ids, done, reads.annotation_data)
        else:
            top_counts = export_reads.top_counts_of(image_ids, done)
            reviewed = sorted({r.annotation_id for r in reviews if r.annotation_id is not None})
            tops = export_reads.tops_of(image_ids, done, reviewed)
        events = export_reads.events_of(images)
        # Counted detections come with their occurrences (``top_counts``, ``tops``).
        linking = reads.detections or reads.of_detections
        occurrence_of = export_reads.occurrence_of(image_ids) if linking else {}
        by_event = self._by_event(repos, events)
        linked = _linked(repos, reads, list(occurrence_of.values()))
        shown, best = self._shown(repos, image_ids)
        named = [o for found in (*by_event.values(), *shown.values()) for o in found]
        named += linked.values()
        person = [o.id for o in named if o.determined_by == "person"]
        identified = export_reads.identified(person) if person else {}
        self._name_labels(repos, best)
        taxa = self._taxa(repos, named, best)
        return Batch(
            images, iter(analyses), annotations,
            export_reads.failures_of(scope, image_ids), reviews, events, occurrence_of,
            by_event, linked, shown, taxa, identified, best, self.label_taxa,
            _frames(repos.session, images) if reads.frames else {}, top_counts, tops,
        )  # fmt: skip

    def _by_event(
        self, repos: Repos, events: dict[int, EventFacts]
    ) -> dict[int, list[OccurrenceFacts]]:
        """The counted occurrences of the batch's events not read before
        (``OccurrenceReads.by_event``)."""
        if not self.reads.by_event:
            return {}
        new = sorted(set(events) - self.events_read)
        self.events_read.update(new)
        return {
            event: [o for o in found if self.counted.counts(o.pipeline, o.deployment_id)]
            for event, found in repos.exports.export_reads.occurrences_of(new).items()
        }

    def _shown(
        self, repos: Repos, image_ids: list[int]
    ) -> tuple[dict[int, list[OccurrenceFacts]], dict[int, BestDetectionFacts]]:
        """The counted occurrences whose best detection is in these images, by image, and
        those detections (``OccurrenceReads.shown``)."""
        if not self.reads.shown:
            return {}, {}
        pipelines = self.counted.counted_pipelines
        shown, best = repos.exports.export_reads.occurrences_shown(image_ids, pipelines)
        counted = {
            i: [o for o in found if self.counted.counts(o.pipeline, o.deployment_id)]
            for i, found in shown.items()
        }
        return counted, best

    def _name_labels(self, repos: Repos, best: dict[int, BestDetectionFacts]) -> None:
        """Work out the taxon each new label of the best detections names."""
        labels = {b.label for b in best.values() if b.label is not None} - set(self.label_taxa)
        if labels:  # a new dict: the writer's thread reads the last batch's meanwhile
            resolver = repos.taxa.taxa.resolver(self.scope.project_id, labels, self.hints)
            self.label_taxa = self.label_taxa | {
                label: resolver.taxon_of(label) for label in labels
            }

    def _taxa(
        self, repos: Repos, named: list[OccurrenceFacts], best: dict[int, BestDetectionFacts]
    ) -> dict[int, Taxon]:
        """The taxa the batch names not read before, with their ancestors."""
        wanted = {o.taxon_id for o in named} | {
            self.label_taxa.get(b.label or "") for b in best.values()
        }
        taxa = _taxa(repos, {t for t in wanted if t is not None} - self.taxa_read)
        self.taxa_read.update(taxa)
        return taxa


def image_id_at(repos: Repos, scope: ExportScope, offset: int) -> int | None:
    """The id of the scope's photo ``offset`` photos in (by id); None past the last."""
    return repos.session.scalar(
        select(ImageRow.id)
        .where(*scope.image_conditions())
        .order_by(ImageRow.id)
        .offset(offset)
        .limit(1)
    )


def event_spans(repos: Repos, project_id: int) -> list[tuple[int, int]]:
    """Each event of the project as the lowest and highest id of its photos."""
    link = ImageEventRow
    rows = repos.session.execute(
        select(func.min(link.image_id), func.max(link.image_id))
        .join(EventRow, EventRow.id == link.event_id)
        .where(EventRow.project_id == project_id)
        .group_by(link.event_id)
    )
    return [(int(low), int(high)) for low, high in rows]


def _bounded(images: list[ImageFacts], annotations: dict[int, int]) -> list[ImageFacts]:
    """The first of these images (at least one) whose annotations (by image) add up to no
    more than ``BATCH_ANNOTATIONS``."""
    total = 0
    for taken, image in enumerate(images):
        total += annotations.get(image.id, 0)
        if total > BATCH_ANNOTATIONS and taken:
            return images[:taken]
    return images


def _taxa(repos: Repos, taxon_ids: set[int]) -> dict[int, Taxon]:
    """These taxa and their ancestors (a taxon's lineage names them)."""
    if not taxon_ids:
        return {}
    found = repos.taxa.taxa.by_ids(taxon_ids)
    above = {a for t in found.values() for a in t.lineage} - set(found)
    return found | (repos.taxa.taxa.by_ids(above) if above else {})


def _linked(repos: Repos, reads: OccurrenceReads, ids: list[int]) -> dict[int, OccurrenceFacts]:
    """The occurrences of a batch's detections (``ids``), by id, when the format reads them
    (``of_detections``)."""
    if not ids or not reads.of_detections:
        return {}
    return repos.exports.export_reads.occurrences_by_id(ids)


def _frames(session: Session, images: Sequence[ImageFacts]) -> dict[int, tuple[int, int]]:
    """Each image's frame in its event (from 0, in the order the event's photos are grouped:
    by wall clock, then id) and the event's photos, by image; all of the event's photos
    count, those the export leaves out too."""
    events = sorted({i.event_id for i in images if i.event_id is not None})
    if not events:
        return {}
    link, image = ImageEventRow, ImageRow
    ordered = (
        select(
            link.image_id,
            func.row_number().over(
                partition_by=link.event_id, order_by=(image.captured_sort, image.id)
            ),
            func.count().over(partition_by=link.event_id),
        )
        .join(image, image.id == link.image_id)
        .where(link.event_id.in_(events))
        .subquery()
    )
    wanted = {i.id for i in images}
    return {
        image_id: (frame - 1, count)
        for image_id, frame, count in session.execute(select(ordered))
        if image_id in wanted
    }
