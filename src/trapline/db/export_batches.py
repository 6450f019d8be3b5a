"""An export's images with their results, read a batch at a time for the format writers."""

from __future__ import annotations

from collections.abc import Iterator

from trapline.db.engine import Database
from trapline.db.repositories import Repos
from trapline.db.repositories.export_reads import ExportScope
from trapline.domain.exports import Batch, OccurrenceFacts, OccurrenceReads
from trapline.domain.taxa import Taxon

#: Images read per batch: memory stays flat whatever the project's size.
BATCH_SIZE = 1000


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
    events_read: set[int] = set()
    taxa_read: set[int] = set()
    #: The taxon each label of a best detection names, worked out once per label.
    label_taxa: dict[str, int | None] = {}
    while True:
        with db.read() as repos:
            export_reads = repos.export_reads
            images = export_reads.images_after(scope, after_id, batch_size)
            if not images:
                return
            image_ids = [i.id for i in images]
            analyses = export_reads.analyses_of(scope, image_ids)
            failures = export_reads.failures_of(scope, image_ids)
            annotations = export_reads.annotations_of(image_ids)
            reviews = repos.reviews.of_image_span(after_id, image_ids[-1])
            events = export_reads.events_of(images)
            occurrence_of = export_reads.occurrence_of(image_ids)
            by_event: dict[int, list[OccurrenceFacts]] = {}
            if reads.by_event:
                new = sorted(set(events) - events_read)
                events_read.update(new)
                by_event = export_reads.occurrences_of(new)
            linked = (
                export_reads.occurrences_by_id(list(occurrence_of.values()))
                if reads.of_detections and occurrence_of
                else {}
            )
            shown, best = export_reads.occurrences_shown(image_ids) if reads.shown else ({}, {})
            named = [o for found in (*by_event.values(), *shown.values()) for o in found]
            named += linked.values()
            person = [o.id for o in named if o.determined_by == "person"]
            identified = export_reads.identified(person) if person else {}
            labels = {b.label for b in best.values() if b.label is not None} - set(label_taxa)
            if labels:  # a new dict: the writer's thread reads the last batch's meanwhile
                resolver = repos.taxa.resolver(scope.project_id, labels)
                label_taxa = label_taxa | {label: resolver.taxon_of(label) for label in labels}
            wanted = {o.taxon_id for o in named} | {
                label_taxa.get(b.label or "") for b in best.values()
            }
            taxa = _taxa(repos, {t for t in wanted if t is not None} - taxa_read)
            taxa_read.update(taxa)
        yield Batch(
            images, analyses, annotations, failures, reviews, events, occurrence_of, by_event,
            linked, shown, taxa, identified, best, label_taxa,
        )  # fmt: skip
        after_id = image_ids[-1]


def _taxa(repos: Repos, taxon_ids: set[int]) -> dict[int, Taxon]:
    """These taxa and their ancestors (a taxon's lineage names them)."""
    if not taxon_ids:
        return {}
    found = repos.taxa.by_ids(taxon_ids)
    above = {a for t in found.values() for a in t.lineage} - set(found)
    return found | (repos.taxa.by_ids(above) if above else {})
